"""Receiving boxes at the lab, applying results per tube, and what a result sets off.

The rule (national guideline, 3rd ed.): a positive pool is reported at once; its members are controlled
in place and each is re-swabbed into a single tube. ``apply_results`` writes the results and, in the same
transaction, closes the tasks the results answer, opens retest tasks for the members of positive pools and
re-sample tasks for the members of invalid tubes, and moves the roll call — so the retest list is on the
grid workers' pages the moment the upload is applied.
"""

from __future__ import annotations

import datetime
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gridroll.audit.services import record
from gridroll.core.bulk import placeholders
from gridroll.core.errors import DomainError
from gridroll.core.tables import Limits, Source, Table, TableError
from gridroll.labs.models import BoxReceipt, Result, ResultIssue, ResultUpload, RetestTask
from gridroll.lib.text import cell_text, halfwidth
from gridroll.rollcall import services as rollcall
from gridroll.sampling.models import Box, Round, Sample, Tube

CHUNK = 2000

# ---------------------------------------------------------------------------------------------- boxes


class ReceiveError(DomainError):
    MESSAGES = {
        "box_not_sealed": gettext_lazy("This box is not sealed yet: it cannot be received."),
        "bad_barcode": gettext_lazy("Scan the tube's barcode."),
    }


@transaction.atomic
def receive_box(user, box: Box, lab: str = "") -> Box:
    """The lab has the box in hand (scanned its code): the box and every tube packed in it are received,
    at this lab. A technician expects results for a received box to go in at once (issue 18: uploads were
    refused as ``tube_not_received`` until someone pressed "counted"); scanning the tubes afterwards is a
    count that flags differences (``box_differences``), not a second receipt."""
    box = Box.objects.select_for_update().get(pk=box.pk)
    if box.status == Box.Status.RECEIVED:
        return box
    if box.status not in (Box.Status.SEALED, Box.Status.HANDED_OVER):
        raise ReceiveError("box_not_sealed")
    box.status, box.received_at = Box.Status.RECEIVED, timezone.now()
    if lab and not box.handed_to:
        box.handed_to = lab
    box.save(update_fields=["status", "received_at", "handed_to"])
    tubes = Tube.objects.filter(box=box, received_at__isnull=True).update(
        received_at=box.received_at, lab=box.handed_to
    )
    record(
        user,
        "box.receive",
        box,
        changes={"status": ["", box.status], "tubes": [0, tubes]},
        area_path=box.site.area.path,
    )
    return box


@transaction.atomic
def receive_tube(user, box: Box, barcode: str) -> BoxReceipt:
    """A tube scanned at the lab while unpacking ``box``: recorded whether it belongs to the box or not."""
    barcode = halfwidth(barcode).upper()
    if not barcode:
        raise ReceiveError("bad_barcode")
    tube = Tube.objects.select_for_update().filter(barcode=barcode).first()
    receipt, created = BoxReceipt.objects.get_or_create(
        box=box, barcode=barcode, defaults={"tube": tube, "user": user}
    )
    if tube is not None and tube.received_at is None:
        tube.received_at = receipt.scanned_at
        tube.lab = tube.lab or box.handed_to
        tube.save(update_fields=["received_at", "lab"])
    if created:
        in_box = tube is not None and tube.box_id == box.pk
        record(
            user,
            "box.receive_tube",
            box,
            changes={"tube": [None, barcode], "in_box": [None, in_box]},
            area_path=box.site.area.path,
        )
    return receipt


@transaction.atomic
def receive_all(user, box: Box) -> int:
    """The lab counted the box by hand and every packed tube is there: the tubes not scanned yet are
    recorded as counted (and received, for a box received before receiving took its tubes). The number
    of tubes so recorded."""
    now = timezone.now()
    scanned = set(box.receipts.values_list("barcode", flat=True))
    tubes = [t for t in box.tubes.all() if t.barcode not in scanned]
    BoxReceipt.objects.bulk_create(
        [BoxReceipt(box=box, barcode=t.barcode, tube=t, user=user) for t in tubes], ignore_conflicts=True
    )
    Tube.objects.filter(pk__in=[t.pk for t in tubes], received_at__isnull=True).update(
        received_at=now, lab=box.handed_to
    )
    record(user, "box.receive_all", box, changes={"tubes": [0, len(tubes)]}, area_path=box.site.area.path)
    return len(tubes)


