import datetime

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from gridroll.lib import signing

KEY = signing.new_private_key()
PUBLIC = signing.public_key_of(KEY)
TOKEN = signing.sign(KEY, 1, 123_456_789, datetime.date(2022, 11, 13))


def test_a_token_round_trips_and_verifies():
    token = signing.parse(TOKEN)
    assert (token.key_id, token.code_id, token.issued) == (1, 123_456_789, datetime.date(2022, 11, 13))
    assert signing.verify(PUBLIC, token)


def test_it_verifies_in_lower_case_and_with_spaces_around():
    assert signing.verify(PUBLIC, signing.parse(" " + TOKEN.lower() + "\n"))


@settings(max_examples=300)
@given(st.integers(len(signing.PREFIX), len(TOKEN) - 1), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
def test_an_altered_token_never_verifies(position, replacement):
    if TOKEN[position] == replacement:
        return
    altered = TOKEN[:position] + replacement + TOKEN[position + 1 :]
    try:
        token = signing.parse(altered)
    except signing.TokenError:
        return
    assert not signing.verify(PUBLIC, token)


@given(st.integers(0, 2**32 - 1), st.integers(1, 255))
def test_another_key_never_verifies(code_id, key_id):
    other = signing.new_private_key()
    token = signing.parse(signing.sign(other, key_id, code_id, datetime.date(2023, 1, 1)))
    assert not signing.verify(PUBLIC, token)


@pytest.mark.parametrize("text", ["", "https://example.com/x", "GR", "GR" + "A" * 10, "XX" + TOKEN[2:]])
def test_other_text_is_not_a_token(text):
    with pytest.raises(signing.TokenError):
        signing.parse(text)


def test_the_qr_is_small_enough_for_a_cracked_screen():
    qr = segno.make(TOKEN, error="m", micro=False, boost_error=False)
    assert qr.version <= 6 and qr.mode == "alphanumeric"


@settings(max_examples=50)
@given(st.integers(0, 2**16))
def test_short_codes_catch_every_single_mistyped_character(_):
    code = signing.new_short_code()
    assert signing.normalise_short_code(code.lower().replace("-", " ")) == code
    assert not any(c in code for c in "01ILOU")
    plain = code.replace("-", "")
    for position in range(len(plain)):
        for c in signing.SHORT_ALPHABET:
            if c != plain[position]:
                assert signing.normalise_short_code(plain[:position] + c + plain[position + 1 :]) is None
