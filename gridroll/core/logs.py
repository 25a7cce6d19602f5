"""Log lines without private link secrets, ID numbers or phone numbers.

A request line such as ``GET /residents/?q=37150219660912986X`` or ``GET /me/<secret>/`` would put an ID
number or the key to a resident's page into every access log, log shipper and backup. ``scrub`` masks
them; ``ScrubFilter`` applies it to Django's loggers (runserver's request lines, errors), and
``GunicornLogger`` to gunicorn's access log (docs/deployment.md shows the configuration).
"""

from __future__ import annotations

import logging
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


class GunicornLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's logger, with every access-log atom that can carry a URL scrubbed (``--logger-class``)."""

    URL_ATOMS = ("r", "U", "q", "f", "{raw_uri}e")

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict:
        values = super().atoms(resp, req, environ, request_time)
        for key in list(values):
            url_like = key in self.URL_ATOMS or key.lower() in ("{referer}i", "{raw_uri}e")
            if url_like and isinstance(values[key], str):
                values[key] = scrub(values[key])
        return values