def box_differences(box: Box) -> dict[str, list[str]]:
    """The lab's count against the packer's: tubes packed in the box but not scanned at the lab (once the
    count has begun), and tubes scanned there but not packed in it."""
    packed = set(box.tubes.values_list("barcode", flat=True))
    scanned = set(box.receipts.values_list("barcode", flat=True))
    return {
        "packed_not_scanned": sorted(packed - scanned) if scanned else [],
        "received_not_packed": sorted(scanned - packed),
    }


# -------------------------------------------------------------------------------------------- reading

HEADERS = {
    "tube": [
        "管码",
        "试管编码",
        "采样管码",
        "试管条码",
        "条码",
        "样本编号",
        "样本条码",
        "tube",
        "tube_barcode",
        "tube barcode",
        "barcode",
        "sample id",
    ],
    "result": ["结果", "检测结果", "核酸结果", "result", "test result"],
    "ct": ["ct", "ct值", "ct value", "ct_value"],
    "ct_orf1ab": ["orf1ab", "ct_orf1ab", "orf1ab基因ct值", "orf1ab ct"],
    "ct_n": ["n", "ct_n", "n基因ct值", "n ct"],
    "tested_at": ["检测时间", "报告时间", "检测日期", "tested_at", "tested at", "test time", "time tested"],
    "note": ["备注", "note"],
}
_HEADER_KEYS = {
    halfwidth(v).lower().replace(" ", "").replace("_", ""): k for k, vs in HEADERS.items() for v in vs
}
RESULT_WORDS = {
    Result.NEGATIVE: ["阴性", "阴", "negative", "neg", "-", "（-）", "(-)", "未检出"],
    Result.POSITIVE: ["阳性", "阳", "positive", "pos", "+", "（+）", "(+)", "检出"],
    Result.INVALID: ["无效", "invalid", "inconclusive", "需重采", "重采", "不合格"],
}
_RESULT_KEYS = {halfwidth(w).lower(): k for k, ws in RESULT_WORDS.items() for w in ws}

MESSAGES = {
    "missing_tube": "缺少管码",
    "unknown_tube": "系统中没有这支管",
    "tube_not_received": (
        "此管尚未接收：请先在“检测机构”首页扫描装它的转运箱的箱码接收该箱"
        "（接收转运箱即接收箱内全部采样管），再上传结果"
    ),
    "bad_result": "结果应为 阴性/阳性/无效（negative/positive/invalid）",
    "bad_ct": "Ct 值应为数字",
    "bad_tested_at": "检测时间无法识别（例：2022-04-12 08:30）",
    "round_closed": "此管所属轮次已结束，不再接收结果",
    "conflict": "与此前报告的结果不一致：已保留待复核，未覆盖",
}
FILE_MESSAGES = {
    "no_header": "前10行中找不到表头：需要“管码”和“结果”列（tube, result）",
    "missing_column": "缺少“管码”或“结果”列",
}


# A file-level problem: the bounded reader's error (gridroll/core/tables.py).
FileError = TableError


def header_key(cell: Any) -> str | None:
    return _HEADER_KEYS.get(cell_text(cell).lower().replace(" ", "").replace("_", ""))


def match_header(row: list[Any]) -> dict[int, str] | None:
    """The row's columns (position → tube, result, …) if it is the header row, else None."""
    mapping = {i: key for i, c in enumerate(row) if (key := header_key(c))}
    if len(mapping) < 2:
        return None
    if not {"tube", "result"} <= set(mapping.values()):
        raise FileError("missing_column", FILE_MESSAGES["missing_column"])
    return mapping


