import datetime
import io

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from gridroll.areas.models import Area, Building, Household
from gridroll.audit.models import AuditRecord
from gridroll.conftest import csv_bytes, new_id, xlsx_bytes
from gridroll.residents.exporting import export_residents, template_headers
from gridroll.residents.importing import FileError, ResidentImporter, iter_reject_rows
from gridroll.residents.models import Resident

HEADER = [
    "街道",
    "社区",
    "网格",
    "小区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "性别",
    "身份证号码",
    "出生日期",
    "手机号",
    "与户主关系",
]
ID_1 = new_id(datetime.date(1964, 5, 3), "M", 12)
ID_2 = new_id(datetime.date(1968, 9, 21), "F", 4)
ID_3 = new_id(datetime.date(2012, 1, 30), "M", 2)


def row(
    name="牛绪俭",
    doc=ID_1,
    sex="男",
    building="3号楼",
    entrance="2",
    room="501",
    phone="13800001234",
    grid="第一网格",
    birth="",
    relation="户主",
    compound="盛世佳苑",
):
    return [
        "测试街道",
        "测试社区",
        grid,
        compound,
        building,
        entrance,
        room,
        name,
        sex,
        doc,
        birth,
        phone,
        relation,
    ]


def run(rows, fmt="xlsx", header=HEADER, user=None, **kwargs):
    data = xlsx_bytes([header, *rows]) if fmt == "xlsx" else csv_bytes([header, *rows])
    return ResidentImporter(user=user, create_areas=kwargs.pop("create_areas", False)).run(
        data, f"table.{fmt}", **kwargs
    )


def only_reject(batch):
    assert batch.rejected == 1, list(batch.rejects.values("code", "message"))
    return batch.rejects.get()


def test_it_creates_residents_households_and_buildings(tree):
    batch = run(
        [
            row(),
            row("王秀英", ID_2, "女", relation="配偶"),
            row("牛子涵", ID_3, "男", phone="", relation="儿子"),
        ]
    )
    assert (batch.total, batch.created, batch.updated, batch.unchanged, batch.rejected) == (3, 3, 0, 0, 0)
    head = Resident.objects.get(document_number=ID_1)
    assert head.household == tree["household_a"]
    assert head.birth_date == datetime.date(1964, 5, 3)
    assert Resident.objects.filter(household=tree["household_a"]).count() == 3
    assert AuditRecord.objects.filter(action="resident.import_create").count() == 3


def test_importing_the_same_file_twice_changes_nothing(tree):
    rows = [row(), row("王秀英", ID_2, "女", relation="配偶")]
    run(rows)
    audit_before = AuditRecord.objects.count()
    again = run(rows)
    assert (again.total, again.created, again.updated, again.unchanged, again.rejected) == (2, 0, 0, 2, 0)
    assert AuditRecord.objects.count() == audit_before
    assert Resident.objects.count() == 2


def test_a_changed_row_is_an_audited_update(tree):
    run([row()])
    batch = run([row(phone="13999998888")])
    assert batch.updated == 1
    record = AuditRecord.objects.get(action="resident.import_update")
    assert record.changes == {"phone": ["13800001234", "13999998888"]}
    assert "第2行" in record.reason


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_it_normalises_formatting(tree, fmt):
    spaced_id = ID_1[:6] + " " + ID_1[6:14] + " " + ID_1[14:]
    fullwidth_id = spaced_id.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    batch = run([row(doc=fullwidth_id, phone="+86 138-0000-1234", building="三号楼", room="501室")], fmt=fmt)
    assert batch.created == 1, list(batch.rejects.values("code", "message"))
    resident = Resident.objects.get()
    assert resident.document_number == ID_1
    assert resident.phone == "13800001234"
    assert resident.household == tree["household_a"]


def test_a_phone_stored_as_a_number_is_kept(tree):
    batch = run([row(phone=13800001234)])
    assert batch.created == 1
    assert Resident.objects.get().phone == "13800001234"


