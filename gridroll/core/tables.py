"""The one reader of uploaded tables (.xlsx, .xlsm, .xls, .ods, .csv) for every upload and command.

Whatever a file claims about itself, reading it stays within limits set in settings (docs/deployment.md
lists them with their defaults):

- its size in bytes (``max_bytes``) is checked before anything is parsed;
- a zipped workbook (.xlsx, .xlsm, .ods) is refused when its parts would inflate more than
  ``max_zip_ratio`` times or to more than ``max_unzipped`` bytes in all (a zip bomb);
- rows beyond ``max_rows`` and columns beyond ``max_columns`` refuse the file;
- a workbook is parsed in a forked child process whose address space and CPU time are capped
  (``TABLE_PARSE_MEMORY``, ``TABLE_PARSE_SECONDS``). calamine builds a sheet as a dense grid from its
  first to its last cell, and a file of 1.5 KB with one cell in A1 and one in XFD1048576 asks for half a
  terabyte: Rust then aborts the whole process. In the child that abort costs the child alone, and the
  file is refused. Nothing a sheet declares (its ``<dimension>``, its parts' sizes) is trusted.
- a CSV file is read in this process as a stream (UTF-8, or GB18030 as Excel saves it).

Every refusal is a ``TableError`` with a stable code and a Chinese message that says what to do, raised
before the caller stored anything.

Rows come out as they are read (``Table.rows``); the header row is found in one place
(``Table.header``), the same way for the registry, lab results and lists to check.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import faulthandler
import io
import os
import pickle
import resource
import select
import struct
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, TypeVar

from django.conf import settings
from python_calamine import CalamineError, load_workbook

T = TypeVar("T")

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
ZIPPED_SUFFIXES = (".xlsx", ".xlsm", ".ods")
TEXT_SUFFIXES = (".csv", ".txt")
# How many rows of a sheet may sit above the header row (a title such as 盛世佳苑小区居民信息表).
HEADER_SEARCH_ROWS = 10
# Rows travel from the parsing child in batches of this many.
BATCH = 2000
# A cell longer than this is refused (no column of ours holds more than a few hundred characters).
MAX_CELL_CHARS = 32_767  # Excel's own limit


class TableError(Exception):
    """The file as a whole cannot be read or is over a limit (not a row problem). ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_columns: int
    max_zip_ratio: int
    max_unzipped: int
    parse_memory: int
    parse_seconds: int
    where: str  # "web" or "command": the messages say what to do next


def limits(where: str = "web") -> Limits:
    """The limits for a page upload (``web``) or a management command (``command``), from settings."""
    caps = settings.TABLE_LIMITS[where]
    return Limits(
        max_bytes=caps["MAX_BYTES"],
        max_rows=caps["MAX_ROWS"],
        max_columns=caps["MAX_COLUMNS"],
        max_zip_ratio=settings.TABLE_MAX_ZIP_RATIO,
        max_unzipped=caps["MAX_UNZIPPED"],
        parse_memory=settings.TABLE_PARSE_MEMORY,
        parse_seconds=settings.TABLE_PARSE_SECONDS,
        where=where,
    )


def megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _hint(lim: Limits) -> str:
    if lim.where == "web":
        return "；更大的文件请分成几份，或由管理员在服务器上用命令行导入（见 docs/import.md）"
    return ""


def too_large(size: int, lim: Limits) -> TableError:
    cap = megabytes(lim.max_bytes)
    return TableError("file_too_large", f"文件大小 {megabytes(size)}，超过上限 {cap}{_hint(lim)}")


# --------------------------------------------------------------------------------------------- opening


Source = str | Path | bytes | IO[bytes]


def _open(source: Source) -> tuple[IO[bytes], int, bool]:
    """A seekable binary handle, its size, and whether we opened it (and must close it)."""
    if isinstance(source, bytes):
        return io.BytesIO(source), len(source), True
    if isinstance(source, str | Path):
        handle = open(source, "rb")  # noqa: SIM115 - closed by Table.close
        return handle, os.fstat(handle.fileno()).st_size, True
    handle = source
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    return handle, size, False


