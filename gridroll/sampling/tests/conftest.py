import os

import pytest

from gridroll.core.testenv import deselect

# On PostgreSQL every sampling test runs twice: through the one-round-trip add (fastpath.sql) and the
# general Python way (docs/algorithms/scan.md, "Where the rules live"). SQLite has the general way only.
_WAYS = ["fast", "general"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else ["general"]
# A browser test on PostgreSQL takes the fast way only, as production on PostgreSQL does: its general way
# is the SQLite run's Python under a browser that adds nothing to it (and two minutes of CI).
_BROWSER_FIXTURES = {"browser", "browser_factory"}


def _general_way_in_a_browser(item) -> bool:
    callspec = getattr(item, "callspec", None)
    return (
        callspec is not None
        and callspec.params.get("scan_way") == "general"
        and bool(_BROWSER_FIXTURES & set(item.fixturenames))
    )


def pytest_collection_modifyitems(config, items):
    if len(_WAYS) > 1:
        deselect(config, items, _general_way_in_a_browser)


@pytest.fixture(autouse=True, params=_WAYS)
def scan_way(request):
    from gridroll.sampling import services

    if request.param == "general":
        services._FAST_PATH[:] = [False]
    else:
        services._FAST_PATH[:] = []  # asked of the database: installed by the migrations
    yield request.param
    services._FAST_PATH[:] = []


def code_of(resident):
    from gridroll.codes.services import current_code

    return current_code(resident).token