def test_a_lower_case_x_and_a_15_digit_id_are_normalised(tree):
    x_id = next(i for i in (new_id(datetime.date(1970, 1, 1), "M", s) for s in range(500)) if i.endswith("X"))
    legacy_full = new_id(datetime.date(1958, 7, 1), "F", 8)
    legacy = legacy_full[:6] + legacy_full[8:17]
    batch = run([row(doc=x_id.lower()), row("王秀英", legacy, "女")])
    assert batch.created == 2, list(batch.rejects.values("code", "message"))
    assert set(Resident.objects.values_list("document_number", flat=True)) == {x_id, legacy_full}


@pytest.mark.parametrize(
    "override,code,column",
    [
        ({"name": ""}, "missing_name", "姓名"),
        (
            {"doc": ID_1[:-1] + str((int(ID_1[-1]) + 1) % 10 if ID_1[-1] != "X" else 0)},
            "bad_check_digit",
            "证件号码",
        ),
        ({"doc": "371502199002301234"}, "bad_birth_date", "证件号码"),
        ({"doc": "37150"}, "bad_id_format", "证件号码"),
        ({"sex": "女"}, "sex_mismatch", "性别"),
        ({"birth": "1964-05-04"}, "birth_date_mismatch", "出生日期"),
        ({"grid": "第九网格"}, "unknown_area", "网格"),
        ({"sex": "未知"}, "bad_value", "性别"),
        ({"building": "", "room": ""}, "missing_address", "楼栋"),
        ({"doc": ""}, "missing_birth_date", "出生日期"),
    ],
)
def test_each_bad_value_is_rejected_with_its_reason(tree, override, code, column):
    batch = run([row(**override)])
    reject = only_reject(batch)
    assert (reject.code, reject.column, reject.row_number) == (code, column, 2)
    assert reject.message  # a Chinese sentence for people
    assert Resident.objects.count() == 0


def test_an_id_that_excel_stored_as_a_number_is_rejected(tree):
    batch = run([row(doc=float(ID_1))])
    reject = only_reject(batch)
    assert reject.code == "id_stored_as_number"
    assert "文本" in reject.message


def test_an_id_in_scientific_notation_from_a_csv_is_rejected(tree):
    batch = run([row(doc="3.71502E+17")], fmt="csv")
    assert only_reject(batch).code == "id_stored_as_number"


def test_a_duplicate_id_with_a_different_person_is_rejected(tree, resident_a):
    batch = run([row(name="韩馨一", doc=resident_a.document_number, sex="女")])
    reject = only_reject(batch)
    assert reject.code == "duplicate_id"
    assert Resident.objects.get(pk=resident_a.pk).name == "韩馨怡"


def test_a_duplicate_id_within_the_file_is_rejected(tree):
    batch = run([row(), row(name="牛绪检")])
    reject = only_reject(batch)
    assert (reject.code, reject.row_number) == ("duplicate_id", 3)
    assert "第2行" in reject.message


def test_the_same_person_twice_with_different_data_is_rejected(tree):
    batch = run([row(), row(phone="13911112222")])
    assert only_reject(batch).code == "duplicate_in_file"
    assert batch.created == 1


def test_an_identical_row_twice_is_unchanged_the_second_time(tree):
    batch = run([row(), row()])
    assert (batch.created, batch.unchanged, batch.rejected) == (1, 1, 0)


def test_an_ambiguous_area_asks_for_its_parent(tree):
    other = Area.objects.create(name="其他社区", level="community", parent=tree["sub"])
    Area.objects.create(name="第一网格", level="grid", parent=other)
    header = ["网格", "楼栋", "房号", "姓名", "身份证号码"]
    batch = run([["第一网格", "3", "501", "牛绪俭", ID_1]], header=header)
    reject = only_reject(batch)
    assert reject.code == "ambiguous_area"
    assert "上级" in reject.message


