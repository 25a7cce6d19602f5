"""Property tests: whatever valid (if messily formatted) rows a table holds, import then export then
import changes nothing, and every row is accounted for."""

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridroll.areas.models import Building, Household
from gridroll.conftest import csv_bytes, xlsx_bytes
from gridroll.lib import idnumber
from gridroll.residents.exporting import resident_rows, template_headers
from gridroll.residents.importing import ResidentImporter
from gridroll.residents.models import Resident

SURNAMES = "王李张刘陈杨赵黄周吴徐孙单曾解仇朴查区"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@st.composite
def people(draw):
    n = draw(st.integers(1, 8))
    seqs = draw(st.lists(st.integers(0, 499), min_size=n, max_size=n, unique=True))
    rows = []
    for seq in seqs:
        sex = draw(st.sampled_from("MF"))
        birth = draw(st.dates(datetime.date(1925, 1, 1), datetime.date(2021, 12, 31)))
        number = idnumber.make("371502", birth, seq, sex)
        messy = draw(st.sampled_from(["plain", "spaced", "fullwidth", "lower"]))
        if messy == "spaced":
            number = f"{number[:6]} {number[6:14]} {number[14:]}"
        elif messy == "fullwidth":
            number = number.translate(FULLWIDTH)
        elif messy == "lower":
            number = number.lower()
        name = draw(st.sampled_from(SURNAMES)) + draw(st.text(GIVEN, min_size=1, max_size=2))
        phone = draw(st.one_of(st.just(""), st.integers(0, 99_999_999).map(lambda n: f"+86 138 {n:08d}")))
        building = draw(st.integers(1, 39))
        written = draw(st.sampled_from([f"{building}号楼", f"{building}栋", f"{building}#", f"{building}幢"]))
        entrance = draw(st.integers(1, 4))
        room = f"{draw(st.integers(1, 18))}0{draw(st.integers(1, 4))}"
        rows.append(
            [
                "第一网格",
                "盛世佳苑",
                written,
                f"{entrance}单元",
                f"{room}室",
                name,
                "男" if sex == "M" else "女",
                number,
                phone,
            ]
        )
    return rows


HEADER = ["网格", "小区", "楼栋", "单元", "房号", "姓名", "性别", "身份证号", "联系电话"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=people(), fmt=st.sampled_from(["csv", "xlsx"]))
def test_import_export_import_is_a_no_op(tree, rows, fmt):
    Resident.objects.all().delete()
    Household.objects.all().delete()
    Building.objects.exclude(pk__in=[tree["building_a"].pk, tree["building_b"].pk]).delete()
    data = (csv_bytes if fmt == "csv" else xlsx_bytes)([HEADER, *rows])
    first = ResidentImporter().run(data, f"t.{fmt}")
    assert (first.total, first.created, first.rejected) == (len(rows), len(rows), 0), list(
        first.rejects.values("code", "message")
    )
    before = list(Resident.objects.order_by("id").values())
    exported = [template_headers(), *resident_rows(Resident.objects.select_related("household__building"))]
    again = ResidentImporter().run(xlsx_bytes(exported), "export.xlsx")
    assert (again.total, again.unchanged) == (len(rows), len(rows))
    assert list(Resident.objects.order_by("id").values()) == before
