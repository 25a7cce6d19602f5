"""Codes issued per second, beside their floors, and the size of the QR.

Floors, per code: an Ed25519 signature alone; signature + QR encoding + SVG (what a card needs). Real:
``issue_codes`` for a district of ``--residents`` (signature, unique serial and short code, the rows
and one audit record each), in rounds A B A B. Run by bench/run.py against one database.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from gridroll.codes.models import PersonalCode  # noqa: E402
from gridroll.codes.qr import qr_info, qr_svg  # noqa: E402
from gridroll.codes.services import issue_codes  # noqa: E402
from gridroll.lib import signing  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402

FLOOR_N = 5000


def floor_sign() -> float:
    key = signing.new_private_key()
    day = datetime.date.today()
    started = time.perf_counter()
    for i in range(FLOOR_N):
        signing.sign(key, 1, i, day)
    return FLOOR_N / (time.perf_counter() - started)


def floor_sign_qr() -> float:
    key = signing.new_private_key()
    day = datetime.date.today()
    n = FLOOR_N // 5
    started = time.perf_counter()
    for i in range(n):
        qr_svg(signing.sign(key, 1, i, day), scale=4)
    return n / (time.perf_counter() - started)


def real_issue() -> tuple[float, int]:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM codes_personalcode")
        cursor.execute("DELETE FROM audit_auditrecord WHERE action = 'code.issue'")
    started = time.perf_counter()
    issued = issue_codes(Resident.objects.all(), reason="bench")
    elapsed = time.perf_counter() - started
    total = Resident.objects.count()
    # Correctness: everyone has exactly one current code, no serial or short code twice.
    assert issued == total == PersonalCode.objects.filter(revoked_at__isnull=True).count(), (issued, total)
    assert PersonalCode.objects.values("serial").distinct().count() == total
    return issued / elapsed, issued


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if not Resident.objects.exists():
        from generate_district import generate

        generate(residents=args.residents, quiet=True)
    rates: dict[str, list[float]] = {"sign": [], "sign_qr_svg": [], "issue": []}
    for _ in range(args.rounds):
        rates["sign"].append(floor_sign())
        rates["issue"].append(real_issue()[0])
        rates["sign_qr_svg"].append(floor_sign_qr())
    vendor = connection.vendor
    for name, values in rates.items():
        prefix = "codes" if name != "issue" else f"codes.{vendor}"
        print(
            json.dumps(
                {
                    "name": f"{prefix}.{name}_per_s",
                    "value": round(statistics.median(values)),
                    "unit": "codes/s",
                    "runs": [round(v) for v in values],
                }
            )
        )
    token = PersonalCode.objects.first().token
    info = qr_info(token)
    print(
        json.dumps(
            {"name": "codes.qr_version", "value": info["version"], "unit": f"version (EC {info['error']})"}
        )
    )
    print(json.dumps({"name": "codes.qr_modules", "value": info["modules"], "unit": "modules per side"}))
    print(json.dumps({"name": "codes.token_chars", "value": len(token), "unit": "characters"}))
    print(json.dumps({"name": "codes.qr_svg_bytes", "value": len(qr_svg(token, scale=4)), "unit": "bytes"}))


if __name__ == "__main__":
    main()