def read_results(source: Source, filename: str, lim: Limits | None = None) -> tuple[list[dict], int]:
    """Rows as dicts keyed by column (tube, result, …) with their spreadsheet row numbers; blank rows
    are counted, not returned. Raises FileError (unreadable, over a limit, no header)."""
    with Table(source, filename, lim) as table:
        mapping = table.header(match_header)
        if mapping is None:
            raise FileError("no_header", FILE_MESSAGES["no_header"])
        rows, blank = [], 0
        for number, cells in table.rows():
            values = {key: cells[i] if i < len(cells) else None for i, key in mapping.items()}
            if all(cell_text(v) == "" for v in values.values()):
                blank += 1
                continue
            rows.append({"_row": number, **values})
        return rows, blank


def parse_result(text: Any) -> str | None:
    return _RESULT_KEYS.get(cell_text(text).lower())


def parse_time(value: Any) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else timezone.make_aware(value)
    if isinstance(value, datetime.date):
        return timezone.make_aware(datetime.datetime.combine(value, datetime.time()))
    text = cell_text(value).replace("/", "-").replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return timezone.make_aware(datetime.datetime.strptime(text[:19], fmt))
        except ValueError:
            continue
    parsed = None
    try:
        parsed = datetime.datetime.fromisoformat(cell_text(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


# ------------------------------------------------------------------------------------------- applying


@dataclass
class _Decided:
    applied: list = field(default_factory=list)  # (tube, result, ct, tested_at)
    unchanged: int = 0
    issues: list = field(default_factory=list)  # ResultIssue (unsaved)


def import_results(
    source: Source,
    filename: str,
    user=None,
    lab: str = "",
    upload: ResultUpload | None = None,
    limits: Limits | None = None,
) -> ResultUpload:
    """Read a results file and apply it.

    A file that cannot be read, or is over a limit, stores nothing: the upload comes back unsaved
    (``pk`` None) with ``error`` saying why. ``limits``: the web's by default.
    """
    try:
        rows, blank = read_results(source, filename, limits)
    except FileError as exc:
        failed = upload or ResultUpload(user=user, lab=lab, filename=filename)
        failed.error = exc.message
        if failed.pk is not None:
            failed.save(update_fields=["error"])
        return failed
    upload = upload or ResultUpload.objects.create(user=user, lab=lab, filename=filename)
    upload.blank_rows = blank
    return apply_results(upload, rows)


def _scope(upload: ResultUpload) -> list[str] | None:
    """Area paths whose tubes this upload may report (None: all, for the command line and superusers)."""
    if upload.user is None:
        return None
    from gridroll.accounts.roles import Action
    from gridroll.accounts.scope import allowed_paths

    return allowed_paths(upload.user, Action.REPORT_RESULTS)


def apply_results(upload: ResultUpload, rows: list[dict]) -> ResultUpload:
    """Apply result rows (dicts with tube, result, ct…, tested_at and ``_row``) in one transaction.

    Every row ends as exactly one of applied, unchanged, conflict or rejected, and the upload's counts say
    so: total = applied + unchanged + conflicts + rejected.
    """
    started = time.perf_counter()
    with transaction.atomic():
        decided = _decide(upload, rows)
        _write(upload, decided)
        upload.total = len(rows)
        upload.applied = len(decided.applied)
        upload.unchanged = decided.unchanged
        upload.conflicts = sum(1 for i in decided.issues if i.code == "conflict")
        upload.rejected = len(decided.issues) - upload.conflicts
        upload.positive_barcodes = [a[0].barcode for a in decided.applied if a[1] == Result.POSITIVE]
        upload.positive_tubes = len(upload.positive_barcodes)
        assert upload.total == upload.applied + upload.unchanged + upload.conflicts + upload.rejected
        upload.seconds = time.perf_counter() - started
        upload.save()
    return upload


@dataclass
class _Tube:
    """What applying a result needs of a tube, read as plain values (100,000 of them in one upload)."""

    pk: int
    barcode: str
    round_id: int
    received_at: datetime.datetime | None
    result: str
    size: int
    path: str


def _decide(upload: ResultUpload, rows: list[dict]) -> _Decided:
    barcodes = {cell_text(r.get("tube")).upper() for r in rows}
    tubes: dict[str, _Tube] = {}
    found = sorted(b for b in barcodes if b)
    fields = ("id", "barcode", "round_id", "received_at", "result", "size", "site__area__path")
    for i in range(0, len(found), CHUNK):
        locked = (
            Tube.objects.select_for_update(of=("self",))
            .filter(barcode__in=found[i : i + CHUNK])
            .order_by("id")
            .values_list(*fields)
        )
        for row in locked:
            tubes[row[1]] = _Tube(*row)
    paths = _scope(upload)
    if paths is not None:
        # A tube outside the lab's areas is answered as unknown: the difference tells an outsider nothing.
        tubes = {b: t for b, t in tubes.items() if any(t.path.startswith(p) for p in paths)}
    closed_rounds = set(Round.objects.filter(status=Round.Status.CLOSED).values_list("pk", flat=True))
    out = _Decided()
    in_file: dict[str, str] = {}  # barcode → result already taken from this file
    for row in rows:
        number = row.get("_row", 0)
        barcode = cell_text(row.get("tube")).upper()
        data = {k: cell_text(v) for k, v in row.items() if k != "_row"}

        def issue(code: str, tube=None, number=number, data=data) -> None:
            out.issues.append(
                ResultIssue(
                    upload=upload,
                    row_number=number,
                    code=code,
                    message=MESSAGES[code],
                    data=data,
                    tube_id=tube.pk if tube else None,
                )
            )

        result = parse_result(row.get("result"))
        if not barcode:
            issue("missing_tube")
            continue
        tube = tubes.get(barcode)
        if tube is None:
            issue("unknown_tube")
            continue
        if result is None:
            issue("bad_result", tube)
            continue
        ct: dict[str, float] = {}
        try:
            for key in ("ct", "ct_orf1ab", "ct_n"):
                if cell_text(row.get(key)):
                    ct[key] = float(cell_text(row.get(key)))
        except ValueError:
            issue("bad_ct", tube)
            continue
        tested_at = None
        if cell_text(row.get("tested_at")):
            tested_at = parse_time(row.get("tested_at"))
            if tested_at is None:
                issue("bad_tested_at", tube)
                continue
        if tube.round_id in closed_rounds:
            issue("round_closed", tube)
            continue
        if tube.received_at is None:
            issue("tube_not_received", tube)
            continue
        earlier = in_file.get(barcode) or tube.result
        if earlier:
            if earlier == result:
                out.unchanged += 1
            else:
                issue("conflict", tube)
            continue
        in_file[barcode] = result
        out.applied.append((tube, result, ct, tested_at))
    return out


def _write(upload: ResultUpload, decided: _Decided) -> None:
    now = timezone.now()
    # Rows with the same result, Ct values and test time are one UPDATE per few thousand tubes (a lab's
    # file is mostly "negative" with one test time): 100,000 single-row updates cost twenty times more.
    groups: dict[tuple, list[int]] = defaultdict(list)
    for tube, result, ct, tested_at in decided.applied:
        groups[(result, json.dumps(ct, sort_keys=True), tested_at or now)].append(tube.pk)
    with connection.cursor() as cursor:
        for (result, ct_text, tested_at), ids in groups.items():
            ct = _json(json.loads(ct_text))
            for i in range(0, len(ids), CHUNK):
                chunk = ids[i : i + CHUNK]
                cursor.execute(
                    "UPDATE sampling_tube SET result = %s, ct_values = %s, tested_at = %s, reported_at = %s, "
                    "lab = CASE WHEN lab = '' THEN %s ELSE lab END "
                    f"WHERE id IN ({placeholders(chunk)})",
                    [result, ct, tested_at, now, upload.lab, *chunk],
                )
    for tube, result, *_rest in decided.applied:
        tube.result = result
    for i in range(0, len(decided.issues), CHUNK):
        ResultIssue.objects.bulk_create(decided.issues[i : i + CHUNK])
    results_changed([t for t, *_ in decided.applied], now)


def _json(value: dict) -> Any:
    from django.db.models import JSONField

    return JSONField().get_db_prep_value(value, connection)


def results_changed(tubes: Sequence, now: datetime.datetime) -> None:
    """What a batch of results sets off: tasks answered, tasks opened, and the roll call.

    ``tubes`` have ``pk``, ``result`` and ``size``. Negative tubes — nearly all of them — are handled in
    sets: their sampled members become negative by a few UPDATEs. Only the members of positive and
    invalid tubes, and people with unfinished tasks, are looked at one by one.
    """
    if not tubes:
        return
    by_id = {t.pk: t for t in tubes}
    ids = sorted(by_id)
    # People of these tubes with unfinished tasks (few): one query per chunk, through the samples.
    open_tasks: dict[tuple[int, int], list[RetestTask]] = defaultdict(list)
    for i in range(0, len(ids), CHUNK):
        in_tubes = Sample.objects.filter(tube_id__in=ids[i : i + CHUNK], is_removed=False).values(
            "resident_id"
        )
        for task in RetestTask.objects.filter(
            resident_id__in=in_tubes, status__in=[RetestTask.Status.OPEN, RetestTask.Status.SAMPLED]
        ):
            open_tasks[(task.round_id, task.resident_id)].append(task)
    tasked = sorted({resident_id for _round, resident_id in open_tasks})
    # The members to look at: all of positive and invalid tubes, and those with tasks in any tube.
    members: dict[int, list[tuple[int, int, datetime.datetime]]] = defaultdict(list)
    loud = sorted(t.pk for t in tubes if t.result != Result.NEGATIVE)
    fields = ("tube_id", "resident_id", "round_id", "received_at")
    for i in range(0, len(loud), CHUNK):
        for tube_id, resident_id, round_id, received_at in Sample.objects.filter(
            tube_id__in=loud[i : i + CHUNK], is_removed=False
        ).values_list(*fields):
            members[tube_id].append((resident_id, round_id, received_at))
    for i in range(0, len(tasked), CHUNK):
        for tube_id, resident_id, round_id, received_at in Sample.objects.filter(
            tube_id__in=ids, resident_id__in=tasked[i : i + CHUNK], is_removed=False
        ).values_list(*fields):
            if by_id[tube_id].result == Result.NEGATIVE:
                members[tube_id].append((resident_id, round_id, received_at))
    to_close: list[RetestTask] = []
    to_open: list[RetestTask] = []
    full_rules: dict[int, set[int]] = defaultdict(set)  # round → people whose state needs the full rules
    for tube_id, ms in members.items():
        tube = by_id[tube_id]
        own = tube.size == 1
        for resident_id, round_id, received_at in ms:
            for task in open_tasks.get((round_id, resident_id), []):
                answers = task.tube_id != tube_id and received_at >= task.created_at
                if answers and (task.kind == RetestTask.Kind.RESAMPLE or own):
                    task.status, task.closed_at, task.result = RetestTask.Status.CLOSED, now, tube.result
                    to_close.append(task)
                    full_rules[round_id].add(resident_id)
            if tube.result != Result.NEGATIVE:
                full_rules[round_id].add(resident_id)
                if tube.result == Result.INVALID or not own:
                    kind = (
                        RetestTask.Kind.RESAMPLE if tube.result == Result.INVALID else RetestTask.Kind.RETEST
                    )
                    to_open.append(
                        RetestTask(
                            round_id=round_id,
                            resident_id=resident_id,
                            tube_id=tube_id,
                            kind=kind,
                            created_at=now,
                        )
                    )
    RetestTask.objects.bulk_update(to_close, ["status", "closed_at", "result"], batch_size=CHUNK)
    RetestTask.objects.bulk_create(to_open, batch_size=CHUNK, ignore_conflicts=True)
    negatives = sorted(t.pk for t in tubes if t.result == Result.NEGATIVE)
    for i in range(0, len(negatives), CHUNK):
        _sampled_to_negative(negatives[i : i + CHUNK], now)
    for round_id, people in full_rules.items():
        rollcall.refresh(round_id, people)


def _sampled_to_negative(tube_ids: Sequence[int], now: datetime.datetime) -> None:
    """The common case, in sets and by increments: a sampled member of a negative tube is negative.
    (Anyone with an open task is not "sampled", and goes through the full rules instead.)"""
    from collections import Counter

    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE rollcall_entry SET state = 'negative', updated_at = %s
            WHERE state = 'sampled' AND (round_id, resident_id) IN (
                SELECT s.round_id, s.resident_id FROM sampling_sample s
                WHERE s.tube_id IN ({placeholders(tube_ids)}) AND s.is_removed = %s)
            RETURNING round_id, building_id""",
            [now, *tube_ids, False],
        )
        deltas: dict[int, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))
        for round_id, building_id in cursor.fetchall():
            deltas[round_id][building_id]["sampled"] -= 1
            deltas[round_id][building_id]["negative"] += 1
    for round_id, by_building in deltas.items():
        rollcall.apply_deltas(round_id, by_building)


# -------------------------------------------------------------------------------------- scans and tasks


def tasks_sampled(samples: Iterable[tuple[int, int, int]]) -> None:
    """The scanner took a person with an unfinished task: (round, resident, tube capacity). A retest
    counts only in a single tube; a re-sample in any tube."""
    now = timezone.now()
    with connection.cursor() as cursor:
        for round_id, resident_id, capacity in samples:
            kinds = ["retest", "resample"] if capacity == 1 else ["resample"]
            cursor.execute(
                f"UPDATE labs_retesttask SET status = 'sampled', sampled_at = %s WHERE round_id = %s "
                f"AND resident_id = %s AND status = 'open' AND kind IN ({placeholders(kinds)})",
                [now, round_id, resident_id, *kinds],
            )


def tasks_unsampled(round_id: int, resident_ids: Iterable[int]) -> None:
    """After an undo: a task whose sample was taken back is to do again."""
    ids = sorted(resident_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE labs_retesttask SET status = 'open', sampled_at = NULL
            WHERE round_id = %s AND status = 'sampled' AND resident_id IN ({placeholders(ids)})
            AND NOT EXISTS (SELECT 1 FROM sampling_sample s JOIN sampling_tube t ON t.id = s.tube_id
                WHERE s.round_id = labs_retesttask.round_id AND s.resident_id = labs_retesttask.resident_id
                AND s.is_removed = %s AND s.received_at >= labs_retesttask.created_at
                AND (labs_retesttask.kind = 'resample' OR t.capacity = 1))""",
            [round_id, *ids, False],
        )


# ------------------------------------------------------------------------------------------ conflicts


@transaction.atomic
def resolve_conflict(user, issue: ResultIssue, take_new: bool) -> ResultIssue:
    """Keep the first result, or take the new one: tasks from the old result are closed, the new result's
    tasks opened, the roll call follows. Audited either way."""
    issue = ResultIssue.objects.select_for_update().get(pk=issue.pk)
    if issue.resolution or issue.code != "conflict" or issue.tube is None:
        return issue
    tube = Tube.objects.select_for_update().select_related("site__area").get(pk=issue.tube_id)
    new = parse_result(issue.data.get("result"))
    now = timezone.now()
    if take_new and new and new != tube.result:
        record(
            user,
            "result.replace",
            tube,
            changes={"result": [tube.result, new]},
            reason=f"upload {issue.upload_id} row {issue.row_number}",
            area_path=tube.site.area.path,
        )
        # Tasks the old result opened and nobody answered yet go; answered ones stay as history.
        RetestTask.objects.filter(tube=tube).exclude(status=RetestTask.Status.CLOSED).delete()
        tube.result, tube.reported_at = new, now
        tube.save(update_fields=["result", "reported_at"])
        results_changed([tube], now)
        members = list(tube.samples.filter(is_removed=False).values_list("round_id", "resident_id"))
        for round_id in {m[0] for m in members}:
            rollcall.refresh(round_id, [m[1] for m in members if m[0] == round_id])
        issue.resolution = ResultIssue.Resolution.REPLACED
    else:
        record(
            user,
            "result.keep",
            tube,
            changes={"result": [new, tube.result]},
            reason=f"upload {issue.upload_id} row {issue.row_number}",
            area_path=tube.site.area.path,
        )
        issue.resolution = ResultIssue.Resolution.KEPT
    issue.resolved_by, issue.resolved_at = user, now
    issue.save(update_fields=["resolution", "resolved_by", "resolved_at"])
    return issue


# ------------------------------------------------------------------------------------------- rejects

ISSUE_HEADER = ["管码", "结果", "ct", "ORF1ab", "N", "检测时间", "行号", "原因代码", "原因"]


def issue_rows(upload: ResultUpload, codes: Sequence[str] | None = None) -> Iterable[list[str]]:
    """The rows not applied, in the upload's own columns and then the reason: fix and upload again."""
    issues = upload.issues.all()
    if codes:
        issues = issues.filter(code__in=codes)
    for issue in issues.iterator(chunk_size=CHUNK):
        d = issue.data
        yield [
            d.get("tube", ""),
            d.get("result", ""),
            d.get("ct", ""),
            d.get("ct_orf1ab", ""),
            d.get("ct_n", ""),
            d.get("tested_at", ""),
            str(issue.row_number),
            issue.code,
            issue.message,
        ]


def write_issues(upload: ResultUpload, out, filename: str) -> int:
    from gridroll.core.exports import write_csv, write_xlsx

    rows = issue_rows(upload)
    if filename.lower().endswith(".csv"):
        return write_csv(rows, out, header=ISSUE_HEADER)
    return write_xlsx(rows, out, title="未入库结果", header=ISSUE_HEADER)


# ------------------------------------------------------------------------------------ for residents

RESIDENT_WORDS = {
    "missing": "本轮尚未采样",
    "missed": "未在本轮采样（本轮已结束）",
    "sampled": "已采样，等待结果",
    "negative": "阴性",
    "pool_positive": "混管阳性，请居家等待单管复核，不要外出",
    "positive": "阳性，请听从工作人员安排",
    "invalid": "样本无效，请尽快重新采样",
    "exempt": "本轮免采",
}


def person_results(resident, limit: int = 3) -> list[dict]:
    """A person's latest rounds as they themselves may see them, each with the time it became so."""
    from gridroll.rollcall.models import Entry
    from gridroll.sampling.models import Round

    now = timezone.now()
    out = []
    entries = Entry.objects.filter(resident=resident).select_related("round").order_by("-round__starts_at")
    for e in entries[:limit]:
        words = RESIDENT_WORDS[e.state]
        # "Not sampled yet" promises a chance that has passed once the round is over (issue 18, item 8).
        if e.state == "missing" and (e.round.status == Round.Status.CLOSED or e.round.ends_at < now):
            words = RESIDENT_WORDS["missed"]
        out.append({"round": e.round.name, "state": e.state, "text": words, "as_of": e.updated_at})
    if out:
        return out
    # Not on any roll (a visitor): their own tubes say it.
    for s in (
        Sample.objects.filter(resident=resident, is_removed=False)
        .select_related("tube", "round")
        .order_by("-scanned_at")[:limit]
    ):
        state = {"negative": "negative", "positive": "positive" if s.tube.size == 1 else "pool_positive"}.get(
            s.tube.result, "invalid" if s.tube.result == "invalid" else "sampled"
        )
        out.append(
            {
                "round": s.round.name,
                "state": state,
                "text": RESIDENT_WORDS[state],
                "as_of": s.tube.reported_at or s.scanned_at,
            }
        )
    return out
