"""The day's report of the command view: Excel through core.exports and PDF through WeasyPrint with the
cards' embedded CJK font. The PDF's charts are SVG drawn here in Python from the same figures as the
page's ECharts charts (no browser on the server)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.utils import timezone

from gridroll.core.exports import write_xlsx as _write_xlsx

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]


def rows(round_, area, data: dict) -> list[list]:
    """The report as one table: a title row per panel, then its rows (the same figures as the page)."""
    p, a, t = data["progress"], data["areas"], data["tubes"]
    out: list[list] = [
        ["轮次", round_.name, "区域", area.name, "生成时间", timezone.localtime().strftime("%Y-%m-%d %H:%M")],
        [],
        ["进度", "已采", p["sampled"], "应采", p["expected"], "按当前速度完成时间", _finish(p["finish"])],
        [basis(p)],
        ["时间", "累计已采", line_name(p)],
        *[[pt["hour"], pt["sampled"], line_value(p, pt)] for pt in p["points"]],
        [],
        *staff_rows(data["staff"]),
        [],
        ["区域", "完成率%", "未采", "阳性", "应检人数"],
        *[
            [c["name"], c["percent"], c["missing"], c["positive"] + c["pool_positive"], c["total"]]
            for c in a["children"]
        ],
        [
            "合计",
            a["totals"]["percent"],
            a["totals"]["missing"],
            a["totals"]["positive"] + a["totals"]["pool_positive"],
            a["totals"]["total"],
        ],
        [],
        [
            "采样点",
            "近10分钟",
            "前一小时每10分钟均值",
            "开放采样台",
            "采样台",
            "累计",
            "落后",
            "预计排队人数",
            "预计排完分钟",
        ],
        *[
            [
                s["name"],
                s["last10"],
                s["hour_avg10"],
                s["open_stations"],
                s["stations"],
                s["scans"],
                "是" if s["behind"] else "",
                *queue_cells(s["queue"]),
            ]
            for s in data["sites"]
        ],
        [],
        ["采样点", "未封管", "已封管", "已装箱", "运送中", "实验室", "已出结果"],
        *[
            [r["site"], r["open"], r["sealed"], r["packed"], r["in_transit"], r["received"], r["reported"]]
            for r in t["per_site"]
        ],
        [],
        [
            "实验室",
            "已接收",
            "已出结果",
            "检测中位数(小时)",
            "检测P90(小时)",
            "全程中位数(小时)",
            "全程P90(小时)",
        ],
        *[
            [
                lab["lab"],
                lab["tubes"],
                lab["reported"],
                lab["testing"].get("median"),
                lab["testing"].get("p90"),
                lab["total"].get("median"),
                lab["total"].get("p90"),
            ]
            for lab in data["labs"]
        ],
        [],
        ["阳性混管", data["positives"]["pools"]],
        ["网格", "复核未完成", "复核已完成", "距结果小时"],
        *[[g["grid"], g["open"], g["done"], g["hours"]] for g in data["positives"]["per_grid"]],
        [],
        ["落后网格", "网格员", "完成率%", "未采"],
        *[
            [g["name"], workers_text(g["workers"]), g["percent"], g["missing"]]
            for g in data["lagging"]["grids"]
        ],
    ]
    return out


def queue_cells(queue: dict | None) -> list:
    """The predicted queue's two cells: people and minutes ("" without a plan; "不动" when nobody is being
    sampled and people wait)."""
    if queue is None:
        return ["", ""]
    return [queue["people"], "不动" if queue["minutes"] is None else queue["minutes"]]


def workers_text(workers: list[dict]) -> str:
    """A grid's workers with their phones as the reader may see them (queries.lagging masked them)."""
    return "、".join(f"{w['name']} {w['phone']}".strip() for w in workers)


def line_name(progress: dict) -> str:
    return "计划应采" if progress["plan"] else "均速计划"


def line_value(progress: dict, point: dict) -> int:
    return point["plan"] if progress["plan"] else point["pace"]


def basis(progress: dict) -> str:
    """Which line the report compares with, as the page's panel says it."""
    plan = progress["plan"]
    if not plan:
        return "尚无计划：按均速（至本轮结束）对比"
    text = (
        f"按已接受的采样计划（{'、'.join(plan['areas'])}）对比："
        f"计划 {plan['people']} 人，截至目前计划应采 {plan['now']}"
    )
    if plan["buildings"] < plan["of_buildings"]:
        text += f"；计划含 {plan['buildings']}/{plan['of_buildings']} 栋楼，其余 {plan['rest']} 人按均速计"
    return text


