"""Log lines without private link secrets, ID numbers or phone numbers.

A request line such as ``GET /residents/?q=37150219660912986X`` or ``GET /me/<secret>/`` would put an ID
number or the key to a resident's page into every access log, log shipper and backup. ``scrub`` masks
them; ``ScrubFilter`` applies it to Django's loggers (runserver's request lines, errors), and
``GunicornLogger`` to gunicorn's access log (docs/deployment.md shows the configuration).

With ``LOG_FORMAT=json`` both write one JSON object a line (``JsonFormatter``, ``GunicornLogger``), for a
log shipper to index by field instead of parsing text; the same scrubbing applies before a field is
written.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
from typing import Any
from urllib.parse import unquote

try:  # gunicorn is a deployment dependency (and a dev one), not needed to import this module
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object  # type: ignore[assignment,misc]

# Paths whose next segment is a secret: a resident's private link; a site's registration token.
_SECRET_PATHS = re.compile(r"(/(?:me|register/s)/)[^/?#\s\"]+")
# The search box's text (a name, an ID, a phone, an address): never worth a log line.
_SEARCH = re.compile(r"([?&]q=)[^&#\s\"]*")
# 18-digit resident ID numbers (the last may be X), 15-digit legacy ones, mainland mobiles.
_ID18 = re.compile(r"(?<![0-9])([1-9][0-9]{5})[0-9]{11}[0-9Xx](?![0-9Xx])")
_ID15 = re.compile(r"(?<![0-9])([1-9][0-9]{5})[0-9]{9}(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{8}(?![0-9])")


def scrub(text: str) -> str:
    """``text`` with private link secrets and search terms replaced by ``…`` and ID and phone numbers
    masked (``371502************``, ``138********``)."""
    if not text:
        return text
    if "%" in text:
        # An ID typed with full-width digits or spaces arrives percent-encoded.
        text = unquote(text)
    text = _SECRET_PATHS.sub(r"\1…", text)
    text = _SEARCH.sub(r"\1…", text)
    text = _ID18.sub(lambda m: m.group(1) + "*" * 12, text)
    text = _ID15.sub(lambda m: m.group(1) + "*" * 9, text)
    return _MOBILE.sub(lambda m: m.group(1) + "*" * 8, text)


class ScrubFilter(logging.Filter):
    """Masks what ``scrub`` masks in a record's message and arguments (Django's request logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: scrub(v) if isinstance(v, str) else v for k, v in record.args.items()}
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "META"):
            # The error emails and tracebacks Django builds from the request: no query string in them.
            request.META["QUERY_STRING"] = scrub(request.META.get("QUERY_STRING", ""))
        return True


def json_logs() -> bool:
    return os.environ.get("LOG_FORMAT", "").lower() == "json"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, and for a request's record its method,
    path and status. Use it behind ``ScrubFilter``: the message is scrubbed again here all the same,
    since a formatter may see records from loggers the filter is not on."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            out["method"], out["path"] = request.method, scrub(getattr(request, "path", ""))
        status = getattr(record, "status_code", None)
        if status is not None:
            out["status"] = status
        if record.exc_info:
            out["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


class GunicornLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's logger, with every access-log atom that can carry a URL scrubbed (``--logger-class``);
    with ``LOG_FORMAT=json`` each access line is a JSON object of named fields."""

    URL_ATOMS = ("r", "U", "q", "f", "{raw_uri}e")
    # gunicorn's atoms, by the names a log shipper indexes them under (no query string, no referer).
    JSON_FIELDS = {"h": "remote", "m": "method", "U": "path", "H": "protocol", "s": "status", "B": "bytes",
                   "M": "ms", "a": "user_agent"}  # fmt: skip

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if not json_logs():
            return super().access(resp, req, environ, request_time)
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict or self.cfg.syslog):
            return None
        atoms = self.atoms(resp, req, environ, request_time)
        line: dict[str, Any] = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        }
        for atom, name in self.JSON_FIELDS.items():
            value = atoms.get(atom)
            numeric = name in ("status", "bytes", "ms") and str(value).isdigit()
            line[name] = int(str(value)) if numeric else value
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:  # gunicorn's own rule: a log line never takes a request down
            self.error("Failed to format access log line")
        return None

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict:
        values = super().atoms(resp, req, environ, request_time)
        for key in list(values):
            url_like = key in self.URL_ATOMS or key.lower() in ("{referer}i", "{raw_uri}e")
            if url_like and isinstance(values[key], str):
                values[key] = scrub(values[key])
        return values
