"""The scanner page's own words, in the user's language, from the gettext catalogue like every other
page's. scanner.js looks its texts up by their English msgid (``tr("Scan a tube first")``) and a refusal
by its reason code (``TEXT["reason:tube_full"]``); the page hands the table over as JSON, so the script
itself stays static. The Chinese beside each entry is what the catalogue says today (a reading aid).
"""

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from gridroll.sampling.reasons import MESSAGES

TEXT = (
    gettext_noop(" (checked at sync)"),  # （待同步核验）
    gettext_noop(" (closed)"),  # （已封管）
    gettext_noop(" (over the local network the page needs HTTPS)"),  # （局域网访问需 HTTPS）
    gettext_noop(" (roster)"),  # （名单）
    gettext_noop(" is already in this tube"),  #  已在本管中
    gettext_noop(" people, "),  #  人，
    gettext_noop(" tubes"),  #  管
    gettext_noop(" waiting"),  #  条待同步
    gettext_noop(" · full, closed by itself"),  #  · 已满，自动封管
    gettext_noop("1 tube per household"),  # 1户1管
    gettext_noop("10-in-1"),  # 10合1
    gettext_noop("20-in-1"),  # 20合1
    gettext_noop(": use a scanner gun or type it in"),  # ：请用扫码枪或手工录入
    gettext_noop("An empty tube cannot be closed"),  # 空管不能封管
    gettext_noop("Another app is using the camera"),  # 摄像头被其他应用占用
    gettext_noop("Camera off"),  # 关闭摄像头
    gettext_noop("Camera on"),  # 开启摄像头
    gettext_noop("Cannot open the camera"),  # 无法打开摄像头
    gettext_noop("Closed "),  # 已封管
    gettext_noop("F"),  # 女
    gettext_noop("ID "),  # 证件号
    gettext_noop("Log out"),  # 退出登录
    gettext_noop("M"),  # 男
    gettext_noop("No camera found"),  # 没有找到摄像头
    gettext_noop("Nobody to undo"),  # 没有可撤销的人
    gettext_noop("Not a code this scanner knows"),  # 无法识别的码
    gettext_noop("Not a tube barcode: scan it again"),  # 管码格式不对，请重扫
    gettext_noop("Not a valid personal code"),  # 不是有效的核酸码
    gettext_noop(
        "Offline the search finds names only (e.g. 王 or 王小霞); a room needs the network"
    ),  # 离线时只能按姓名查找（如 王 或 王小霞），按房号查找需联网
    gettext_noop("Opened "),  # 已开管
    gettext_noop("Scan a tube"),  # 请扫管码
    gettext_noop("Scan a tube first"),  # 请先扫管码
    gettext_noop("Sync: "),  # 同步：
    gettext_noop("The camera permission was refused"),  # 摄像头权限被拒绝
    gettext_noop(
        "This code was revoked: show a new one, or enter the ID number"
    ),  # 此码已作废，请出示新码或用证件号登记
    gettext_noop("This page cannot use the camera"),  # 此页面不能使用摄像头
    gettext_noop("This station today: "),  # 本台今日：
    gettext_noop("This tube is closed: take a new one"),  # 此管已封管，请换新管
    gettext_noop("This tube is full: close it"),  # 此管已满，请封管
    gettext_noop("Undone "),  # 已撤销
    gettext_noop("Upload refused ("),  # 上传被拒绝（
    gettext_noop("Your login has expired: log in again to go on syncing"),  # 登录已过期，请重新登录后继续同步
    gettext_noop("from another area (checked at sync)"),  # 外区人员（待同步核验）
    gettext_noop("not synced yet"),  # 未同步
    gettext_noop("offline"),  # 离线
    gettext_noop("online"),  # 在线
    gettext_noop("single tube"),  # 单采
    gettext_noop("synced "),  # 同步于
    gettext_noop("y "),  # 岁
    gettext_noop("{name} is already in tube {tube}"),  # {name} 已在管 {tube} 中
    gettext_noop(
        "{name} was already sampled this round (tube {tube}): recorded; undo if not needed"
    ),  # {name} 本轮已采过（管 {tube}），已记录；不需要请撤销
    gettext_noop("{name}: 1 tube per household, not of this household"),  # {name}：1户1管，不是本户的人
    gettext_noop(
        "{n} scans of another user wait on this phone: they are sent when that user logs in"
    ),  # 本机还有其他用户的 {n} 条待同步，待其登录后上传
)

# The server's reasons, for refusals shown on the phone (the stored message stays as it was sent).
REASONS = {
    "ok": _("OK"),
    "bad_request": _("Incomplete request"),
    "forbidden": _("You may not scan at this site"),
    "round_not_open": _("This round is not open for sampling"),
    "site_unknown": _("No such site, or it is closed"),
    "bad_tube_barcode": _("Not a tube barcode (8–20 letters or digits): scan it again"),
    "tube_used": _("This tube was used in another round or site, or is closed: take another"),
    "tube_not_open": _("This tube is not open, or already closed"),
    "tube_full": _("This tube is full: close it and take a new one"),
    "code_forged": _("Not a valid personal code (forged or damaged)"),
    "code_revoked": _("This code was revoked: show a new one, or enter the ID number"),
    "code_unknown": _("This code is not in the system: enter the ID number"),
    "person_unknown": _("No such person: register them first"),
    "already_in_tube": _("Already in this tube"),
    "already_sampled": _("Already sampled this round (recorded)"),
    "other_household": _("1 tube per household: not of this household"),
    "nothing_to_undo": _("Nobody in this tube to undo"),
    "tube_empty": _("An empty tube cannot be closed"),
    "retest_needs_single": _("Positive pool, awaiting retest: single tube only"),
}
assert set(REASONS) == set(MESSAGES)


def scanner_text() -> dict[str, str]:
    return {k: gettext(k) for k in TEXT} | {f"reason:{k}": str(v) for k, v in REASONS.items()}
