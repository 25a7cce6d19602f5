"""Realistic households and people for the demo district and the benchmark generator.

Faker zh_CN has only 399 surnames and 131 given names and random addresses, so families are built here:
surnames by their real frequency, children with the father's surname, three generations in one flat,
elderly people living alone, tenants, people working away, infants without an ID.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

from gridroll.lib import idnumber

# The commonest surnames with rough shares (per mille) in north China; the rest fall into a long tail.
SURNAMES = (
    ("王", 95),
    ("李", 80),
    ("张", 78),
    ("刘", 60),
    ("陈", 40),
    ("杨", 35),
    ("赵", 30),
    ("黄", 15),
    ("周", 18),
    ("吴", 14),
    ("徐", 16),
    ("孙", 20),
    ("胡", 12),
    ("朱", 12),
    ("高", 14),
    ("林", 6),
    ("何", 8),
    ("郭", 14),
    ("马", 14),
    ("罗", 6),
    ("梁", 8),
    ("宋", 10),
    ("郑", 8),
    ("谢", 6),
    ("韩", 10),
    ("唐", 5),
    ("冯", 8),
    ("于", 10),
    ("董", 9),
    ("萧", 3),
    ("程", 6),
    ("曹", 8),
    ("袁", 5),
    ("邓", 4),
    ("许", 7),
    ("傅", 3),
    ("沈", 3),
    ("曾", 3),
    ("彭", 4),
    ("吕", 6),
    ("苏", 5),
    ("卢", 4),
    ("蒋", 4),
    ("蔡", 4),
    ("贾", 6),
    ("丁", 5),
    ("魏", 6),
    ("薛", 4),
    ("叶", 3),
    ("阎", 4),
    ("余", 3),
    ("潘", 3),
    ("杜", 5),
    ("戴", 3),
    ("夏", 3),
    ("钟", 2),
    ("汪", 3),
    ("田", 6),
    ("任", 5),
    ("姜", 6),
    ("范", 4),
    ("方", 3),
    ("石", 4),
    ("姚", 3),
    ("谭", 2),
    ("廖", 2),
    ("邹", 2),
    ("熊", 2),
    ("金", 3),
    ("陆", 2),
    ("郝", 4),
    ("孔", 4),
    ("白", 4),
    ("崔", 5),
    ("康", 3),
    ("毛", 3),
    ("邱", 2),
    ("秦", 3),
    ("江", 2),
    ("史", 4),
    ("顾", 2),
    ("侯", 4),
    ("邵", 3),
    ("孟", 5),
    ("龙", 1),
    ("万", 2),
    ("段", 3),
    ("雷", 2),
    ("钱", 2),
    ("汤", 2),
    ("尹", 3),
    ("黎", 1),
    ("易", 1),
    ("常", 4),
    ("武", 4),
    ("乔", 3),
    ("贺", 2),
    ("赖", 1),
    ("龚", 1),
    ("文", 2),
    ("牛", 4),
    ("单", 2),
    ("解", 1),
    ("仇", 1),
    ("查", 1),
    ("朴", 1),
    ("区", 1),
    ("聂", 2),
    ("庞", 2),
    ("耿", 2),
    ("满", 1),
    ("燕", 1),
)
_SURNAME_CHARS = [s for s, _ in SURNAMES]
_SURNAME_WEIGHTS = [w for _, w in SURNAMES]

MALE_CHARS = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"
FEMALE_CHARS = "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
GENERATION_CHARS = "子振志宝国建春德家文秀玉"

RELATIONS_CHILD = ("儿子", "女儿")


@dataclass
class Person:
    name: str
    sex: str
    birth_date: datetime.date
    document_type: str = "id_card"
    document_number: str = ""
    phone: str = ""
    relation: str = ""
    residence_type: str = "permanent"
    status: str = "present"
    is_bedridden: bool = False
    is_living_alone: bool = False
    has_disability: bool = False
    note: str = ""
    guardians: list[int] = field(default_factory=list)  # indexes of guardians within the household


class PeopleFactory:
    """Makes households of people with valid, unique ID numbers and phones. Deterministic for a seed."""

    def __init__(
        self, seed: int = 2022, today: datetime.date | None = None, regions: tuple[str, ...] = ("371502",)
    ):
        self.rng = random.Random(seed)
        self.today = today or datetime.date.today()
        self.regions = regions
        self.issued: set[str] = set()
        self.phones: set[str] = set()

    # Names ---------------------------------------------------------------------------------------
    def surname(self) -> str:
        return self.rng.choices(_SURNAME_CHARS, _SURNAME_WEIGHTS)[0]

    def given(self, sex: str) -> str:
        pool = MALE_CHARS if sex == "M" else FEMALE_CHARS
        if self.rng.random() < 0.3:
            return self.rng.choice(pool)
        first = self.rng.choice(GENERATION_CHARS) if self.rng.random() < 0.15 else self.rng.choice(pool)
        return first + self.rng.choice(pool)

    # Identity ------------------------------------------------------------------------------------
    def birth(self, age_min: int, age_max: int) -> datetime.date:
        days = self.rng.randint(age_min * 365, age_max * 365 + 364)
        return self.today - datetime.timedelta(days=days)

    def id_number(self, birth: datetime.date, sex: str) -> str:
        """A valid, unused number. Digits 15–17 are drawn as real ones spread (the police station's code
        and the sequence), so that the last four digits tell people apart as often as they do in life."""
        region = self.regions[0] if self.rng.random() < 0.85 else self.rng.choice(self.regions)
        for _ in range(1000):
            number = idnumber.make(region, birth, self.rng.randrange(500), sex)
            if number not in self.issued:
                self.issued.add(number)
                return number
        raise RuntimeError("too many people born on one day in one county")

    def phone(self) -> str:
        while True:
            prefix = self.rng.choice(
                (
                    "135",
                    "136",
                    "137",
                    "138",
                    "139",
                    "150",
                    "151",
                    "152",
                    "158",
                    "159",
                    "182",
                    "183",
                    "187",
                    "188",
                    "130",
                    "131",
                    "132",
                    "155",
                    "156",
                    "185",
                    "186",
                    "133",
                    "153",
                    "177",
                    "180",
                    "181",
                    "189",
                    "199",
                )
            )
            number = prefix + f"{self.rng.randint(0, 99_999_999):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def person(
        self, sex: str, age_min: int, age_max: int, surname: str | None = None, relation: str = ""
    ) -> Person:
        birth = self.birth(age_min, age_max)
        age = (self.today - birth).days // 365
        p = Person(
            name=(surname or self.surname()) + self.given(sex), sex=sex, birth_date=birth, relation=relation
        )
        if age < 1 and self.rng.random() < 0.6:
            # Babies often have no ID yet: registered by a parent with a birth date (the seed's 王女士).
            p.document_type = "none"
        else:
            p.document_number = self.id_number(birth, sex)
        if 16 <= age <= 70 or (age > 70 and self.rng.random() < 0.45):
            p.phone = self.phone()
        return p

    def age(self, p: Person) -> int:
        return (self.today - p.birth_date).days // 365

    def descendant(self, head: Person, surname: str) -> Person | None:
        """A child of 1 to 12 added to ``head``'s household, related as their age allows: a grandchild
        (孙子/孙女) of a head at least 50, a son or daughter (儿子/女儿) of a head of 23 to 49; None for
        a younger head."""
        head_age = self.age(head)
        sex = self.rng.choice("MF")
        if head_age >= 50:
            relation, gap = ("孙子" if sex == "M" else "孙女"), 38
        elif head_age >= 23:
            relation, gap = ("儿子" if sex == "M" else "女儿"), 22
        else:
            return None
        return self.person(sex, 1, min(12, head_age - gap), surname, relation)

    # Households ----------------------------------------------------------------------------------
    def household(self, rural: bool = False) -> list[Person]:
        """One household; sizes average about 3.4 people, as in 盛世佳苑 (2,256 residents / 668 households)."""
        rng = self.rng
        kind = rng.choices(
            ("family", "three_generations", "elderly_couple", "elderly_alone", "single", "couple", "tenants"),
            (34, 24, 14, 7, 5, 8, 8) if not rural else (28, 34, 18, 10, 4, 4, 2),
        )[0]
        people: list[Person] = []
        surname = self.surname()
        if kind in ("family", "three_generations", "couple"):
            father = self.person("M", 28, 52, surname, "户主")
            head_age = self.age(father)
            # A wife within a few years of her husband's age, as most are.
            mother = self.person("F", max(24, head_age - 8), max(24, head_age + 4), relation="配偶")
            people += [father, mother]
            if kind != "couple":
                # Children are at least 22 years younger than the younger parent.
                parent_age = min(head_age, self.age(mother))
                for _ in range(rng.choices((1, 2, 3), (55, 40, 5))[0]):
                    sex = rng.choice("MF")
                    child = self.person(
                        sex, 0, max(0, min(parent_age - 22, 25)), surname, "儿子" if sex == "M" else "女儿"
                    )
                    child.residence_type = "registered"
                    if (self.today - child.birth_date).days // 365 < 18:
                        child.guardians = [0, 1]
                        child.phone = ""
                    people.append(child)
            if kind == "three_generations":
                # The head's parents: at least 22 years older than the head.
                grandpa = self.person("M", max(60, head_age + 24), max(88, head_age + 30), surname, "父亲")
                grandma = self.person("F", max(58, head_age + 22), max(86, head_age + 28), relation="母亲")
                people += [grandpa, grandma][: rng.choice((1, 2, 2))]
        elif kind == "elderly_couple":
            people += [self.person("M", 62, 90, surname, "户主"), self.person("F", 60, 88, relation="配偶")]
        elif kind == "elderly_alone":
            alone = self.person(rng.choice("MF"), 68, 95, surname, "户主")
            alone.is_living_alone = True
            people.append(alone)
        elif kind == "single":
            people.append(self.person(rng.choice("MF"), 20, 60, surname, "户主"))
        else:
            for i in range(rng.choice((1, 2, 2, 3))):
                t = self.person(rng.choice("MF"), 19, 45, relation="户主" if i == 0 else "合租")
                t.residence_type = "temporary"
                t.note = "租户"
                people.append(t)
        for index, p in enumerate(people):
            age = (self.today - p.birth_date).days // 365
            if p.residence_type != "temporary" and not p.guardians and p.relation != "合租":
                p.residence_type = "registered" if rng.random() < 0.8 else "permanent"
            if 20 <= age <= 55 and rng.random() < 0.06:
                p.status = "away"
                p.note = rng.choice(("在济南务工", "在外地上学", "在青岛工作", "跑长途运输", "在北京务工"))
            if age >= 75 and rng.random() < 0.08:
                p.is_bedridden = True
                # A bedridden elder's code is held by a child in the household, if there is one.
                carers = [
                    i
                    for i, q in enumerate(people)
                    if i != index and 25 <= (self.today - q.birth_date).days // 365 < 70
                ]
                p.guardians = carers[:1]
            if rng.random() < 0.012:
                p.has_disability = True
        if rng.random() < 0.003 and len(people) > 1:
            people[-1].status = "moved_out"
        return people
