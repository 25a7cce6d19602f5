"""Writes of staff and volunteers: the register and its import, teams, shifts and their assignment,
call-ups and check-ins. Each is audited, in a transaction.

Errors are StaffError with a stable code: has_shifts, bad_phone, duplicate_phone, no_skill, no_team,
not_in_scope, no_sites, not_assigned_here, not_staff, already_applied, solver_failed, has_account,
login_taken.
"""

from __future__ import annotations

import datetime
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gridroll.accounts.models import Grant
from gridroll.accounts.roles import Role
from gridroll.accounts.scope import forget
from gridroll.areas.models import Area
from gridroll.audit.services import diff, record
from gridroll.core.errors import DomainError
from gridroll.core.sms import send_sms
from gridroll.core.tables import Limits, Table, TableError
from gridroll.lib import phone as phones
from gridroll.lib import staffing
from gridroll.lib.text import cell_text
from gridroll.planning.models import DEFAULT_RATES, Batch, Plan
from gridroll.sampling.models import PoolMode, Round, Site
from gridroll.staff.models import (
    Assignment,
    CallUp,
    CallUpReply,
    CheckIn,
    Shift,
    Skill,
    StaffImport,
    StaffMember,
    Team,
)

# Shifts of two hours (a 6-hour round has three), at least an hour of rest between two of one person.
SHIFT_MINUTES = 120
REST_MINUTES = 60
# A sampler's site access opens this long before the shift (to get ready) and closes this long after.
ACCESS_MARGIN = datetime.timedelta(minutes=30)
# One may check in this long before the shift starts.
EARLY_CHECKIN = datetime.timedelta(minutes=60)


class StaffError(DomainError):
    MESSAGES = {
        "has_shifts": gettext_lazy("This person has had shifts or call-ups: deactivate them instead."),
        "bad_phone": gettext_lazy("The phone number is not a valid mobile number."),
        "no_phone": gettext_lazy("Give a mobile number: call-ups reach people by it."),
        "duplicate_phone": gettext_lazy("This phone number is already in the register."),
        "duplicate_phone_row": gettext_lazy("The same phone number as row %(row)s."),
        "no_skill": gettext_lazy("Tick at least one skill."),
        "unknown_skill": gettext_lazy("Unknown skill “%(word)s”."),
        "no_name": gettext_lazy("Give a name."),
        "duplicate_team": gettext_lazy("The unit already has a team of that name."),
        "no_team_name": gettext_lazy("Give the team a name."),
        "no_sites": gettext_lazy("The area has no open sampling site with an open station in this round."),
        "not_assigned_here": gettext_lazy("You have no shift at this site now."),
        "not_staff": gettext_lazy(
            "This account is on no staff entry. Ask whoever keeps the register to link it."
        ),
        "not_yours": gettext_lazy("You can only confirm your own call-ups."),
        "already_applied": gettext_lazy("This import has already been applied."),
        "empty_team": gettext_lazy("The team has no active member yet."),
        "no_text": gettext_lazy("Give the place and the message."),
        "has_account": gettext_lazy("This person already has an account."),
        "login_taken": gettext_lazy(
            "An account already has this phone number as its login: link it by its login name below."
        ),
        "not_in_scope": gettext_lazy("“%(name)s” is not the name of exactly one area in this area."),
        "no_team": gettext_lazy("No team is called “%(team)s” (create it on the teams page first)."),
    }


# ------------------------------------------------------------------------------------------ the register

SKILL_WORDS = {
    Skill.SAMPLER: ("采样", "采样员", "sampler", "sampling"),
    Skill.SCANNER: ("扫码", "扫码引导", "scanner", "scanning"),
    Skill.ENTRY: ("信息录入", "录入", "entry", "information entry"),
    Skill.GUIDE: ("引导", "引导员", "guide"),
    Skill.CONSULT: ("现场咨询", "咨询", "consultation", "consult"),
    Skill.ORDER: ("秩序维护", "秩序", "维持秩序", "order"),
    Skill.DRIVER: ("司机", "转运", "驾驶", "driver", "transport"),
}
_WORD_SKILL = {w.lower(): s.value for s, words in SKILL_WORDS.items() for w in words}


