"""Personal code tokens: compact, Ed25519-signed, checkable offline with only a public key.

Layout (72 bytes before encoding):

    version (1) | key id (1) | code id (4, big-endian) | issued, days since 2020-01-01 (2) | signature (64)

The signature covers a domain prefix and the first 8 bytes. The text in the QR is ``GR`` followed by the
bytes in base32 without padding: upper-case letters and digits only, so the QR uses alphanumeric mode
and stays at version 5 with error correction M (readable from a cracked screen or a worn card). Nothing
personal is in the token: only a number that the server (or a scanner's synced roster) maps to a person.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import secrets
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

PREFIX = "GR"
VERSION = 1
DOMAIN = b"gridroll-personal-code-v1"
EPOCH = datetime.date(2020, 1, 1)
_HEAD = struct.Struct(">BBIH")
SIGNATURE_SIZE = 64
TOKEN_SIZE = _HEAD.size + SIGNATURE_SIZE

# Short codes are read aloud and typed by hand: no 0/O, 1/I/L, and no U (read as V on bad printers).
SHORT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


class TokenError(ValueError):
    """Scanned text that is not a well-formed gridroll code (a forgery, a damaged scan, another QR)."""


@dataclass(frozen=True)
class Token:
    key_id: int
    code_id: int
    issued: datetime.date
    signed: bytes  # the bytes the signature covers (without the domain prefix)
    signature: bytes


def new_private_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def public_key_of(private_key: bytes) -> bytes:
    return (
        Ed25519PrivateKey.from_private_bytes(private_key)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def sign(private_key: bytes, key_id: int, code_id: int, issued: datetime.date) -> str:
    """The QR text for one code."""
    head = _HEAD.pack(VERSION, key_id, code_id, (issued - EPOCH).days)
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(DOMAIN + head)
    return PREFIX + base64.b32encode(head + signature).decode("ascii").rstrip("=")


def parse(text: str) -> Token:
    """Split scanned text into its parts, without checking the signature. Raises TokenError."""
    text = text.strip().upper()
    if not text.startswith(PREFIX):
        raise TokenError("not a gridroll code")
    body = text[len(PREFIX) :]
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError):
        raise TokenError("damaged code") from None
    if len(raw) != TOKEN_SIZE:
        raise TokenError("damaged code")
    # 72 bytes fill 116 base32 characters with 4 bits to spare: only the canonical spelling is a code,
    # so that no other text (with those bits changed) passes as the same signed token.
    if base64.b32encode(raw).decode("ascii").rstrip("=") != body:
        raise TokenError("damaged code")
    version, key_id, code_id, days = _HEAD.unpack(raw[: _HEAD.size])
    if version != VERSION:
        raise TokenError("unknown code version")
    return Token(
        key_id=key_id,
        code_id=code_id,
        issued=EPOCH + datetime.timedelta(days=days),
        signed=raw[: _HEAD.size],
        signature=raw[_HEAD.size :],
    )


def verify(public_key: bytes, token: Token) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(token.signature, DOMAIN + token.signed)
    except InvalidSignature:
        return False
    return True


def _check_char(body: str) -> str:
    """Luhn mod N: catches every single mistyped character and most swapped neighbours."""
    n = len(SHORT_ALPHABET)
    factor, total = 2, 0
    for c in reversed(body):
        addend = factor * SHORT_ALPHABET.index(c)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return SHORT_ALPHABET[(n - total % n) % n]


def new_short_code() -> str:
    """Seven random characters and a check character: 'K7QX-3MHB'. About 2.2e10 possibilities."""
    body = "".join(secrets.choice(SHORT_ALPHABET) for _ in range(7))
    code = body + _check_char(body)
    return f"{code[:4]}-{code[4:]}"


def normalise_short_code(text: str) -> str | None:
    """Typed short code → canonical 'K7QX-3MHB', or None when it cannot be one (the check catches typos)."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "")
    if len(cleaned) != 8 or any(c not in SHORT_ALPHABET for c in cleaned):
        return None
    if _check_char(cleaned[:7]) != cleaned[7]:
        return None
    return f"{cleaned[:4]}-{cleaned[4:]}"
