"""The scanner page's own words, in the user's language. scanner.js looks its Chinese strings up here
(``t("请先扫管码")``); the page hands the table over as JSON, so the script itself stays static."""

from django.utils.translation import gettext_lazy as _

from gridroll.sampling.reasons import MESSAGES

TEXT = {
    " · 已满，自动封管": _(" · full, closed by itself"),
    " 人，": _(" people, "),
    " 已在本管中": _(" is already in this tube"),
    " 条待同步": _(" waiting"),
    " 管": _(" tubes"),
    "10合1": _("10-in-1"),
    "1户1管": _("1 tube per household"),
    "20合1": _("20-in-1"),
    "{name} 已在管 {tube} 中": _("{name} is already in tube {tube}"),
    "{name} 本轮已采过（管 {tube}），已记录；不需要请撤销": _(
        "{name} was already sampled this round (tube {tube}): recorded; undo if not needed"
    ),
    "{name}：1户1管，不是本户的人": _("{name}: 1 tube per household, not of this household"),
    "上传被拒绝（": _("Upload refused ("),
    "不是有效的核酸码": _("Not a valid personal code"),
    "关闭摄像头": _("Camera off"),
    "单采": _("single tube"),
    "同步于 ": _("synced "),
    "同步：": _("Sync: "),
    "在线": _("online"),
    "外区人员（待同步核验）": _("from another area (checked at sync)"),
    "女": _("F"),
    "岁 ": _("y "),
    "已封管 ": _("Closed "),
    "已开管 ": _("Opened "),
    "已撤销 ": _("Undone "),
    "开启摄像头": _("Camera on"),
    "摄像头权限被拒绝": _("The camera permission was refused"),
    "摄像头被其他应用占用": _("Another app is using the camera"),
    "无法打开摄像头": _("Cannot open the camera"),
    "无法识别的码": _("Not a code this scanner knows"),
    "未同步": _("not synced yet"),
    "本台今日：": _("This station today: "),
    "本机还有其他用户的 {n} 条待同步，待其登录后上传": _(
        "{n} scans of another user wait on this phone: they are sent when that user logs in"
    ),
    "此码已作废，请出示新码或用证件号登记": _(
        "This code was revoked: show a new one, or enter the ID number"
    ),
    "此管已封管，请换新管": _("This tube is closed: take a new one"),
    "此管已满，请封管": _("This tube is full: close it"),
    "此页面不能使用摄像头": _("This page cannot use the camera"),
    "没有可撤销的人": _("Nobody to undo"),
    "没有找到摄像头": _("No camera found"),
    "男": _("M"),
    "登录已过期，请重新登录后继续同步": _("Your login has expired: log in again to go on syncing"),
    "离线": _("offline"),
    "离线时只能按姓名查找（如 王 或 王小霞），按房号查找需联网": _(
        "Offline the search finds names only (e.g. 王 or 王小霞); a room needs the network"
    ),
    "空管不能封管": _("An empty tube cannot be closed"),
    "管码格式不对，请重扫": _("Not a tube barcode: scan it again"),
    "证件号 ": _("ID "),
    "请先扫管码": _("Scan a tube first"),
    "请扫管码": _("Scan a tube"),
    "退出登录": _("Log out"),
    "（名单）": _(" (roster)"),
    "（局域网访问需 HTTPS）": _(" (over the local network the page needs HTTPS)"),
    "（已封管）": _(" (closed)"),
    "（待同步核验）": _(" (checked at sync)"),
    "：请用扫码枪或手工录入": _(": use a scanner gun or type it in"),
}

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
    return {k: str(v) for k, v in TEXT.items()} | {f"reason:{k}": str(v) for k, v in REASONS.items()}