def parse_skills(text: str) -> list[str]:
    """'采样、扫码引导' → ['sampler', 'scanner']; StaffError no_skill on a word that is no skill."""
    out: list[str] = []
    for word in re.split(r"[、,，;；/\s]+", cell_text(text).strip()):
        if not word:
            continue
        skill = _WORD_SKILL.get(word.lower()) or (word if word in Skill.values else None)
        if skill is None:
            raise StaffError("unknown_skill", word=word)
        if skill not in out:
            out.append(skill)
    return out


def _member_values(
    name: str, phone: str, home_unit: str, home_area: Area, skills: list[str], team: Team | None
) -> dict[str, Any]:
    name, home_unit = name.strip(), home_unit.strip()
    if not name:
        raise StaffError("no_name")
    try:
        number = phones.normalise(phone)
    except phones.PhoneError as exc:
        raise StaffError("bad_phone", exc.message) from None
    if not number:
        raise StaffError("no_phone")
    if not skills:
        raise StaffError("no_skill")
    bad = [s for s in skills if s not in Skill.values]
    if bad:
        raise StaffError("unknown_skill", word=bad[0])
    return {
        "name": name[:50],
        "phone": number,
        "home_unit": (home_unit or home_area.name)[:100],
        "home_area": home_area,
        "skills": skills,
        "team": team,
    }


def _snapshot(m: StaffMember) -> dict[str, Any]:
    return {
        "name": m.name,
        "phone": phones.mask(m.phone) if m.phone else "",
        "home_unit": m.home_unit,
        "home_area": m.home_area.name if m.home_area_id else None,
        "skills": ",".join(m.skills),
        "team": m.team.name if m.team is not None else None,
        "is_active": m.is_active,
    }


def save_member(
    user,
    member: StaffMember | None,
    *,
    name: str,
    phone: str,
    home_unit: str,
    home_area: Area,
    skills: list[str],
    team: Team | None = None,
) -> StaffMember:
    """Add someone to the register or change them; audited (the phone masked in the record)."""
    values = _member_values(name, phone, home_unit, home_area, skills, team)
    with transaction.atomic():
        clash = StaffMember.objects.filter(phone=values["phone"])
        if member is not None:
            clash = clash.exclude(pk=member.pk)
        if clash.exists():
            raise StaffError("duplicate_phone")
        before = _snapshot(member) if member is not None else {}
        member = member or StaffMember()
        for k, v in values.items():
            setattr(member, k, v)
        member.save()
        record(
            user,
            "staff.update" if before else "staff.create",
            member,
            changes=diff(before, _snapshot(member)),
            area_path=member.home_area.path,
        )
    return member


def set_active(user, member: StaffMember, active: bool, reason: str = "") -> StaffMember:
    """Deactivate someone (out of new assignments, their future places freed) or take them back."""
    with transaction.atomic():
        member = StaffMember.objects.select_for_update().get(pk=member.pk)
        if member.is_active == active:
            return member
        member.is_active = active
        member.save(update_fields=["is_active"])
        freed = 0
        if not active:
            future = Assignment.objects.filter(member=member, shift__starts_at__gt=timezone.now())
            freed = _drop_assignments(future)
        record(
            user,
            "staff.activate" if active else "staff.deactivate",
            member,
            changes={"is_active": [not active, active], "freed_places": [None, freed]},
            reason=reason,
            area_path=member.home_area.path,
        )
    return member


def delete_member(user, member: StaffMember) -> None:
    """Remove an entry made by mistake. StaffError has_shifts for someone who ever had a shift, a
    call-up or a check-in: deactivate them instead (their history stays)."""
    with transaction.atomic():
        if (
            Assignment.objects.filter(member=member).exists()
            or CheckIn.objects.filter(member=member).exists()
            or CallUpReply.objects.filter(member=member).exists()
        ):
            raise StaffError("has_shifts")
        record(
            user, "staff.delete", member, changes=diff(_snapshot(member), {}), area_path=member.home_area.path
        )
        member.delete()


def link_account(user, member: StaffMember, account: User | None) -> StaffMember:
    """Link a staff entry to a login (their own page, check-in, a sampler's site access); audited. The
    site access of their sampler shifts not yet over moves to the new account (or goes, unlinked)."""
    with transaction.atomic():
        before = member.user.username if member.user is not None else None
        old_user = member.user
        member.user = account
        member.save(update_fields=["user"])
        pending = list(
            Assignment.objects.filter(
                member=member, shift__role=Skill.SAMPLER, shift__ends_at__gt=timezone.now()
            ).select_related("shift__site")
        )
        Grant.objects.filter(pk__in=[a.grant_id for a in pending if a.grant_id]).delete()
        for a in pending:
            a.grant = None
            a.member = member
            a.save(update_fields=["grant"])
            _access_grant(a)
        if old_user is not None:
            forget(old_user)
        record(
            user,
            "staff.link_account",
            member,
            changes={"account": [before, account.username if account else None]},
            area_path=member.home_area.path,
        )
    return member


