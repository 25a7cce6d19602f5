import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridroll.lib import address
from gridroll.lib.text import chinese_to_int

CHINESE = {1: "一", 2: "二", 3: "三", 10: "十", 12: "十二", 26: "二十六", 39: "三十九"}


@pytest.mark.parametrize("text", ["3号楼", "3栋", "3#", "三号楼", "3幢", "03", "3号", "３号楼"])
def test_building_written_any_way_is_one_building(text):
    assert address.building_key(text) == "3"


@pytest.mark.parametrize(
    "text",
    [
        "盛世佳苑3号楼2单元501室",
        "盛世佳苑 3#2-501",
        "盛世佳苑3栋二单元501",
        "盛世佳苑三号楼2-501",
        "盛世佳苑3-2-501",
        "盛世佳苑3号楼2单元501",
    ],
)
def test_address_written_any_way_is_one_room(text):
    assert address.parse(text) == address.Address("盛世佳苑", "3", "2", "501")


def test_compound_is_optional_and_entrance_too():
    assert address.parse("3号楼501室") == address.Address("", "3", "", "501")


def test_it_says_what_it_could_not_read():
    with pytest.raises(address.AddressError) as exc:
        address.parse("兴业社区东边")
    assert "楼栋" in exc.value.message


@given(
    st.sampled_from(sorted(CHINESE)),
    st.integers(1, 6),
    st.integers(1, 33),
    st.integers(1, 4),
    st.sampled_from(["号楼", "栋", "#", "幢"]),
    st.sampled_from(["单元", "-"]),
    st.sampled_from(["", "室"]),
    st.booleans(),
)
def test_generated_addresses_parse_to_their_parts(
    building, entrance, floor, flat, bmark, emark, rmark, chinese
):
    room = f"{floor}0{flat}"
    b = CHINESE[building] if chinese and bmark in ("号楼", "栋", "幢") else str(building)
    text = f"阳光新城{b}{bmark}{entrance}{emark}{room}{rmark}"
    assert address.parse(text) == address.Address("阳光新城", str(building), str(entrance), room)


@pytest.mark.parametrize(
    "text,value", [("三", 3), ("十", 10), ("十二", 12), ("三十九", 39), ("二百零五", 205)]
)
def test_chinese_numerals(text, value):
    assert chinese_to_int(text) == value


def test_compound_key_ignores_a_trailing_xiaoqu():
    assert address.compound_key("盛世佳苑小区") == address.compound_key("盛世佳苑")


def test_compound_key_drops_only_the_suffix():
    # 光岳花园小区 is 光岳花园, not 光岳: the garden is part of the name.
    assert address.compound_key("光岳花园小区") == "光岳花园"
    assert address.compound_key("盛世佳苑小区") == "盛世佳苑"


@pytest.mark.parametrize(
    "room, expected",
    [
        ("501", (5, "01")),
        ("1203", (12, "03")),
        ("0802", (8, "02")),
        ("３０４", (3, "04")),
        ("1", (None, "1")),
        ("12", (None, "12")),
        ("A", (None, "A")),
        ("101A", (None, "101A")),
        ("001", (None, "001")),
    ],
)
def test_a_room_number_gives_its_floor_and_flat(room, expected):
    from gridroll.lib.address import floor_and_flat

    assert floor_and_flat(room) == expected
