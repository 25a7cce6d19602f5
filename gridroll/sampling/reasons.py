"""The names a scan is decided with, in one place: reason codes, their stored messages, and the tube and
roll-call states the rules test. ``services.py`` (the general way), ``fastpath.sql`` (the one-round-trip
add on PostgreSQL) and the scanner page's texts (``scanner_text.py``) all take them from here; a test
(``tests/test_fast_path_parity.py``) checks that every quoted name in ``fastpath.sql`` is one of them.
"""

from gridroll.codes.models import SigningKey
from gridroll.rollcall.models import State
from gridroll.sampling.models import PoolMode, ScanAction, Tube

# Stable reason codes (the API's ``reason``) and the message stored with each action (the site board
# and the audit show it; the scanner page shows its own translation, keyed by the code).
MESSAGES = {
    "ok": "成功",
    "bad_request": "请求不完整",
    "forbidden": "无权在此采样点扫码",
    "round_not_open": "本轮次未开放采样",
    "site_unknown": "采样点不存在或已关闭",
    "bad_tube_barcode": "管码格式不对（应为8–20位字母或数字），请重扫",
    "tube_used": "此管已在其他轮次、采样点使用或已封管，请换一支管",
    "tube_not_open": "此管未开管或已封管",
    "tube_full": "此管已满，请封管后换新管",
    "code_forged": "不是有效的核酸码（伪造或损坏）",
    "code_revoked": "此码已作废，请出示新码或用证件号登记",
    "code_unknown": "本系统中没有此码，请用证件号登记",
    "person_unknown": "找不到此人，请先登记",
    "already_in_tube": "此人已在本管中",
    "already_sampled": "此人本轮已采过样（已记录）",
    "other_household": "1户1管：此人不是本户成员",
    "nothing_to_undo": "本管没有可撤销的人",
    "tube_empty": "空管不能封管",
    "retest_needs_single": "此人混管阳性待复核，须单管单采：请换单采管",
}
REASONS = tuple(MESSAGES)

# An action's result.
RESULTS = tuple(ScanAction.Result.values)

# The other names the rules test, as the database stores them.
TUBE_STATUSES = tuple(Tube.Status.values)
POOL_MODES = tuple(PoolMode.values)
ENTRY_STATES = tuple(State.values)
ACTION_KINDS = tuple(ScanAction.Kind.values)
KEY_STATES = tuple(SigningKey.State.values)
# The retest tasks' kinds and statuses, which the fast path also writes, belong to the labs (a layer
# above): the parity test adds them from labs.models when it checks fastpath.sql.

# Every name a rule may quote (fastpath.sql is checked against this).
NAMES = frozenset(REASONS + RESULTS + TUBE_STATUSES + POOL_MODES + ENTRY_STATES + ACTION_KINDS + KEY_STATES)