def test_without_a_grid_column_the_building_finds_its_grid(tree):
    header = ["社区", "小区", "楼栋", "单元", "房号", "姓名", "身份证号码"]
    batch = run(
        [
            ["测试社区", "盛世佳苑", "3", "2", "501", "牛绪俭", ID_1],
            ["测试社区", "盛世佳苑", "99", "1", "101", "王秀英", ID_2],
        ],
        header=header,
    )
    assert batch.created == 1
    assert Resident.objects.get().household == tree["household_a"]
    assert only_reject(batch).code == "unknown_grid"


def test_a_row_outside_the_importers_scope_is_rejected(tree, grid_worker):
    from gridroll.conftest import make_user

    staff = make_user("staff_a", "community_staff", tree["community"])
    staff_b_only = make_user("staff_b", "community_staff", tree["grid_b"])
    batch = run([row()], user=staff_b_only)
    assert only_reject(batch).code == "out_of_scope"
    assert run([row()], user=staff).created == 1


def test_a_person_registered_elsewhere_is_not_moved_silently(tree, resident_b):
    from gridroll.conftest import make_user

    staff_a = make_user("staff_a", "community_staff", tree["grid_a"])
    batch = run([row(name=resident_b.name, doc=resident_b.document_number, sex="男")], user=staff_a)
    assert only_reject(batch).code == "registered_elsewhere"
    assert Resident.objects.get(pk=resident_b.pk).household == tree["household_b"]


def test_an_infant_without_an_id_is_matched_by_household_name_and_birth(tree):
    header = ["网格", "小区", "楼栋", "单元", "房号", "姓名", "性别", "证件类型", "证件号码", "出生日期"]
    baby = ["第一网格", "盛世佳苑", "3", "2", "501", "牛小宝", "男", "无", "", "2022-09-01"]
    assert run([baby], header=header).created == 1
    again = run([baby], header=header)
    assert (again.created, again.unchanged) == (0, 1)
    assert Resident.objects.get().document_type == "none"


def test_one_address_column_is_parsed(tree):
    header = ["社区", "网格", "地址", "姓名", "身份证号", "联系电话"]
    batch = run(
        [
            ["测试社区", "第一网格", "盛世佳苑3#2-501", "牛绪俭", ID_1, "13800001234"],
            ["测试社区", "第一网格", "盛世佳苑小区三号楼二单元501室", "王秀英", ID_2, ""],
        ],
        header=header,
    )
    assert batch.created == 2
    assert set(Resident.objects.values_list("household", flat=True)) == {tree["household_a"].pk}


def test_an_unreadable_address_is_rejected(tree):
    header = ["网格", "地址", "姓名", "身份证号"]
    assert only_reject(run([["第一网格", "东边那栋楼", "牛绪俭", ID_1]], header=header)).code == "bad_address"


def test_a_title_row_above_the_header_is_skipped(tree):
    data = xlsx_bytes([["盛世佳苑小区居民信息表"], [], HEADER, row()])
    assert ResidentImporter().run(data, "t.xlsx").created == 1


def test_english_headers_work(tree):
    header = ["grid", "compound", "building", "entrance", "room", "name", "sex", "id_number", "phone"]
    batch = run(
        [["第一网格", "盛世佳苑", "3", "2", "501", "牛绪俭", "male", ID_1, "13800001234"]], header=header
    )
    assert batch.created == 1


def test_an_unknown_header_is_listed_as_not_imported(tree):
    # Issue 15: an unknown column used to refuse the whole file; now it is read past and listed.
    batch = run([[*row(), "x"]], header=[*HEADER, "血型"])
    assert (batch.created, batch.not_imported) == (1, ["血型"])


def test_a_table_without_an_id_column_is_refused(tree):
    with pytest.raises(FileError) as exc:
        run([["第一网格", "3", "501", "牛绪俭"]], header=["网格", "楼栋", "房号", "姓名"])
    assert exc.value.code == "missing_column"


