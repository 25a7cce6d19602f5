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
