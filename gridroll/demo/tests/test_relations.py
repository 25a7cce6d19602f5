"""Demo people are related as their ages allow (issue 18, defect 16: a 4-year-old 孙子 of a head of 40).
The rule: a grandchild at least 38 years younger than the head, a son or daughter at least 16, a parent
at least 16 years older; sons, fathers and grandsons male, daughters, mothers and granddaughters female."""

import datetime

from gridroll.demo.district import guardian_relation, seed_compound_people
from gridroll.demo.people import PeopleFactory

TODAY = datetime.date(2026, 12, 7)


def _age(birth: datetime.date, today: datetime.date = TODAY) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def relation_faults(households, today: datetime.date = TODAY) -> list[str]:
    """Every way a household's relations contradict its ages or sexes: [] when it reads as a family can.
    ``households``: lists of (name, relation, sex, birth_date)."""
    faults = []
    for people in households:
        heads = [p for p in people if p[1] == "户主"]
        if not heads:
            continue
        head_age = _age(heads[0][3], today)
        for name, relation, sex, birth in people:
            age = _age(birth, today)
            gap = head_age - age
            if relation in ("孙子", "孙女") and gap < 38:
                faults.append(f"{name} {relation} {age}, head {head_age}")
            if relation in ("儿子", "女儿") and gap < 16:
                faults.append(f"{name} {relation} {age}, head {head_age}")
            if relation in ("父亲", "母亲") and -gap < 16:
                faults.append(f"{name} {relation} {age}, head {head_age}")
            expected_sex = {"孙子": "M", "儿子": "M", "父亲": "M", "孙女": "F", "女儿": "F", "母亲": "F"}
            if relation in expected_sex and sex != expected_sex[relation]:
                faults.append(f"{name} {relation} is {sex}")
    return faults


def _rows(groups):
    return [[(p.name, p.relation, p.sex, p.birth_date) for p in g] for g in groups]


def test_generated_households_are_related_as_their_ages_allow():
    factory = PeopleFactory(seed=7, today=TODAY)
    groups = [factory.household(rural=i % 3 == 0) for i in range(3000)]
    assert sum(len(g) for g in groups) > 8000
    assert relation_faults(_rows(groups)) == []


def test_the_seed_compound_top_up_adds_children_and_grandchildren_by_the_heads_age():
    factory = PeopleFactory(seed=2022, today=TODAY)
    groups = seed_compound_people(factory, 668)
    assert sum(len(g) for g in groups) == 2256
    assert relation_faults(_rows(groups)) == []
    relations = {p.relation for g in groups for p in g}
    assert {"孙子", "孙女"} <= relations  # the top-up still adds grandchildren, to heads old enough


def test_the_checker_finds_the_defect_it_is_for():
    head = ("张德福", "户主", "M", datetime.date(1986, 3, 1))  # 40
    grandson = ("张小满", "孙子", "M", datetime.date(2022, 5, 1))  # 4
    assert relation_faults([[head, grandson]]) == ["张小满 孙子 4, head 40"]


def test_guardians_are_named_by_what_they_are_to_the_dependent():
    assert guardian_relation("儿子", "户主") == "父母"
    assert guardian_relation("孙女", "户主") == "祖父母"
    assert guardian_relation("户主", "配偶") == "配偶"
    assert guardian_relation("父亲", "户主") == "子女"
    assert guardian_relation("户主", "女儿") == "子女"