def test_a_file_that_is_not_a_table_is_refused(tree):
    with pytest.raises(FileError) as exc:
        ResidentImporter().run(b"%PDF-1.4", "scan.pdf")
    assert exc.value.code == "unsupported_file"


def test_a_gbk_csv_from_excel_is_read(tree):
    data = csv_bytes([HEADER, row()], encoding="gb18030")
    assert ResidentImporter().run(data, "t.csv").created == 1


def test_a_dry_run_changes_nothing_but_counts(tree):
    batch = run([row(), row("王秀英", ID_2, "女")], dry_run=True)
    assert (batch.total, batch.created, batch.state) == (2, 2, "preview")
    assert Resident.objects.count() == 0
    assert Household.objects.count() == 2


def test_create_areas_makes_what_the_file_names(tree):
    header = ["街道", "社区", "网格", "楼栋", "房号", "姓名", "身份证号码"]
    rows = [
        ["测试街道", "新建社区", "新一网格", "5", "101", "牛绪俭", ID_1],
        ["新镇", "新村", "一组网格", "1", "1", "王秀英", ID_2],
    ]
    refused = run(rows, header=header)
    assert refused.rejected == 2
    assert {r.code for r in refused.rejects.all()} == {"unknown_area"}
    batch = run(rows, header=header, create_areas=True)
    assert batch.created == 2
    community = Area.objects.get(name="新建社区")
    assert community.parent == tree["sub"]  # under its nearest known parent
    town = Area.objects.get(name="新镇")
    assert (town.parent, town.level) == (None, "town")  # no known parent: a top-level area
    assert Area.objects.get(name="新村").level == "village"
    assert len(batch.areas_created) == 5


def test_create_areas_in_a_dry_run_creates_nothing(tree):
    header = ["街道", "社区", "网格", "楼栋", "房号", "姓名", "身份证号码"]
    batch = run(
        [["测试街道", "新建社区", "新一网格", "5", "101", "牛绪俭", ID_1]],
        header=header,
        create_areas=True,
        dry_run=True,
    )
    assert batch.created == 1 and batch.areas_created
    assert not Area.objects.filter(name="新建社区").exists()


def test_counts_add_up_with_every_outcome(tree):
    run([row(), row("王秀英", ID_2, "女")])
    batch = run([row(), row("王秀英", ID_2, "女", phone="13911112222"), row("牛子涵", ID_3), row(name="")])
    assert batch.total == 4 == batch.created + batch.updated + batch.unchanged + batch.rejected
    assert (batch.created, batch.updated, batch.unchanged, batch.rejected) == (1, 1, 1, 1)


def test_rejects_can_be_corrected_and_imported_again(tree):
    batch = run([row(), row("王秀英", ID_2, "男")])  # sex contradicts the ID
    rows = list(iter_reject_rows(batch))
    assert rows[0][-4:] == ["原行号", "错误列", "原因代码", "原因"]
    assert rows[1][-2] == "sex_mismatch"
    header, fixed = rows[0], rows[1]
    fixed[header.index("性别")] = "女"
    again = ResidentImporter().run(xlsx_bytes([header, fixed]), "fixed.xlsx")
    assert (again.created, again.rejected) == (1, 0)


def test_export_then_import_is_a_no_op(tree, tmp_path, resident_a, resident_b):
    run([row(), row("王秀英", ID_2, "女"), row("牛子涵", ID_3, "男", phone="")])
    Resident.objects.filter(document_number=ID_2).update(status="away", is_bedridden=True, note="在济南务工")
    out = tmp_path / "all.xlsx"
    export_residents(Resident.objects.all(), out)
    sheet = load_workbook(out, read_only=True).active
    rows = list(sheet.values)
    assert list(rows[0]) == template_headers()
    assert len(rows) == 1 + Resident.objects.count()
    assert all(isinstance(r[11], str) for r in rows[1:])  # ID numbers are text, never numbers
    before = list(Resident.objects.order_by("id").values())
    batch = ResidentImporter().run(out)
    assert (batch.unchanged, batch.total) == (5, 5)
    assert list(Resident.objects.order_by("id").values()) == before