def staff_rows(staff: dict) -> list[list]:
    """The staff panel: per site, the shift on now, checked in / assigned / needed, who has not checked in."""
    if not staff["shifts"]:
        return [["在岗人员", "本轮本区域尚无班次（在人员调度页面安排）"]]
    t = staff["totals"]
    out: list[list] = [
        [
            "在岗人员",
            "已签到",
            t["checked_in"],
            "已安排",
            t["assigned"],
            "需要",
            t["needed"],
            "未签到",
            t["absent"],
        ],
        ["采样点", "当前班次", "已签到", "已安排", "需要", "空缺", "未签到（姓名 岗位 电话）", "提示"],
    ]
    for r in staff["sites"]:
        note = "已关闭" if r["is_shut"] else ("当前无人在岗安排" if r["nobody"] else "")
        out.append(
            [
                r["name"],
                r["shift"] or (f"下一班 {timezone.localtime(r['next']):%m-%d %H:%M}" if r["next"] else ""),
                r["checked_in"],
                r["assigned"],
                r["needed"],
                r["unfilled"],
                "；".join(f"{a['name']} {a['role']} {a['phone']}" for a in r["absent"]),
                note,
            ]
        )
    return out


def _finish(finish) -> str:
    if finish == "done":
        return "已完成"
    return timezone.localtime(finish).strftime("%m-%d %H:%M") if finish else ""


def write_xlsx(round_, area, data: dict, out) -> int:
    return _write_xlsx(rows(round_, area, data), out, title="指挥部日报")


def progress_svg(points: list[dict], width: int = 680, height: int = 220, line: str = "pace") -> str:
    """Cumulative sampled (solid) against the even pace or, with ``line="plan"``, the plan (dashed), as
    an SVG line chart."""
    if not points:
        return ""
    top = max([p[line] for p in points] + [p["sampled"] or 0 for p in points] + [1])
    left, bottom, right, upper = 50, height - 30, width - 10, 10

    def xy(i, v):
        x = left + (right - left) * (i / max(1, len(points) - 1))
        y = bottom - (bottom - upper) * (v / top)
        return f"{x:.1f},{y:.1f}"

    sampled = " ".join(xy(i, p["sampled"]) for i, p in enumerate(points) if p["sampled"] is not None)
    pace = " ".join(xy(i, p[line]) for i, p in enumerate(points))
    labels = "".join(
        f'<text x="{xy(i, 0).split(",")[0]}" y="{height - 12}" font-size="9" text-anchor="middle">'
        f"{escape(p['hour'][-5:])}</text>"
        for i, p in enumerate(points)
        if i % max(1, len(points) // 8) == 0
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>'
        f'<line x1="{left}" y1="{upper}" x2="{left}" y2="{bottom}" stroke="#333"/>'
        f'<text x="{left - 4}" y="{upper + 8}" font-size="9" text-anchor="end">{top}</text>'
        f'<text x="{left - 4}" y="{bottom}" font-size="9" text-anchor="end">0</text>'
        f'<polyline fill="none" stroke="{PALETTE[1]}" stroke-width="1.5" stroke-dasharray="5,4" '
        f'points="{pace}"/>'
        f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2.5" points="{sampled}"/>'
        f"{labels}</svg>"
    )


def areas_svg(children: list[dict], width: int = 680) -> str:
    """Completion per area as horizontal bars (percent)."""
    rows_ = children[:30]
    if not rows_:
        return ""
    bar, left = 16, 150
    height = len(rows_) * (bar + 4) + 10
    parts = []
    for i, c in enumerate(rows_):
        y = 5 + i * (bar + 4)
        w = (width - left - 60) * c["percent"] / 100
        parts.append(
            f'<text x="{left - 6}" y="{y + 12}" font-size="10" text-anchor="end">'
            f"{escape(str(c['name']))}</text>"
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{PALETTE[2]}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 12}" font-size="10">{c["percent"]}%</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">' + "".join(parts) + "</svg>"
    )


def pdf(request, round_, area, data: dict) -> bytes:
    from django.utils.safestring import mark_safe

    from gridroll.codes.cards import pdf_from_template

    return pdf_from_template(
        "command/report_pdf.html",
        {
            "round": round_,
            "area": area,
            "d": data,
            "finish": _finish(data["progress"]["finish"]),
            "progress_svg": mark_safe(
                progress_svg(data["progress"]["points"], line="plan" if data["progress"]["plan"] else "pace")
            ),
            "basis": basis(data["progress"]),
            "line_name": line_name(data["progress"]),
            "staff_rows": staff_rows(data["staff"]),
            "areas_svg": mark_safe(areas_svg(data["areas"]["children"])),
            "printed_at": timezone.localtime(),
        },
    )