# A one-off password read off a text message: no 0/O, 1/l/I (confused on a small screen).
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"


def create_account(user, member: StaffMember) -> tuple[User, str]:
    """A login of their own for a staff member who has none, so that nobody has to make accounts by hand:
    the login name is their phone number, and a one-off password goes to that phone by text message
    (returned too, for the planner to hand over in person). The account holds no grant of its own: a
    sampler's site access comes from their shifts (``_access_grant``). Audited as ``staff.create_account``
    and ``staff.link_account``. StaffError ``has_account`` (already linked), ``login_taken`` (another
    account has that login: link it instead)."""
    if member.user_id is not None:
        raise StaffError("has_account")
    username = member.phone
    password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(10))
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise StaffError("login_taken")
        account = User.objects.create_user(username=username, password=password, first_name=member.name[:150])
        record(
            user,
            "staff.create_account",
            member,
            changes={"account": [None, username]},
            area_path=member.home_area.path,
        )
        link_account(user, member, account)
        text = (
            f"gridroll 账号已开通。登录名：{username}，初始密码：{password}。"
            "登录后点页面右上角自己的名字修改密码。"
        )
        transaction.on_commit(lambda: send_sms(member.phone, text))
    return account, password


def create_team(user, *, name: str, home_area: Area, destination: Area) -> Team:
    name = name.strip()[:100]
    if not name:
        raise StaffError("no_team_name")
    with transaction.atomic():
        if Team.objects.filter(home_area=home_area, name=name).exists():
            raise StaffError("duplicate_team")
        team = Team.objects.create(name=name, home_area=home_area, destination=destination)
        record(
            user,
            "staff.team",
            team,
            changes={"home_area": [None, home_area.name], "destination": [None, destination.name]},
            area_path=destination.path,
        )
    return team


def set_team(user, team: Team, members: list[StaffMember]) -> int:
    """Put these people in the team (out of any other); audited with how many moved."""
    with transaction.atomic():
        moved = [m for m in members if m.team_id != team.pk]
        StaffMember.objects.filter(pk__in=[m.pk for m in moved]).update(team=team)
        record(
            user,
            "staff.team_members",
            team,
            changes={"members": [None, [m.name for m in moved]]},
            area_path=team.destination.path,
        )
    return len(moved)


# ---------------------------------------------------------------------------------------------- import

HEADERS = {
    "name": ("姓名", "name"),
    "phone": ("手机号", "手机", "电话", "联系电话", "phone", "mobile"),
    "home_unit": ("单位", "所在单位", "工作单位", "home unit", "unit"),
    "home_area": ("所属区域", "区域", "乡镇街道", "area", "home area"),
    "skills": ("技能", "岗位", "skills", "skill", "role"),
    "team": ("队伍", "所在队伍", "team"),
}
_HEADER_KEY = {w.lower(): k for k, words in HEADERS.items() for w in words}
EXPORT_COLUMNS = ("姓名", "手机号", "单位", "所属区域", "技能", "队伍", "状态")


def _match_header(row: list[Any]) -> dict[int, str] | None:
    mapping: dict[int, str] = {}
    for i, cell in enumerate(row):
        key = _HEADER_KEY.get(cell_text(cell).strip().lower())
        if key and key not in mapping.values():
            mapping[i] = key
    if not {"name", "phone"} <= set(mapping.values()):
        return None
    if "skills" not in mapping.values():
        raise TableError("missing_column", "缺少“技能”列（如：采样、扫码引导、信息录入）")
    return mapping


def _area_by_name(root: Area, name: str) -> Area | None:
    name = name.strip()
    if not name or name == root.name:
        return root
    found = list(Area.objects.filter(path__startswith=root.path, name=name)[:2])
    return found[0] if len(found) == 1 else None


