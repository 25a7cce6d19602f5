"""The demo district, modelled on the seed: 东昌府区, Liaocheng, November 2022.

闫寺街道's 嘉明社区 holds 盛世佳苑, the compound of grid worker 牛绪俭 ("牛叔"): 668 households and
2,256 residents. 柳园街道's 兴业社区 is where 王银国 answered 徐先生 and 王女士. 古楼街道 has 8
communities. The other subdistricts and towns of the seed are smaller here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from gridroll.accounts.models import Grant
from gridroll.areas.models import Area, Building, Household, Level
from gridroll.demo.people import PeopleFactory
from gridroll.lib.address import compound_key
from gridroll.residents.models import Guardianship, Resident
from gridroll.residents.services import EDITABLE_FIELDS

DEMO_PASSWORD = "gridroll2022"
DISTRICT = "东昌府区"
SEED_COMPOUND = "盛世佳苑"
SEED_HOUSEHOLDS = 668
SEED_RESIDENTS = 2256

_CHILDREN = ("儿子", "女儿")
_GRANDCHILDREN = ("孙子", "孙女")
_COUPLE = ("户主", "配偶")


# What the demo's generated person carries over to a Resident row: the registry's editable fields.
PERSON_FIELDS = EDITABLE_FIELDS


def guardian_relation(dependent: str, guardian: str) -> str:
    """What a guardian is to their dependent (Guardianship.relation, the words of the claim form), from
    both their relations to the household head."""
    if dependent in _CHILDREN and guardian in _COUPLE:
        return "父母"
    if dependent in _GRANDCHILDREN and guardian in _COUPLE:
        return "祖父母"
    if dependent in _COUPLE and guardian in _COUPLE:
        return "配偶"
    if (dependent in _COUPLE and guardian in _CHILDREN) or (
        dependent in ("父亲", "母亲") and guardian in _COUPLE
    ):
        return "子女"
    if dependent in ("父亲", "母亲") and guardian in _CHILDREN:
        return "孙子女"
    return "其他亲属"


COMPOUND_NAMES = (
    "龙湾小区",
    "文苑小区",
    "兴业花园",
    "嘉明花园",
    "阳光新城",
    "金柱花园",
    "水城华府",
    "凤凰苑",
    "东昌新苑",
    "光岳花园",
    "运河人家",
    "湖滨小区",
    "铁塔小区",
    "振兴家园",
    "利民小区",
    "柳园新村",
    "古楼东区",
    "古楼西区",
    "新华家园",
    "建设小区",
    "育新小区",
    "昌润小区",
    "鲁西花园",
    "民安小区",
    "怡和园",
    "丽景苑",
    "和谐家园",
    "百花苑",
    "福华苑",
    "清河园",
)

# (subdistrict or town, [(community or village, grids, compounds per grid, buildings per compound)])
LAYOUT: list[tuple[str, list[tuple[str, int, int, int]]]] = [
    ("闫寺街道", [("嘉明社区", 3, 1, 10), ("闫寺村", 2, 0, 6), ("后屯村", 1, 0, 5)]),
    ("柳园街道", [("兴业社区", 3, 1, 8), ("文苑社区", 3, 1, 8), ("龙湾社区", 2, 1, 8)]),
    (
        "古楼街道",
        [
            (f"{name}社区", 2, 1, 7)
            for name in ("东关", "西关", "南关", "北关", "光岳", "铁塔", "米市", "楼南")
        ],
    ),
    ("新区街道", [("建设社区", 3, 1, 8), ("育新社区", 2, 1, 8)]),
    ("道口铺街道", [("道口铺村", 2, 0, 6), ("文汇新村", 2, 1, 8)]),
    ("侯营镇", [("侯营村", 2, 0, 6), ("李营村", 1, 0, 6)]),
    ("梁水镇", [("梁水村", 2, 0, 6)]),
    ("堂邑镇", [("堂邑村", 2, 0, 6)]),
    ("韩集镇", [("韩集村", 1, 0, 6)]),
]

GRID_NUMERALS = "一二三四五六七八九十"


@dataclass
class DemoUser:
    username: str
    full_name: str
    role: str
    area: tuple[str, ...]
    what: str


USERS = (
    DemoUser(
        "district", "区指挥部 李主任", "district_admin", (DISTRICT,), "district admin: the whole district"
    ),
    DemoUser("yansi", "闫寺街道 张干事", "subdistrict_admin", (DISTRICT, "闫寺街道"), "subdistrict admin"),
    DemoUser(
        "jiaming", "嘉明社区 刘书记", "community_staff", (DISTRICT, "闫寺街道", "嘉明社区"), "community staff"
    ),
    DemoUser(
        "niushu",
        "牛绪俭",
        "grid_worker",
        (DISTRICT, "闫寺街道", "嘉明社区", "盛世佳苑网格"),
        "grid worker of 盛世佳苑 (668 households)",
    ),
    DemoUser(
        "wangyg",
        "王银国",
        "grid_worker",
        (DISTRICT, "柳园街道", "兴业社区", "第一网格"),
        "grid worker in 兴业社区 (an outsider to 盛世佳苑)",
    ),
    DemoUser("sampler", "侯营镇 采样员 赵医生", "sampler", (DISTRICT, "闫寺街道", "嘉明社区"), "sampler"),
    DemoUser("lab", "检测机构 孙技师", "lab_staff", (DISTRICT,), "lab staff"),
)


def is_loaded() -> bool:
    return Area.objects.filter(name=DISTRICT, parent__isnull=True).exists()


@transaction.atomic
def build(seed: int = 2022, scale: float = 1.0) -> dict[str, int]:
    """Create the district, its residents and one user per role. Returns counts."""
    rng = random.Random(seed)
    factory = PeopleFactory(seed=seed, regions=("371502", "371521", "371522", "371581", "370102", "371526"))
    district = Area.objects.create(name=DISTRICT, level=Level.DISTRICT)
    compounds = list(COMPOUND_NAMES)
    rng.shuffle(compounds)

    # (grid, compound, building number, households in it, rural)
    plan: list[tuple[Area, str, str, int, bool]] = []
    for sub_name, communities in LAYOUT:
        sub = Area.objects.create(
            name=sub_name, level=Level.TOWN if sub_name.endswith("镇") else Level.SUBDISTRICT, parent=district
        )
        for com_name, grids, compounds_per_grid, buildings in communities:
            rural = com_name.endswith("村")
            com = Area.objects.create(
                name=com_name, level=Level.VILLAGE if rural else Level.COMMUNITY, parent=sub
            )
            if com_name == "嘉明社区":
                seed_grid = Area.objects.create(name="盛世佳苑网格", level=Level.GRID, parent=com)
                plan += seed_compound_plan(seed_grid)
            for g in range(grids):
                grid = Area.objects.create(name=f"第{GRID_NUMERALS[g]}网格", level=Level.GRID, parent=com)
                if rural:
                    for b in range(buildings):
                        # Village houses: a lane (组) of courtyards, each its own household.
                        plan.append(
                            (
                                grid,
                                "",
                                f"{g * buildings + b + 1}组",
                                max(1, round(rng.randint(18, 30) * scale)),
                                True,
                            )
                        )
                    continue
                for _ in range(compounds_per_grid):
                    compound = compounds.pop() if compounds else f"{com_name[:2]}家园"
                    for b in range(1, buildings + 1):
                        plan.append(
                            (grid, compound, str(b), max(1, round(rng.choice((24, 36, 48)) * scale)), False)
                        )

    buildings = {}
    for grid, compound, number, _, _ in plan:
        buildings[(grid.id, compound, number)] = Building(
            grid=grid, compound=compound, compound_key=compound_key(compound), number=number
        )
    Building.objects.bulk_create(buildings.values(), batch_size=1000)

    households: list[Household] = []
    for grid, compound, number, count, rural in plan:
        building = buildings[(grid.id, compound, number)]
        if rural:
            rooms = [(str(i), "") for i in range(1, count + 1)]
        else:
            entrances = 2 if count >= 12 else 1
            floors = (count // entrances + 1) // 2 + 1
            rooms = [
                (f"{f}0{r}", str(e))
                for e in range(1, entrances + 1)
                for f in range(1, floors + 1)
                for r in (1, 2)
            ]
            rooms = rooms[:count]
        for room, entrance in rooms:
            households.append(Household(building=building, entrance=entrance, room=room))
    Household.objects.bulk_create(households, batch_size=2000)

    residents: list[Resident] = []
    guardian_links: list[tuple[int, int, str]] = []  # (dependent index, guardian index, relation)
    seed_ids = {id(b) for key, b in buildings.items() if key[1] == SEED_COMPOUND}
    seed_households = [h for h in households if id(h.building) in seed_ids]
    seed_people = seed_compound_people(factory, len(seed_households))
    for household in households:
        people = (
            seed_people.pop()
            if id(household.building) in seed_ids
            else factory.household(rural=not household.building.compound)
        )
        base = len(residents)
        for p in people:
            residents.append(Resident(household=household, **{f: getattr(p, f) for f in PERSON_FIELDS}))
        for i, p in enumerate(people):
            for g in p.guardians:
                relation = guardian_relation(p.relation, people[g].relation)
                guardian_links.append((base + i, base + g, relation))
    Resident.objects.bulk_create(residents, batch_size=2000)
    Guardianship.objects.bulk_create(
        [
            Guardianship(dependent=residents[d], guardian=residents[g], relation=r)
            for d, g, r in guardian_links
        ],
        batch_size=2000,
    )
    create_users()
    return {
        "areas": Area.objects.filter(path__startswith=district.path).count(),
        "buildings": len(buildings),
        "households": len(households),
        "residents": len(residents),
        "seed_households": len(seed_households),
        "seed_residents": sum(1 for r in residents if id(r.household.building) in seed_ids),
        "guardianships": len(guardian_links),
    }


def seed_compound_plan(grid: Area) -> list[tuple[Area, str, str, int, bool]]:
    """盛世佳苑: 668 households in 14 buildings (12 of 48 flats, 2 of 46), as in the seed."""
    sizes = [48] * 12 + [46] * 2
    assert sum(sizes) == SEED_HOUSEHOLDS
    return [(grid, SEED_COMPOUND, str(i + 1), size, False) for i, size in enumerate(sizes)]


def seed_compound_people(factory: PeopleFactory, households: int) -> list[list]:
    """Households for 盛世佳苑 whose sizes add up to exactly 2,256 residents."""
    groups = [factory.household() for _ in range(households)]
    total = sum(len(g) for g in groups)
    rng = factory.rng
    while total != SEED_RESIDENTS:
        index = rng.randrange(households)
        if total > SEED_RESIDENTS and len(groups[index]) > 2 and groups[index][-1].relation != "户主":
            dropped = groups[index].pop()
            total -= 1
            for p in groups[index]:
                p.guardians = [g for g in p.guardians if g < len(groups[index])]
            del dropped
        elif (
            total < SEED_RESIDENTS
            and groups[index][0].relation == "户主"
            and len(groups[index]) < 6
            and not any(p.relation == "合租" for p in groups[index])
        ):
            # A child or a grandchild of the head, as the head's age allows (no 孙子 of a head of 40).
            child = factory.descendant(groups[index][0], groups[index][0].name[0])
            if child is None:
                continue
            child.guardians = [0]
            groups[index].append(child)
            total += 1
    return groups


def create_users() -> None:
    for spec in USERS:
        area = None
        for name in spec.area:
            area = Area.objects.get(name=name, parent=area)
        first, _, last = spec.full_name.rpartition(" ")
        user = User.objects.create_user(spec.username, password=DEMO_PASSWORD, first_name=last or first)
        Grant.objects.create(user=user, area=area, role=spec.role)
    User.objects.create_superuser("admin", password=DEMO_PASSWORD, first_name="系统管理员")
