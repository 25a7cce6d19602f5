"""One base for service refusals, and the list of their codes in docs/errors.md."""

from pathlib import Path

import pytest
from django.utils import translation

from gridroll.core.errors import DomainError
from gridroll.sampling import boxes, reasons, round_services  # noqa: F401 (their errors register here)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "errors.md"


def test_every_error_code_is_in_the_docs():
    text = DOCS.read_text()
    codes = {code for cls in DomainError.__subclasses__() for code in cls.MESSAGES} | set(reasons.MESSAGES)
    missing = sorted(code for code in codes if f"`{code}`" not in text)
    assert not missing, f"docs/errors.md does not list {missing}"


def test_a_domain_error_has_a_stable_code_and_a_message_in_the_readers_language():
    error = boxes.BoxError("tube_packed", box="XA-0001")
    assert error.code == "tube_packed"
    with translation.override("en"):
        assert error.message == "This tube is already in box XA-0001." == str(error)
    with translation.override("zh-hans"):
        assert error.message == "此管已装入 XA-0001"
    with pytest.raises(KeyError):
        boxes.BoxError("no_such_code")