def preview_import(user, area: Area, source, filename: str, lim: Limits | None = None) -> StaffImport:
    """Read a staff table (through the bounded reader) into a preview: good rows kept to apply, bad rows
    kept with their reason. Nothing of the register changes until ``apply_import``. TableError for a
    file that cannot be read at all (nothing is stored then)."""
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    teams = {
        t.name: t
        for t in Team.objects.filter(
            Q(home_area__path__startswith=area.path) | Q(destination__path__startswith=area.path)
        )
    }
    with Table(source, filename, lim) as table:
        mapping = table.header(_match_header)
        if mapping is None:
            raise TableError("no_header", "找不到表头：需要“姓名”“手机号”“技能”列")
        for number, cells in table.rows():
            values = {key: cell_text(cells[i]) if i < len(cells) else "" for i, key in mapping.items()}
            if not any(v.strip() for v in values.values()):
                continue
            shown = [cell_text(c) for c in cells][:12]
            try:
                home = _area_by_name(area, values.get("home_area", ""))
                if home is None:
                    raise StaffError("not_in_scope", name=values.get("home_area", ""))
                team_name = values.get("team", "").strip()
                if team_name and team_name not in teams:
                    raise StaffError("no_team", team=team_name)
                checked = _member_values(
                    values.get("name", ""),
                    values.get("phone", ""),
                    values.get("home_unit", ""),
                    home,
                    parse_skills(values.get("skills", "")),
                    teams.get(team_name),
                )
                if checked["phone"] in seen:
                    raise StaffError("duplicate_phone_row", row=seen[checked["phone"]])
                seen[checked["phone"]] = number
            except StaffError as exc:
                rejects.append({"row": number, "cells": shown, "reason": exc.message, "code": exc.code})
                continue
            rows.append(
                {
                    "row": number,
                    "name": checked["name"],
                    "phone": checked["phone"],
                    "home_unit": checked["home_unit"],
                    "home_area": home.pk,
                    "skills": checked["skills"],
                    "team": teams[team_name].pk if team_name else None,
                }
            )
    with transaction.atomic():
        imp = StaffImport.objects.create(
            area=area, user=user, filename=filename[:200], rows=rows, rejects=rejects
        )
        record(
            user,
            "staff.import_preview",
            imp,
            changes={"rows": [None, len(rows)], "rejects": [None, len(rejects)]},
            area_path=area.path,
        )
    return imp


def apply_import(user, imp: StaffImport) -> StaffImport:
    """Write the preview's good rows: a phone already in the register updates that person, a new one
    adds them. Rejected rows stay in the import with their reason. StaffError already_applied."""
    with transaction.atomic():
        imp = StaffImport.objects.select_for_update().get(pk=imp.pk)
        if imp.applied_at is not None:
            raise StaffError("already_applied")
        existing = {m.phone: m for m in StaffMember.objects.filter(phone__in=[r["phone"] for r in imp.rows])}
        areas = Area.objects.in_bulk({r["home_area"] for r in imp.rows})
        teams = Team.objects.in_bulk({r["team"] for r in imp.rows if r["team"]})
        created = updated = 0
        for r in imp.rows:
            m = existing.get(r["phone"])
            if m is not None and not m.home_area.path.startswith(imp.area.path):
                # Someone registered elsewhere: not ours to change; reported, not silently skipped.
                imp.rejects.append(
                    {
                        "row": r["row"],
                        "cells": [r["name"], r["phone"]],
                        "reason": "此手机号已登记在其他区域",
                        "code": "not_in_scope",
                    }
                )
                continue
            m = m or StaffMember()
            created += m.pk is None
            updated += m.pk is not None
            m.name, m.phone, m.home_unit = r["name"], r["phone"], r["home_unit"]
            m.home_area, m.skills = areas[r["home_area"]], r["skills"]
            if r["team"]:
                m.team = teams.get(r["team"])
            m.save()
        imp.applied_at = timezone.now()
        imp.created, imp.updated = created, updated
        imp.save(update_fields=["applied_at", "created", "updated", "rejects"])
        record(
            user,
            "staff.import",
            imp,
            changes={
                "created": [None, created],
                "updated": [None, updated],
                "rejects": [None, len(imp.rejects)],
            },
            area_path=imp.area.path,
        )
    return imp


