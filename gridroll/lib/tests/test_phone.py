import pytest

from gridroll.lib import phone


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "138-1234-5678",
        13812345678.0,
        "13812345678.0",
        "0086 13812345678",
        "１３８１２３４５６７８",
    ],
)
def test_it_normalises_a_mobile_written_any_way(raw):
    assert phone.normalise(raw) == "13812345678"


def test_a_fixed_line_keeps_its_area_code():
    assert phone.normalise("0635-8281234") == "06358281234"


@pytest.mark.parametrize("raw", ["1381234567", "12345", "电话"])
def test_it_rejects_what_is_not_a_phone(raw):
    with pytest.raises(phone.PhoneError):
        phone.normalise(raw)


def test_an_empty_cell_is_no_phone():
    assert phone.normalise(None) == ""
    assert phone.mask("13812345678") == "138****5678"


def test_the_fast_path_agrees_with_phonenumbers():
    import random

    import phonenumbers

    rng = random.Random(1)
    for _ in range(20000):
        number = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        if not phone._PLAIN_MOBILE.match(number):
            continue
        parsed = phonenumbers.parse(number, "CN")
        assert phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE, number
