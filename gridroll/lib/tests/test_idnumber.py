import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridroll.lib import idnumber

births = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2022, 12, 31))


@given(births, st.sampled_from("MF"), st.integers(0, 499))
def test_made_ids_parse_back_with_their_birth_date_and_sex(birth, sex, seq):
    number = idnumber.make("371502", birth, seq, sex)
    info = idnumber.parse(number)
    assert info.birth_date == birth
    assert info.sex == sex
    assert info.number == number


@given(births, st.integers(0, 16), st.integers(1, 9))
def test_it_rejects_any_single_changed_digit(birth, position, delta):
    number = idnumber.make("371502", birth, 5, "F")
    digit = (int(number[position]) + delta) % 10
    altered = number[:position] + str(digit) + number[position + 1 :]
    with pytest.raises(idnumber.IDNumberError) as exc:
        idnumber.parse(altered)
    assert exc.value.code in {"bad_check_digit", "bad_birth_date"}


def test_it_normalises_formatting_only():
    number = idnumber.make("371502", datetime.date(1964, 5, 3), 12, "M")
    spaced = "３７１５０２ " + number[6:14] + " " + number[14:]
    assert idnumber.parse(spaced).number == number


def test_a_lower_case_x_is_the_same_id():
    # Find a number whose check digit is X.
    for seq in range(500):
        number = idnumber.make("371502", datetime.date(1988, 1, 1), seq, "M")
        if number.endswith("X"):
            break
    assert idnumber.parse(number.lower()).number == number


def test_it_upgrades_a_15_digit_legacy_id():
    number = idnumber.make("371502", datetime.date(1964, 5, 3), 12, "M")
    legacy = number[:6] + number[8:17]
    assert idnumber.parse(legacy).number == number


def test_it_accepts_a_county_code_created_after_the_birth_year():
    # 371502 dates from 1998; stdnum's is_valid would reject this 1950 birth.
    number = idnumber.make("371502", datetime.date(1950, 2, 1), 1, "F")
    assert idnumber.parse(number).birth_date == datetime.date(1950, 2, 1)


@pytest.mark.parametrize(
    "raw,code",
    [
        ("37150219900230123X", "bad_birth_date"),
        ("1234", "bad_id_format"),
        ("371502309901011234", "bad_birth_date"),
    ],
)
def test_it_names_what_is_wrong(raw, code):
    with pytest.raises(idnumber.IDNumberError) as exc:
        idnumber.parse(raw)
    assert exc.value.code == code


def test_it_spots_ids_that_excel_stored_as_numbers():
    assert idnumber.looks_mangled_by_excel(3.71502196405031e17)
    assert idnumber.looks_mangled_by_excel("3.71502E+17")
    assert not idnumber.looks_mangled_by_excel(float(371502640503121))  # 15 digits survive a float
    assert not idnumber.looks_mangled_by_excel("371502196405031211")


def test_mask_keeps_the_province_city_and_last_four():
    assert idnumber.mask("371502196405031211") == "3715**********1211"
