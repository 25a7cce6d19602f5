"""A feed for 嘉明社区 as a big-data centre sends one: people "located in the area who should test but have
not", with names typed from phone calls, masked IDs, family members' phones and addresses written any way.
Made from the community's residents with the generator's error model, plus people who do not live there
and a few lines sent twice. The file is also written to var/demo/ to try the command on."""

from __future__ import annotations

import io
import random

from django.conf import settings
from django.contrib.auth.models import User
from openpyxl import Workbook

from gridroll.areas.models import Area
from gridroll.demo import synth
from gridroll.reconcile.services import create_feed, registry_rows
from gridroll.sampling.models import Round

COMMUNITY = "嘉明社区"
FEED_NAME = "11月27日大数据推送：应检未检人员（嘉明社区）"
NOTES = ("大数据推送", "通信行程卡：本区停留", "上级交办", "外地协查", "")


def feed_bytes(community: Area, lines: int = 160, seed: int = 27) -> bytes:
    residents, _ = registry_rows(community)
    by_household: dict[int, list] = {}
    for r in residents:
        by_household.setdefault(r.household_id, []).append(r)
    registry = synth.Registry(residents, by_household)
    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    sheet.title = "推送名单"
    sheet.append(["序号", "姓名", "身份证号", "联系电话", "现住址", "备注"])
    for f in synth.make_feed(registry, lines, seed=seed, outsiders=0.07, duplicates=0.03):
        sheet.append([f.line, f.name, f.id_number, f.phone, f.address, rng.choice(NOTES)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def build() -> dict:
    community = Area.objects.get(name=COMMUNITY)
    data = feed_bytes(community)
    demo_dir = settings.VAR_DIR / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    (demo_dir / "feed-jiaming.xlsx").write_bytes(data)
    round_ = Round.objects.filter(status=Round.Status.OPEN).order_by("-starts_at").first()
    feed = create_feed(
        User.objects.get(username="jiaming"),
        community,
        data,
        "feed-jiaming.xlsx",
        round_=round_,
        name=FEED_NAME,
        source="区大数据中心",
    )
    return {"feed": feed, "path": demo_dir / "feed-jiaming.xlsx"}