def export_rows(members) -> list[list[str]]:
    """The register as a table (the import's columns, so an export can be edited and imported back)."""
    labels = {s.value: SKILL_WORDS[s][1] if len(SKILL_WORDS[s]) > 1 else SKILL_WORDS[s][0] for s in Skill}
    labels[Skill.SAMPLER] = "采样"
    out = [list(EXPORT_COLUMNS)]
    for m in members:
        out.append(
            [
                m.name,
                m.phone,
                m.home_unit,
                m.home_area.name,
                "、".join(labels.get(s, s) for s in m.skills),
                m.team.name if m.team_id else "",
                "在岗" if m.is_active else "停用",
            ]
        )
    return out


# --------------------------------------------------------------------------------- shifts and assignment


@dataclass
class SiteNeed:
    site: Site
    start: datetime.datetime
    end: datetime.datetime
    people: int
    counts: dict[str, int]


def _site_window(round_: Round, site: Site) -> tuple[datetime.datetime, datetime.datetime]:
    openings = [o for o in round_.openings.all() if o.site_id == site.pk]
    if openings:
        return min(o.opens_at for o in openings), max(o.closes_at for o in openings)
    return round_.starts_at, round_.ends_at


def shift_needs(round_: Round, area: Area) -> list[SiteNeed]:
    """Each open site's shifts (SHIFT_MINUTES blocks of its opening hours) with the people each role
    needs, from its open stations and the people the accepted plan sends to it in that block."""
    sites = list(
        Site.objects.filter(area__path__startswith=area.path, is_active=True)
        .select_related("capacity")
        .prefetch_related("stations__capacity")
    )
    plan_ids = [
        p.pk
        for p in Plan.objects.filter(round=round_, status=Plan.Status.ACCEPTED)
        if p.area.path.startswith(area.path) or area.path.startswith(p.area.path)
    ]
    batches: dict[int, list[Batch]] = defaultdict(list)
    for b in Batch.objects.filter(plan_id__in=plan_ids, site__isnull=False).exclude(kind=Batch.Kind.HOME):
        if b.site_id is not None:
            batches[b.site_id].append(b)
    out = []
    for site in sites:
        cap = getattr(site, "capacity", None)
        if cap is not None and cap.is_shut:
            continue
        open_stations = [
            st for st in site.stations.all() if getattr(st, "capacity", None) is None or st.capacity.is_open
        ]
        if not open_stations:
            continue
        rates: list[float] = [
            st.capacity.rate("pool10") if getattr(st, "capacity", None) else DEFAULT_RATES[PoolMode.POOL10]
            for st in open_stations
        ]
        rate = sum(rates) / len(rates)
        opens, closes = _site_window(round_, site)
        t = opens
        blocks: list[SiteNeed] = []
        while t < closes:
            end = min(closes, t + datetime.timedelta(minutes=SHIFT_MINUTES))
            hours = (end - t).total_seconds() / 3600
            people = 0.0
            for b in batches.get(site.pk, ()):
                overlap = (min(end, b.ends_at) - max(t, b.starts_at)).total_seconds()
                span = (b.ends_at - b.starts_at).total_seconds()
                if overlap > 0 and span > 0:
                    people += b.people * overlap / span
            counts = staffing.role_counts(
                len(open_stations), people / hours if hours else 0, rate, site.pk in batches
            )
            if counts:
                blocks.append(SiteNeed(site, t, end, round(people), counts))
            t = end
        if blocks:
            # One driver in the site's last shift with people takes the boxes to the lab.
            blocks[-1].counts[Skill.DRIVER] = 1
        out += blocks
    return out


def _drop_assignments(qs) -> int:
    grants = [g for g in qs.values_list("grant_id", flat=True) if g]
    n = qs.count()
    qs.delete()
    Grant.objects.filter(pk__in=grants).delete()
    return n


def _access_grant(a: Assignment) -> None:
    """A sampler's site access for the shift's window, on the site's area, for their linked account."""
    m, shift = a.member, a.shift
    if shift.role != Skill.SAMPLER or not m.user_id:
        return
    a.grant = Grant.objects.create(
        user_id=m.user_id,
        area_id=shift.site.area_id,
        role=Role.SAMPLER,
        valid_from=shift.starts_at - ACCESS_MARGIN,
        valid_until=shift.ends_at + ACCESS_MARGIN,
    )
    a.save(update_fields=["grant"])
    forget(m.user)


def _minutes(round_: Round, when: datetime.datetime) -> float:
    return (when - round_.starts_at).total_seconds() / 60


