"""One base for the errors a service refuses with: a stable code (for the API, the logs and the docs'
list, docs/errors.md) and a message in the user's language.

    class BoxError(DomainError):
        MESSAGES = {"box_sealed": gettext_lazy("This box is already sealed.")}

    raise BoxError("box_sealed")
    raise BoxError("tube_packed", box="XA-0001")   # %(box)s in the message

Messages are lazy: they are translated when shown, in the language of whoever reads them.
"""

from __future__ import annotations

from typing import ClassVar

from django.utils.functional import Promise


class DomainError(Exception):
    MESSAGES: ClassVar[dict[str, str | Promise]] = {}

    def __init__(self, code: str, message: str | Promise | None = None, **params) -> None:
        if message is None:
            if code not in self.MESSAGES:
                raise KeyError(f"{type(self).__name__} has no message for {code!r}")
            message = self.MESSAGES[code]
        self.code = code
        self.params = params
        self._message = message
        super().__init__(code)

    @property
    def message(self) -> str:
        text = str(self._message)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        return self.message