class Table:
    """An open table: rows are read lazily, within the limits. Use as a context manager."""

    def __init__(self, source: Source, filename: str = "", lim: Limits | None = None) -> None:
        self.limits = lim or limits("web")
        name = (filename or (str(source) if isinstance(source, str | Path) else "")).lower()
        if not name.endswith(WORKBOOK_SUFFIXES + TEXT_SUFFIXES):
            raise TableError("unsupported_file", "只支持 .xlsx、.xls、.ods 和 .csv 文件")
        self.name = name
        self.handle, self.size, self._owned = _open(source)
        self._buffer: list[list[Any]] = []  # rows read while looking for the header
        self._iter: Iterator[list[Any]] | None = None
        self._next_number = 1  # 1-based row number of the next row out of the buffer or iterator
        self.header_number = 0
        try:
            if self.size > self.limits.max_bytes:
                raise too_large(self.size, self.limits)
            if name.endswith(ZIPPED_SUFFIXES):
                check_zip(self.handle, self.limits)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._iter is not None and hasattr(self._iter, "close"):
            self._iter.close()
        if self._owned:
            self.handle.close()

    def _raw(self) -> Iterator[list[Any]]:
        if self._iter is None:
            if self.name.endswith(TEXT_SUFFIXES):
                self._iter = _csv_rows(self.handle, self.limits)
            else:
                self._iter = _workbook_rows(self.handle, self.limits)
        return self._iter

    def header(
        self, match: Callable[[list[Any]], T | None], search_rows: int = HEADER_SEARCH_ROWS
    ) -> T | None:
        """The first of the top ``search_rows`` rows for which ``match`` answers something, or None.

        ``match`` may raise TableError (a header it recognises but refuses). The rows after the header
        are then what ``rows()`` yields.
        """
        raw = self._raw()
        while len(self._buffer) < search_rows:
            row = next(raw, None)
            if row is None:
                break
            self._buffer.append(row)
        for index, row in enumerate(self._buffer):
            found = match(row)
            if found is not None:
                self.header_number = index + 1
                self._buffer = self._buffer[index + 1 :]
                self._next_number = index + 2
                return found
        return None

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(1-based row number as the spreadsheet shows it, cells) for every row after the header."""
        number = self._next_number
        buffered, self._buffer = self._buffer, []
        for row in buffered:
            yield number, row
            number += 1
        for row in self._raw():
            yield number, row
            number += 1


def open_table(source: Source, filename: str = "", lim: Limits | None = None) -> Table:
    return Table(source, filename, lim)


def read_rows(source: Source, filename: str = "", lim: Limits | None = None) -> list[list[Any]]:
    """Every row of the first sheet, within the limits (for small files and the benchmark's floor)."""
    with Table(source, filename, lim) as table:
        return [row for _number, row in table.rows()]


# ------------------------------------------------------------------------------------------ zip bombs


def check_zip(handle: IO[bytes], lim: Limits) -> None:
    """Refuse a zipped workbook whose parts, as its directory declares them, inflate too far.

    The declared sizes may lie; then the parsing child's memory cap stops it (see module docstring).
    """
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
    except Exception as exc:  # zipfile raises many kinds on a damaged file (found by fuzzing)
        raise TableError("unreadable_file", f"无法读取文件（不是有效的 Excel 文件）：{exc}") from None
    finally:
        handle.seek(0)
    if len(infos) > 10_000:
        raise TableError("zip_bomb", "文件内部结构异常（部件过多），已拒绝读取")
    total = 0
    for info in infos:
        total += info.file_size
        # Tiny parts (styles, a one-line sheet) have meaningless ratios; large ones must not balloon.
        if info.file_size > 1024 * 1024 and info.file_size > lim.max_zip_ratio * max(info.compress_size, 1):
            raise TableError(
                "zip_bomb",
                f"文件解压后膨胀 {info.file_size // max(info.compress_size, 1)} 倍"
                f"（上限 {lim.max_zip_ratio} 倍），疑似压缩炸弹，已拒绝读取",
            )
    if total > lim.max_unzipped:
        raise TableError(
            "zip_bomb",
            f"文件解压后共 {megabytes(total)}，"
            f"超过上限 {megabytes(lim.max_unzipped)}，已拒绝读取{_hint(lim)}",
        )


# ------------------------------------------------------------------------------------------------ CSV


def _csv_encoding(handle: IO[bytes]) -> str:
    """UTF-8 (with or without a BOM) if every byte decodes as such, otherwise GB18030 (Excel's "CSV")."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := handle.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "gb18030"
    handle.seek(0)
    return encoding


def _csv_rows(handle: IO[bytes], lim: Limits) -> Iterator[list[Any]]:
    encoding = _csv_encoding(handle)
    text = io.TextIOWrapper(handle, encoding=encoding, newline="", errors="strict")
    try:
        reader = csv.reader(text)
        count = 0
        try:
            for row in reader:
                count += 1
                _check_row(row, count, lim)
                yield row
        except UnicodeDecodeError:
            raise TableError("unreadable_file", "无法识别文件编码，请另存为 UTF-8 CSV 或 .xlsx") from None
        except csv.Error as exc:
            raise TableError("unreadable_file", f"CSV 格式错误（第{reader.line_num}行）：{exc}") from None
    finally:
        # The caller's handle stays open: TextIOWrapper would close it with itself.
        text.detach()


def _check_row(row: list[Any], count: int, lim: Limits) -> None:
    if count > lim.max_rows + HEADER_SEARCH_ROWS:
        raise TableError("too_many_rows", f"表格超过 {lim.max_rows} 行的上限{_hint(lim)}")
    if len(row) > lim.max_columns:
        raise TableError("too_many_columns", f"第{count}行有 {len(row)} 列，超过 {lim.max_columns} 列的上限")


csv.field_size_limit(MAX_CELL_CHARS + 1)


# ------------------------------------------------------------------------------------------ workbooks


def _workbook_rows(handle: IO[bytes], lim: Limits) -> Iterator[list[Any]]:
    """Rows of the first sheet, parsed by calamine in a capped child process (in this one without fork)."""
    if not hasattr(os, "fork") or not settings.TABLE_PARSE_IN_CHILD:
        yield from _parse_workbook(handle, lim)
        return
    data_read, data_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: parse, send batches, never return into the caller's code
        status = 0
        try:
            os.close(data_read)
            # An abort in the child (the point of having one) prints nothing on the worker's stderr.
            faulthandler.disable()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            _cap_child(lim)
            with os.fdopen(data_write, "wb", buffering=1 << 20) as out:
                try:
                    batch: list[list[Any]] = []
                    for row in _parse_workbook(handle, lim):
                        batch.append(row)
                        if len(batch) >= BATCH:
                            _send(out, ("rows", batch))
                            batch = []
                    _send(out, ("rows", batch))
                    _send(out, ("end", None))
                except TableError as exc:
                    _send(out, ("error", (exc.code, exc.message)))
                except MemoryError:
                    _send(out, ("memory", None))
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(data_write)
    finished = False
    try:
        with _Pipe(data_read, lim.parse_seconds) as incoming:
            while True:
                message = _receive(incoming)
                if message is None:
                    break
                kind, payload = message
                if kind == "rows":
                    yield from payload
                elif kind == "end":
                    finished = True
                    break
                elif kind == "error":
                    raise TableError(*payload)
                else:
                    break
    finally:
        if not finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        os.waitpid(pid, 0)
    if not finished:
        raise TableError(
            "unreadable_file",
            "读取文件时超出内存或时间上限（文件可能声明了异常大的表格范围，或已损坏），已拒绝读取；"
            "请在 Excel 中另存为新文件后重试",
        )


def _cap_child(lim: Limits) -> None:
    """Address space: what the process already maps plus ``parse_memory``; CPU: ``parse_seconds``."""
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        mapped = 0
    cap = mapped + lim.parse_memory
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CPU, (lim.parse_seconds, lim.parse_seconds + 1))


def _send(out: IO[bytes], message: tuple) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(struct.pack("!Q", len(data)))
    out.write(data)


class _Pipe:
    """The child's end of the pipe, read with a wall-clock limit: a child stuck without using CPU (and so
    never stopped by RLIMIT_CPU) is given up on after ``seconds`` of silence."""

    def __init__(self, fd: int, seconds: int) -> None:
        self.fd = fd
        self.seconds = seconds

    def __enter__(self) -> _Pipe:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def read(self, n: int) -> bytes:
        parts: list[bytes] = []
        while n > 0:
            ready, _w, _x = select.select([self.fd], [], [], self.seconds)
            if not ready:
                break
            chunk = os.read(self.fd, min(n, 1 << 20))
            if not chunk:
                break
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)


def _receive(incoming: Any) -> tuple | None:
    head = incoming.read(8)
    if len(head) < 8:
        return None
    (length,) = struct.unpack("!Q", head)
    data = incoming.read(length)
    if len(data) < length:
        return None
    # Only our own child writes to this pipe.
    return pickle.loads(data)


def _parse_workbook(handle: IO[bytes], lim: Limits) -> Iterator[list[Any]]:
    try:
        book = load_workbook(handle)
        sheet = book.get_sheet_by_index(0)
    except (CalamineError, ValueError, OSError) as exc:
        raise TableError("unreadable_file", f"无法读取文件：{exc}") from None
    end = sheet.end or (0, 0)
    start = sheet.start or (0, 0)
    if end[0] + 1 > lim.max_rows + HEADER_SEARCH_ROWS:
        raise TableError("too_many_rows", f"表格有 {end[0] + 1} 行，超过 {lim.max_rows} 行的上限{_hint(lim)}")
    if end[1] + 1 > lim.max_columns:
        raise TableError("too_many_columns", f"表格有 {end[1] + 1} 列，超过 {lim.max_columns} 列的上限")
    # iter_rows starts at row 1 but at the first column that has data: pad, so positions are the sheet's.
    left = [""] * start[1]
    # calamine returns numbers as floats: ID and phone columns are turned back into text by the callers.
    # A cell's length is bounded by the sheet's inflated size, checked before; a CSV's by the csv module.
    if left:
        for row in sheet.iter_rows():
            yield left + row
    else:
        yield from sheet.iter_rows()


def with_rows(lim: Limits, max_rows: int) -> Limits:
    """The same limits with another row cap (a page that allows fewer rows than the upload cap)."""
    return replace(lim, max_rows=min(lim.max_rows, max_rows))
