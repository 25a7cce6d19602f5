"""Responses shared by the apps' downloads."""

from urllib.parse import quote

from django.http import HttpResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(content: bytes, filename: str, content_type: str = XLSX, inline: bool = False) -> HttpResponse:
    """A file with its (Chinese) name intact in every browser (RFC 6266 ``filename*``)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(filename)}"
    )
    return response


def safe_next(request, fallback: str) -> str:
    """The ``next`` a form sent, if it points into this site; ``fallback`` (a URL or URL name) otherwise.

    An off-site ``next`` (``https://evil.example/``, ``//evil.example``) would turn any of our forms into
    a redirector for phishing.
    """
    from django.utils.http import url_has_allowed_host_and_scheme

    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback


def param_int(request, name: str, method: str = "GET") -> int | None:
    """An integer query (or form) parameter: None when absent or empty, 400 when it is not a number.

    ``int(request.GET["round"])`` on ``?round=abc`` was a 500 (and, with DEBUG on, a page of internals).
    """
    import re

    from django.core.exceptions import BadRequest

    value = (request.GET if method == "GET" else request.POST).get(name, "").strip()
    if not value:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", value):
        raise BadRequest(f"{name} must be a number")
    return int(value)
