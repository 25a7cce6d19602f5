"""One base for service refusals, and the list of their codes in docs/errors.md."""

from pathlib import Path

import pytest
from django.utils import translation

# Importing each module that declares a DomainError registers it as a subclass here.
from gridroll.areas import models as _areas  # noqa: F401
from gridroll.codes import registration as _registration  # noqa: F401
from gridroll.codes import services as _codes  # noqa: F401
from gridroll.core.errors import DomainError
from gridroll.jobs import services as _jobs  # noqa: F401
from gridroll.labs import services as _labs  # noqa: F401
from gridroll.planning import services as _planning  # noqa: F401
from gridroll.reconcile import model as _model  # noqa: F401
from gridroll.reconcile import services as _reconcile  # noqa: F401
from gridroll.residents import services as _residents  # noqa: F401
from gridroll.rollcall import services as _rollcall  # noqa: F401
from gridroll.sampling import boxes, reasons, round_services  # noqa: F401
from gridroll.staff import services as _staff  # noqa: F401

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