def deploy(user, round_: Round, area: Area, solver: str = "highs") -> dict[str, Any]:
    """Make the area's shifts for the round from the plan and fill them with the register's active
    people who may be sent there (skills, team destination or home area, rest between shifts), by
    HiGHS (gridroll.lib.staffing). Shifts already started keep their people; later ones are re-made.
    Places left empty are returned and audited, not hidden. StaffError no_sites, solver_failed."""
    now = timezone.now()
    needs = shift_needs(round_, area)
    if not needs:
        raise StaffError("no_sites")
    with transaction.atomic():
        old = Shift.objects.filter(round=round_, site__area__path__startswith=area.path)
        started = {(s.site_id, s.role, s.starts_at): s for s in old if s.starts_at <= now}
        _drop_assignments(Assignment.objects.filter(shift__in=old.filter(starts_at__gt=now)))
        old.filter(starts_at__gt=now).delete()
        shifts: list[Shift] = []
        for n in needs:
            for role, count in n.counts.items():
                # A shift already started keeps its people; anything later is made afresh.
                s = started.get((n.site.pk, role, n.start))
                if s is None:
                    s = Shift.objects.create(
                        round=round_,
                        site=n.site,
                        role=role,
                        starts_at=n.start,
                        ends_at=n.end,
                        needed=count,
                        expected_people=n.people,
                    )
                shifts.append(s)
        kept = Assignment.objects.filter(shift__in=[s for s in shifts if s.starts_at <= now])
        have: dict[int, int] = defaultdict(int)
        busy: dict[int, list[tuple[float, float]]] = defaultdict(list)
        for a in kept.select_related("shift"):
            have[a.shift_id] += 1
            busy[a.member_id].append((_minutes(round_, a.shift.starts_at), _minutes(round_, a.shift.ends_at)))
        # People's shifts in other areas of the same round count against their rest too.
        for a in (
            Assignment.objects.filter(shift__round=round_).exclude(shift__in=shifts).select_related("shift")
        ):
            busy[a.member_id].append((_minutes(round_, a.shift.starts_at), _minutes(round_, a.shift.ends_at)))
        paths = {s.site_id: s.site.area.path for s in shifts}
        need_in = [
            staffing.NeedIn(
                s.pk,
                paths[s.site_id],
                s.role,
                _minutes(round_, s.starts_at),
                _minutes(round_, s.ends_at),
                max(0, s.needed - have[s.pk]),
            )
            for s in shifts
            if s.starts_at > now or have[s.pk] < s.needed
        ]
        # Who may be sent here: a team sent to this area (or to an area around it), or, with no team,
        # someone whose home area is this area, inside it or around it.
        around = [*_ancestors(area), area.path]
        members = list(
            StaffMember.objects.filter(is_active=True)
            .filter(
                Q(team__destination__path__startswith=area.path)
                | Q(team__destination__path__in=around)
                | Q(team__isnull=True, home_area__path__startswith=area.path)
                | Q(team__isnull=True, home_area__path__in=around)
            )
            .select_related("team__destination", "home_area")
        )
        people = [
            staffing.PersonIn(m.pk, m.base_area.path, frozenset(m.skills), sorted(busy.get(m.pk, [])))
            for m in members
        ]
        try:
            run = staffing.greedy if solver == "greedy" else staffing.solve
            result = run(need_in, people, rest=REST_MINUTES)
        except staffing.StaffingError as exc:
            raise StaffError(exc.code, exc.message) from None
        by_id = {m.pk: m for m in members}
        shift_by_id = {s.pk: s for s in shifts}
        made = []
        for nid, pid in result.assigned:
            a = Assignment.objects.create(shift=shift_by_id[nid], member=by_id[pid])
            a.member, a.shift = by_id[pid], shift_by_id[nid]
            _access_grant(a)
            made.append(a)
        short = {nid: k for nid, k in result.short.items() if k > 0}
        summary = {
            "shifts": len(shifts),
            "needed": sum(s.needed for s in shifts),
            "assigned": len(made) + sum(have.values()),
            "short": sum(short.values()),
            "solver": result.solver,
        }
        record(
            user,
            "staff.deploy",
            round_,
            changes={k: [None, v] for k, v in summary.items()}
            | {"short_places": [None, {str(shift_by_id[n]): k for n, k in short.items()}]},
            area_path=area.path,
        )
    return summary


def _ancestors(area: Area) -> list[str]:
    """Paths of the areas above ``area`` (someone registered at the district may be sent anywhere)."""
    parts = [p for p in area.path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]