def test_the_commands_import_and_export(tree, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(csv_bytes([HEADER, row(), row(name="")]))
    rejects = tmp_path / "rejects.csv"
    out = io.StringIO()
    call_command("import_residents", str(source), "--rejects", str(rejects), stdout=out)
    assert "total 2 = created 1 + updated 0 + unchanged 0 + rejected 1" in out.getvalue()
    assert "missing_name" in rejects.read_text(encoding="utf-8-sig")
    export = tmp_path / "out.xlsx"
    out = io.StringIO()
    call_command("export_residents", str(export), "--area", "第一网格", stdout=out)
    assert "1 residents written" in out.getvalue()
    out = io.StringIO()
    call_command("import_residents", str(export), "--dry-run", stdout=out)
    assert "unchanged 1" in out.getvalue() and "dry run" in out.getvalue()


def test_buildings_written_differently_are_one_building(tree):
    run([row(building="3栋"), row("王秀英", ID_2, "女", building="3#", compound="盛世佳苑小区")])
    assert Building.objects.filter(grid=tree["grid_a"]).count() == 1


@pytest.mark.parametrize(
    "header,cells,code",
    [
        (
            ["网格", "楼栋", "房号", "姓名", "身份证号码", "出生日期"],
            ["第一网格", "3", "501", "牛绪俭", ID_1, "去年"],
            "bad_date",
        ),
        (
            ["网格", "楼栋", "房号", "姓名", "证件类型", "证件号码"],
            ["第一网格", "3", "501", "John Smith", "护照", "E12?"],
            "bad_document_number",
        ),
        (
            ["网格", "楼栋", "房号", "姓名", "证件类型", "证件号码"],
            ["第一网格", "3", "501", "John Smith", "护照", ""],
            "missing_document_number",
        ),
    ],
)
def test_other_bad_values_are_rejected_with_their_reason(tree, header, cells, code):
    assert only_reject(run([cells], header=header)).code == code


def test_a_passport_holder_is_imported(tree):
    header = ["网格", "楼栋", "房号", "姓名", "性别", "证件类型", "证件号码", "出生日期"]
    batch = run(
        [["第一网格", "3", "501", "John Smith", "男", "护照", "e1234 5678", "1980-02-03"]], header=header
    )
    assert batch.created == 1
    assert Resident.objects.get().document_number == "E12345678"


def test_a_file_without_a_header_row_is_refused(tree):
    with pytest.raises(FileError) as exc:
        ResidentImporter().run(xlsx_bytes([["a", "b"], ["c", "d"]]), "t.xlsx")
    assert exc.value.code == "no_header"


def test_a_header_used_twice_is_refused(tree):
    with pytest.raises(FileError) as exc:
        run([[*row(), "x"]], header=[*HEADER, "手机"])
    assert exc.value.code == "duplicate_header"


def test_a_broken_xlsx_is_refused(tree):
    with pytest.raises(FileError) as exc:
        ResidentImporter().run(b"PK\x03\x04 not really a zip", "t.xlsx")
    assert exc.value.code == "unreadable_file"


def test_the_preview_says_what_would_change(tree):
    run([row()])
    batch = run([row(phone="13999998888", room="602")], dry_run=True)
    assert batch.changes == [
        {
            "row": 2,
            "name": "牛绪俭",
            "changes": {
                "手机号": ["13800001234", "13999998888"],
                "住址": ["盛世佳苑 3号楼 2单元 501", "盛世佳苑 3号楼 2单元 602"],
            },
        }
    ]
    assert Resident.objects.get().phone == "13800001234"
