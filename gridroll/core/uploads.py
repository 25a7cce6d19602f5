"""The web's upload cap: an uploaded file over ``TABLE_LIMITS["web"]["MAX_BYTES"]`` is dropped as it arrives.

Django has no per-file size limit (``FILE_UPLOAD_MAX_MEMORY_SIZE`` only decides when a file is spooled to
disk). This handler counts each file's bytes and skips the file once it passes the cap: nothing more of
it is kept in memory or on disk, the rest of the form is still read, and the view says why the file is
missing (``refused_upload``). nginx's ``client_max_body_size`` stops the same request earlier
(docs/deployment.md).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


def web_cap() -> int:
    return settings.TABLE_LIMITS["web"]["MAX_BYTES"]


class CappedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: passes chunks on to the next handlers until a file is too big."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > web_cap():
            if self.request is not None:
                self.request.refused_upload = self.file_name
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def refused_upload(request) -> str | None:
    """The Chinese message for a file this request sent over the cap, or None."""
    if request.method == "POST":
        request.FILES  # noqa: B018 - parse the upload (and count it) if nothing has yet
    name = getattr(request, "refused_upload", None)
    if name is None:
        return None
    from gridroll.core.tables import megabytes

    return (
        f"文件“{name}”超过网页上传上限 {megabytes(web_cap())}，未保存。"
        "请把表格分成几份上传，或由管理员在服务器上用命令行导入（见 docs/import.md）。"
    )