# -------------------------------------------------------------------------------- call-ups and check-ins


def call_up(user, team: Team, *, text: str, place: str, gather_at: datetime.datetime) -> CallUp:
    """Call a team up (集合): an SMS to each active member and a line on their own page; audited with
    how many were reached. StaffError empty_team when the team has no active member."""
    text, place = text.strip()[:300], place.strip()[:100]
    if not text or not place:
        raise StaffError("no_text")
    members = list(team.members.filter(is_active=True))
    if not members:
        raise StaffError("empty_team")
    with transaction.atomic():
        callup = CallUp.objects.create(
            team=team, text=text, place=place, gather_at=gather_at, created_by=user
        )
        now = timezone.now()
        CallUpReply.objects.bulk_create([CallUpReply(callup=callup, member=m, sent_at=now) for m in members])
        record(
            user,
            "staff.callup",
            callup,
            changes={"team": [None, team.name], "sent": [None, len(members)], "place": [None, place]},
            area_path=team.destination.path,
        )
        local = timezone.localtime(gather_at)
        message = (
            f"【集合】{team.name}：{local:%m月%d日 %H:%M} 到 {place} 集合。{text} 请在本人页面点“收到”。"
        )

        def _send() -> None:
            for m in members:
                send_sms(m.phone, message)

        transaction.on_commit(_send)
    return callup


def acknowledge(user, reply: CallUpReply, *, by_phone: bool = False) -> CallUpReply:
    """The staff member says they got the call-up, on their own page; or, ``by_phone``, whoever runs
    the team records a reply that came by phone or SMS (the view checks they may). Audited either way.
    StaffError not_staff when someone else's call-up is acknowledged on one's own page."""
    with transaction.atomic():
        reply = (
            CallUpReply.objects.select_for_update()
            .select_related("member", "callup__team__destination")
            .get(pk=reply.pk)
        )
        if not by_phone and reply.member.user_id != user.pk:
            raise StaffError("not_yours")
        if reply.acknowledged_at is None:
            reply.acknowledged_at = timezone.now()
            reply.save(update_fields=["acknowledged_at"])
            record(
                user,
                "staff.callup_ack",
                reply.callup,
                changes={"acknowledged": [None, reply.member.name], "by_phone": [None, by_phone]},
                area_path=reply.callup.team.destination.path,
            )
    return reply


def current_assignment(member: StaffMember, site: Site | None = None, now: datetime.datetime | None = None):
    """The member's assignment that is on now (or starts within the hour), at ``site`` if given."""
    now = now or timezone.now()
    qs = Assignment.objects.filter(
        member=member, shift__starts_at__lte=now + EARLY_CHECKIN, shift__ends_at__gt=now
    ).select_related("shift__site")
    if site is not None:
        qs = qs.filter(shift__site=site)
    return qs.order_by("shift__starts_at").first()


def check_in(user, site: Site, now: datetime.datetime | None = None) -> CheckIn:
    """Check in at ``site`` (its site code scanned with one's own staff account); audited.
    StaffError not_staff (the account is on no staff entry), not_assigned_here (no shift here now)."""
    now = now or timezone.now()
    member = StaffMember.objects.filter(user=user, is_active=True).first() if user.is_authenticated else None
    if member is None:
        raise StaffError("not_staff")
    a = current_assignment(member, site, now)
    if a is None:
        raise StaffError("not_assigned_here")
    with transaction.atomic():
        c = CheckIn.objects.create(member=member, site=site, shift=a.shift, at=now)
        record(
            user,
            "staff.checkin",
            c,
            changes={"site": [None, site.name], "role": [None, a.shift.role]},
            area_path=site.area.path,
        )
    return c


def on_site_now(sites, now: datetime.datetime | None = None) -> dict[int, list[CheckIn]]:
    """Who is where now: per site, the people whose latest check-in is there and whose shift is on."""
    now = now or timezone.now()
    latest: dict[int, CheckIn] = {}
    for c in (
        CheckIn.objects.filter(at__gte=now - datetime.timedelta(hours=12), at__lte=now)
        .select_related("member", "shift")
        .order_by("at")
    ):
        latest[c.member_id] = c
    ids = {s.pk for s in sites}
    out: dict[int, list[CheckIn]] = defaultdict(list)
    for c in latest.values():
        if c.site_id in ids and (c.shift is None or c.shift.ends_at > now):
            out[c.site_id].append(c)
    return out
