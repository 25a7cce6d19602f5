import os

import pytest

# On PostgreSQL every sampling test runs twice: through the one-round-trip add (fastpath.sql) and the
# general Python way (docs/algorithms/scan.md, "Where the rules live"). SQLite has the general way only.
_WAYS = ["fast", "general"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else ["general"]


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
