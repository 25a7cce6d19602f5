"""Every parser of outside input, fuzzed: it answers a value or its own error, never anything else.

ID numbers, phones and addresses come from anyone's typing and anyone's spreadsheet; scanned text from
any QR code held up to a phone; uploaded tables from any file. The properties: no other exception, and
what comes out is in the parser's own format.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridroll.conftest import xlsx_bytes
from gridroll.core.logs import scrub
from gridroll.core.tables import TableError, read_rows
from gridroll.lib import address, idnumber, phone, signing
from gridroll.lib.text import cell_text, starts_like_formula

# Text as it arrives: any unicode, plus the characters forms and spreadsheets really carry.
typed = st.one_of(
    st.text(max_size=60),
    st.text(
        alphabet="0123456789xX０１２３４５６７８９ -+()（）号楼栋单元室幢#＃一二三四五六七八九十", max_size=40
    ),
)
cells = st.one_of(typed, st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.none())
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(cells)
def test_id_numbers(raw):
    text = cell_text(raw)
    idnumber.looks_mangled_by_excel(raw)
    normalised = idnumber.normalise(text)
    try:
        info = idnumber.parse(normalised)
    except idnumber.IDNumberError as exc:
        assert exc.code and exc.message
    else:
        assert re.fullmatch(r"[1-9][0-9]{16}[0-9X]", info.number)
        assert info.sex in "MF"
    masked = idnumber.mask(normalised)
    assert len(masked) <= max(len(normalised), 18)


@FUZZ
@given(cells)
def test_phones(raw):
    try:
        value = phone.normalise(raw)
    except phone.PhoneError as exc:
        assert exc.message
    else:
        assert value == "" or re.fullmatch(r"[0-9-]{5,20}", value), value
        phone.mask(value)


@FUZZ
@given(typed)
def test_addresses(text):
    for key in (address.building_key, address.entrance_key, address.room_key, address.compound_key):
        assert isinstance(key(text), str)
    try:
        parsed = address.parse(text)
    except address.AddressError as exc:
        assert exc.message
    else:
        assert parsed.building and parsed.room
        address.household_label(parsed.compound, parsed.building, parsed.entrance, parsed.room)


@FUZZ
@given(st.one_of(st.text(max_size=120), st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", max_size=120)))
def test_scanned_text(text):
    try:
        token = signing.parse(text)
    except signing.TokenError:
        pass
    else:
        assert token.key_id >= 0 and token.code_id >= 0
    short = signing.normalise_short_code(text)
    assert short is None or isinstance(short, str)


@pytest.mark.django_db
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=120))
def test_scanned_text_checked_by_the_server(text):
    from gridroll.codes.services import check_code

    result = check_code(text)
    assert result.status in ("valid", "forged", "revoked", "unknown") and result.message


@FUZZ
@given(st.text(max_size=80))
def test_log_scrubbing_and_formula_rule(text):
    out = scrub(text)
    assert not re.search(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9Xx])", out)
    starts_like_formula(text)


# ----------------------------------------------------------------------------------- uploaded tables


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=2000))
def test_any_bytes_as_csv_read_or_are_refused(data):
    try:
        rows = read_rows(data, "x.csv")
    except TableError as exc:
        assert exc.code and exc.message
    else:
        assert all(isinstance(r, list) for r in rows)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_workbook_are_refused_cleanly(data):
    for name in ("x.xlsx", "x.xls", "x.ods"):
        try:
            read_rows(data, name)
        except TableError as exc:
            assert exc.code


GOOD = xlsx_bytes([["姓名", "身份证号", "楼栋", "房号"], ["韩馨怡", "371502199003020067", "3号楼", "501"]])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_damaged_workbook_reads_or_is_refused(flips):
    data = bytearray(GOOD)
    for position, value in flips:
        data[position] = value
    try:
        rows = read_rows(bytes(data), "x.xlsx")
    except TableError as exc:
        assert exc.code
    else:
        assert all(isinstance(r, list) for r in rows)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=400))
def test_a_workbook_with_any_sheet_xml_reads_or_is_refused(xml):
    """Hand-written sheet parts: any text where the sheet's XML should be."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(GOOD)) as good, zipfile.ZipFile(out, "w") as bad:
        for item in good.infolist():
            content = good.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = xml.encode()
            bad.writestr(item.filename, content)
    try:
        read_rows(out.getvalue(), "x.xlsx")
    except TableError as exc:
        assert exc.code
