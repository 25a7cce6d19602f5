"""A small registry and round for the reconciliation tests, and the list sent about them."""

from __future__ import annotations

import datetime

import pytest

from gridroll.conftest import new_id, xlsx_bytes
from gridroll.residents.models import Resident
from gridroll.rollcall.models import Entry
from gridroll.rollcall.services import set_exemption, sync_round

HEADER = ["序号", "姓名", "身份证号", "联系电话", "现住址", "备注"]


@pytest.fixture
def people(tree, resident_a, resident_b):
    """韩馨怡 (grid A, tested), her mother 王秀英 (grid A, missing), 徐志强 (grid B, missing), 李娜
    (grid A, away and exempt) and 赵强 (grid A, moved out)."""
    h = tree["household_a"]
    mother = Resident.objects.create(
        name="王秀英",
        sex="F",
        document_number=new_id(datetime.date(1962, 1, 5), "F", 11),
        phone="13700002222",
        household=h,
    )
    away = Resident.objects.create(
        name="李娜",
        sex="F",
        document_number=new_id(datetime.date(1988, 6, 1), "F", 21),
        phone="13600003333",
        household=h,
    )
    moved = Resident.objects.create(
        name="赵强",
        sex="M",
        document_number=new_id(datetime.date(1970, 2, 2), "M", 31),
        household=h,
        status="moved_out",
    )
    return {"a": resident_a, "b": resident_b, "mother": mother, "away": away, "moved": moved}


@pytest.fixture
def round_(round_, people, sub_admin):
    """The shared open round with its roll call: 韩馨怡 tested negative, 李娜 exempt as away."""
    sync_round(round_)
    Entry.objects.filter(round=round_, resident=people["a"]).update(state="negative")
    set_exemption(sub_admin, Entry.objects.get(round=round_, resident=people["away"]), "away")
    return round_


def feed_file(people) -> bytes:
    a, b = people["a"], people["b"]
    return xlsx_bytes(
        [
            ["11月27日推送名单"],
            HEADER,
            [
                1,
                "韩馨一",
                a.document_number[:6] + "********" + a.document_number[-4:],
                "13812345678",
                "盛世佳苑3栋2单元501",
                "大数据",
            ],
            [2, "王秀英", "", "13812345678", "盛世佳苑3号楼2单元501", ""],
            [3, "徐志强", b.document_number, 13900001111, "", "外地协查"],
            [4, "李娜", "", "13600003333", "", ""],
            [5, "赵强", people["moved"].document_number, "", "", ""],
            [6, "司马懿", "", "13000000000", "", ""],
            [],
            [
                7,
                "韩馨一",
                a.document_number[:6] + "********" + a.document_number[-4:],
                "13812345678",
                "盛世佳苑3栋2单元501",
                "",
            ],
        ]
    )
