"""Sending text messages (one-time codes to a phone already on file).

The backend is pluggable, as Django's e-mail backends are: ``settings.SMS_BACKEND`` names a class with
``send(phone, text)``. Development prints the message on the console; tests keep messages in ``outbox``; a
deployment writes a class for its SMS gateway (docs/deployment.md) and names it in ``GRIDROLL_SMS_BACKEND``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass
class Message:
    phone: str
    text: str


# Messages "sent" by the locmem backend, newest last (tests read it, like django.core.mail.outbox).
outbox: list[Message] = []


class ConsoleBackend:
    """Prints each message on standard output, as Django's console e-mail backend does."""

    def send(self, phone: str, text: str) -> None:
        sys.stdout.write(f"[SMS to {phone}] {text}\n")
        sys.stdout.flush()


class LocmemBackend:
    """Keeps messages in ``gridroll.core.sms.outbox``."""

    def send(self, phone: str, text: str) -> None:
        outbox.append(Message(phone, text))


def send_sms(phone: str, text: str) -> None:
    backend = import_string(settings.SMS_BACKEND)()
    backend.send(phone, text)
