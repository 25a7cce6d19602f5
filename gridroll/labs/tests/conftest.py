import pytest

from gridroll.rollcall.services import sync_round
from gridroll.sampling.tests.conftest import act, people, round_, site  # noqa: F401  (shared fixtures)


@pytest.fixture
def roll(round_, people):
    """The round's roll call, put together after the people exist."""
    sync_round(round_)
    return round_
