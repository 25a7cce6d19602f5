"""Generated registries and feed lists with a known truth, for training, tests and the benchmark.

The error model follows what frontline staff describe and what the lists show: a name typed from a
phone call (a same-sound character, a surname confused 张/章, 王/汪, 徐/许), a look-alike character, a
dropped or swapped character; an ID number masked, missing or with one digit mistyped; a phone one digit
off or a family member's; an address written any way (3号楼, 3栋, 3#, 三号楼), without its compound, with
a building or room number off by one; people who are not in the registry at all; the same person twice.

    python -m gridroll.demo.synth --residents 50000 --lines 5000          # precision and recall
    python -m gridroll.demo.synth --train                                 # re-estimate parameters.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from gridroll.demo.people import FEMALE_CHARS, MALE_CHARS, PeopleFactory
from gridroll.lib import address as addresslib
from gridroll.lib import names
from gridroll.lib.text import CHINESE_DIGITS
from gridroll.reconcile.features import ResidentRow

_COMPOUNDS = (
    "盛世佳苑 阳光花园 锦绣家园 幸福里 金色家园 东昌花园 水城明珠 湖畔人家 御景苑 星光城 和平里 建设新村 "
    "柳园新村 光明小区 丽水华庭 百花苑 文苑小区 兴华苑 聚龙湾 凤凰城 东关街 古楼北苑 铁塔商城 运河人家 "
    "龙山花园 新华家园 民生小区 龙湾苑 紫荆花园 翠园 香江丽景 金鼎华庭 嘉明苑 府前街 昌润新城"
)
COMPOUND_WORDS = _COMPOUNDS.split(" ")
SURNAME_CONFUSIONS = {"张": "章", "章": "张", "王": "汪", "汪": "王", "徐": "许", "许": "徐", "李": "黎"}
_NUM_WORDS = "零一二三四五六七八九"


@cache
def common_chars() -> str:
    """The 3,755 characters of GB 2312 level 1: the characters people actually mistype into."""
    out = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                out.append(bytes((hi, lo)).decode("gb2312"))
    return "".join(out)


_KEYS = {"sound": 0, "fuzzy": 1, "shape": 2}


@cache
def _groups(kind: str) -> dict[str, list[str]]:
    """The common characters grouped by sound, by fuzzy sound or by four-corner shape."""
    groups: dict[str, list[str]] = defaultdict(list)
    for ch in dict.fromkeys(common_chars() + MALE_CHARS + FEMALE_CHARS):
        groups[names.char_keys(ch)[_KEYS[kind]]].append(ch)
    return groups


def _others(kind: str, ch: str) -> list[str]:
    return [c for c in _groups(kind).get(names.char_keys(ch)[_KEYS[kind]], ()) if c != ch]


def homophone(ch: str, rng: random.Random) -> str | None:
    pool = _others("sound", ch)
    return rng.choice(pool) if pool else None


def accented(ch: str, rng: random.Random) -> str | None:
    """A character as a speaker who merges zh/z, n/l or -ng/-n would write it (张 → 赞)."""
    sound = names.char_sound(ch)
    pool = [c for c in _others("fuzzy", ch) if names.char_sound(c) != sound]
    return rng.choice(pool) if pool else None


def lookalike(ch: str, rng: random.Random) -> str | None:
    pool = _others("shape", ch)
    return rng.choice(pool) if pool else None


@dataclass
class Registry:
    residents: list[ResidentRow]
    by_household: dict[int, list[ResidentRow]]


def make_registry(size: int, seed: int = 7, compounds: int | None = None) -> Registry:
    """``size`` residents in compounds of ~2,000 people, buildings of 3–6 entrances × 6–18 floors."""
    rng = random.Random(seed)
    factory = PeopleFactory(seed=seed, regions=("371502", "371521", "371522", "371523", "371524", "371581"))
    n_compounds = compounds or max(1, size // 2000)
    compound_names = [
        COMPOUND_WORDS[i % len(COMPOUND_WORDS)]
        + ("" if i < len(COMPOUND_WORDS) else f"{i // len(COMPOUND_WORDS) + 1}期")
        for i in range(n_compounds)
    ]
    residents: list[ResidentRow] = []
    by_household: dict[int, list[ResidentRow]] = {}
    used: dict[str, set[int]] = defaultdict(set)
    household_id = building_id = 0
    rid = 0
    while len(residents) < size:
        for compound in compound_names:
            if len(residents) >= size:
                break
            building_id += 1
            taken = used[compound]
            number = str(rng.choice([n for n in range(1, len(taken) + 41) if n not in taken]))
            taken.add(int(number))
            entrances = rng.randint(2, 6)
            for _ in range(rng.randint(10, 30)):
                household_id += 1
                entrance = str(rng.randint(1, entrances))
                room = f"{rng.randint(1, 18)}0{rng.randint(1, 4)}"
                members = []
                for p in factory.household():
                    rid += 1
                    row = ResidentRow(
                        id=rid,
                        name=p.name,
                        document_number=p.document_number,
                        birth_date=p.birth_date,
                        phone=p.phone,
                        household_id=household_id,
                        building_id=building_id,
                        compound=addresslib.compound_key(compound),
                        building=number,
                        entrance=entrance,
                        room=room,
                        grid_id=building_id % 7,
                        status=p.status,
                        sex=p.sex,
                    )
                    members.append(row)
                residents.extend(members)
                by_household[household_id] = members
    del residents[size:]
    return Registry(residents, by_household)


@dataclass
class FeedLine:
    line: int
    name: str
    id_number: str
    phone: str
    address: str
    truth: int | None  # the resident's id; None for someone not in the registry
    errors: tuple[str, ...]


def _name_error(name: str, rng: random.Random, errors: list[str]) -> str:
    r = rng.random()
    if r < 0.07 and len(name) >= 2:
        i = rng.randrange(1, len(name))
        ch = homophone(name[i], rng)
        if ch:
            errors.append("name_sound")
            return name[:i] + ch + name[i + 1 :]
    elif r < 0.10 and name[0] in SURNAME_CONFUSIONS:
        errors.append("surname_confusion")
        return SURNAME_CONFUSIONS[name[0]] + name[1:]
    elif r < 0.125 and len(name) >= 2:
        i = rng.randrange(0, len(name))
        ch = lookalike(name[i], rng)
        if ch:
            errors.append("name_shape")
            return name[:i] + ch + name[i + 1 :]
    elif r < 0.14 and len(name) >= 3:
        errors.append("name_dropped")
        i = rng.randrange(1, len(name))
        return name[:i] + name[i + 1 :]
    elif r < 0.15 and len(name) >= 3:
        errors.append("name_swapped")
        return name[0] + name[2] + name[1] + name[3:]
    elif r < 0.16 and len(name) >= 2:
        i = rng.randrange(1, len(name))
        ch = accented(name[i], rng)
        if ch:
            errors.append("name_accent")
            return name[:i] + ch + name[i + 1 :]
    return name


def _id_cell(doc: str, rng: random.Random, errors: list[str]) -> str:
    if not doc:
        return ""
    r = rng.random()
    if r < 0.35:
        errors.append("id_missing")
        return ""
    if r < 0.60:
        errors.append("id_masked")
        return doc[:6] + "*" * 8 + doc[-4:] if rng.random() < 0.8 else doc[:4] + "*" * 10 + doc[-4:]
    if r < 0.65:
        errors.append("id_digit")
        i = rng.randrange(0, 17)
        d = str((int(doc[i]) + rng.randint(1, 9)) % 10)
        return doc[:i] + d + doc[i + 1 :]
    return doc


def _phone_cell(person: ResidentRow, family: list[ResidentRow], rng: random.Random, errors: list[str]) -> str:
    r = rng.random()
    own = person.phone
    others = [m.phone for m in family if m.phone and m.id != person.id]
    if (not own or r < 0.12) and others:
        errors.append("phone_household")
        return rng.choice(others)
    if not own or r < 0.22:
        errors.append("phone_missing")
        return ""
    if r < 0.26:
        errors.append("phone_digit")
        i = rng.randrange(3, 11)
        return own[:i] + str((int(own[i]) + rng.randint(1, 9)) % 10) + own[i + 1 :]
    return own


def _building_text(number: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.4:
        return f"{number}号楼"
    if style < 0.6:
        return f"{number}栋"
    if style < 0.75:
        return f"{number}#"
    if number.isdigit() and int(number) < 100:
        n = int(number)
        words = (
            _NUM_WORDS[n]
            if n < 10
            else ("" if n < 20 else _NUM_WORDS[n // 10]) + "十" + (_NUM_WORDS[n % 10] if n % 10 else "")
        )
        assert all(c in CHINESE_DIGITS or c == "十" for c in words)
        return f"{words}号楼"
    return f"{number}号楼"


def _address_cell(p: ResidentRow, rng: random.Random, errors: list[str]) -> str:
    if rng.random() < 0.35:
        errors.append("address_missing")
        return ""
    building, room = p.building, p.room
    r = rng.random()
    if r < 0.03:
        errors.append("building_off")
        building = str(max(1, int(building) + rng.choice((-1, 1))))
    elif r < 0.06:
        errors.append("room_off")
        room = room[:-1] + str((int(room[-1]) + 1) % 10)
    compound = p.compound
    if rng.random() < 0.25:
        errors.append("compound_missing")
        compound = ""
    elif rng.random() < 0.3:
        compound = (
            rng.choice(("聊城市东昌府区", "古楼街道", "山东省聊城市")) + compound + rng.choice(("", "小区"))
        )
    if rng.random() < 0.05:
        # Only the building: a list made from a location report, or by someone who did not ask.
        errors.append("room_missing")
        return f"{compound or p.compound}{_building_text(building, rng)}"
    if rng.random() < 0.5:
        return f"{compound}{_building_text(building, rng)}{p.entrance}单元{room}"
    return f"{compound}{building}-{p.entrance}-{room}"


def make_feed(
    registry: Registry, lines: int, seed: int = 11, outsiders: float = 0.08, duplicates: float = 0.03
) -> list[FeedLine]:
    """A list of ``lines`` with a truth: most lines are residents written with errors, some are not."""
    rng = random.Random(seed)
    stranger_factory = PeopleFactory(seed=seed + 1000, regions=("371502", "110105", "410105"))
    out: list[FeedLine] = []
    for index in range(1, lines + 1):
        if out and rng.random() < duplicates:
            src = rng.choice(out)
            out.append(
                FeedLine(index, src.name, src.id_number, src.phone, src.address, src.truth, ("duplicate",))
            )
            continue
        errors: list[str] = []
        if rng.random() < outsiders:
            stranger = stranger_factory.person(rng.choice("MF"), 18, 70)
            some = rng.choice(registry.residents)
            fake = ResidentRow(
                0,
                stranger.name,
                stranger.document_number,
                stranger.birth_date,
                stranger.phone or "",
                None,
                None,
                some.compound,
                some.building,
                some.entrance,
                some.room,
            )
            out.append(
                FeedLine(
                    index,
                    stranger.name,
                    _id_cell(stranger.document_number, rng, []),
                    stranger.phone if rng.random() < 0.85 else "",
                    _address_cell(fake, rng, []),
                    None,
                    ("outsider",),
                )
            )
            continue
        p = rng.choice(registry.residents)
        family = registry.by_household.get(p.household_id or 0, [p])
        name = _name_error(p.name, rng, errors)
        id_cell = _id_cell(p.document_number, rng, errors)
        phone = _phone_cell(p, family, rng, errors)
        address = _address_cell(p, rng, errors)
        if not (id_cell or phone or address):
            # A list carries something besides the name (a name alone cannot be checked by anyone): the
            # phone the person was located by, or the address they gave.
            errors.remove("address_missing")
            address = _address_cell(p, rng, errors) or f"{p.compound}{p.building}号楼{p.entrance}单元{p.room}"
        out.append(FeedLine(index, name, id_cell, phone, address, p.id, tuple(errors)))
    return out


# ------------------------------------------------------------------------------------------ evaluation


@dataclass
class Score:
    lines: int
    in_registry: int
    auto: int
    auto_correct: int
    rest: int  # lines with a true match that were not matched automatically
    rest_top3: int
    outsiders_auto: int
    seconds: float

    @property
    def precision(self) -> float:
        return self.auto_correct / self.auto if self.auto else 1.0

    @property
    def recall(self) -> float:
        return self.auto_correct / self.in_registry if self.in_registry else 1.0

    @property
    def top3(self) -> float:
        return self.rest_top3 / self.rest if self.rest else 1.0

    def as_dict(self) -> dict:
        return {
            "lines": self.lines,
            "in_registry": self.in_registry,
            "auto": self.auto,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "review_with_truth": self.rest,
            "top3": round(self.top3, 4),
            "outsiders_matched": self.outsiders_auto,
            "seconds": round(self.seconds, 2),
        }


def evaluate(registry: Registry, feed: list[FeedLine], **kwargs) -> tuple[Score, dict]:
    from gridroll.reconcile.matching import match_lines

    started = time.perf_counter()
    result = match_lines([_input(f) for f in feed], registry.residents, **kwargs)
    seconds = time.perf_counter() - started
    auto = auto_correct = rest = rest_top3 = outsiders_auto = 0
    misses: dict[str, int] = defaultdict(int)
    for f in feed:
        m = result[f.line]
        if m.resident_id is not None and m.automatic:
            auto += 1
            if m.resident_id == f.truth:
                auto_correct += 1
            elif f.truth is None:
                outsiders_auto += 1
            else:
                misses["wrong:" + "+".join(f.errors)] += 1
        elif f.truth is not None:
            rest += 1
            if f.truth in m.candidates[:3]:
                rest_top3 += 1
                top = m.scored[0] if m.scored else None
                why = "top_is_truth" if top and top.resident_id == f.truth else "top_is_other"
                levels = "/".join(top.levels.values()) if top else ""
                misses[f"review({why} {levels} p={m.confidence:.3f}):" + "+".join(f.errors)] += 1
            else:
                misses["not_in_top3:" + "+".join(f.errors)] += 1
    in_registry = sum(1 for f in feed if f.truth is not None)
    score = Score(len(feed), in_registry, auto, auto_correct, rest, rest_top3, outsiders_auto, seconds)
    return score, dict(misses)


def _input(f: FeedLine):
    from gridroll.reconcile.features import FeedInput

    return FeedInput(line=f.line, name=f.name, id_number=f.id_number, phone=f.phone, address=f.address)


# ------------------------------------------------------------------------------------------ training


def train(residents: int = 50_000, lines: int = 20_000, seed: int = 3) -> dict:
    """Estimate m from generated lines whose truth is known and u from random pairs (splink on DuckDB)."""
    import logging

    from splink import DuckDBAPI, Linker

    from gridroll.reconcile import model
    from gridroll.reconcile.matching import prepare

    registry = make_registry(residents, seed=seed)
    feed = make_feed(registry, lines, seed=seed + 1)
    feed_rows, registry_rows, _ = prepare([_input(f) for f in feed], registry.residents)
    # The truth as a label column: a line and its resident share a cluster; an outsider is alone.
    truth = {f.line: f.truth for f in feed}
    feed_clusters = [truth[row[0]] if truth[row[0]] is not None else -row[0] for row in feed_rows]
    db_api = DuckDBAPI()
    left = db_api.register(model._arrow(feed_rows, {"cluster": feed_clusters}), dataset_display_name="a_feed")
    right = db_api.register(
        model._arrow(registry_rows, {"cluster": registry_rows["unique_id"].to_pylist()}),
        dataset_display_name="b_registry",
    )
    linker = Linker([left, right], model.settings(1.0 / residents), log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=3e6, seed=1)
    linker.training.estimate_m_from_label_column("cluster")
    saved = linker.misc.save_model_to_json()
    params: dict = {}
    for comparison in saved["comparisons"]:
        name = comparison["output_column_name"]
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m = level.get("m_probability") or 1e-4
            u = level.get("u_probability") or 1e-7
            params.setdefault(name, {})[level["label_for_charts"]] = [
                round(max(m, 1e-4), 6),
                float(f"{max(u, 1e-7):.3g}"),
            ]
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument(
        "--train", action="store_true", help="re-estimate parameters.json from generated data"
    )
    parser.add_argument("--misses", action="store_true", help="list the kinds of error behind misses")
    args = parser.parse_args(argv)
    if args.train:
        from gridroll.reconcile.model import PARAMETERS

        params = train()
        PARAMETERS.write_text(json.dumps(params, indent=1, ensure_ascii=False) + "\n")
        print(json.dumps(params, indent=1, ensure_ascii=False))
        return 0
    started = time.perf_counter()
    registry = make_registry(args.residents, seed=args.seed)
    feed = make_feed(registry, args.lines, seed=args.seed + 1)
    made = time.perf_counter() - started
    score, misses = evaluate(registry, feed)
    print(json.dumps({"generated_seconds": round(made, 2), **score.as_dict()}, ensure_ascii=False))
    if args.misses:
        for kind, count in sorted(misses.items(), key=lambda kv: (kv[0].startswith("review"), -kv[1]))[:40]:
            print(f"{count:6d}  {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
