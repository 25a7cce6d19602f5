"""A phone as scanner.js drives it (docs/algorithms/scan.md), shared by bench/faults.py and
bench/rehearse.py: every action carries a nonce, the device and the device's (skewed) time; the queue is
uploaded as one batch; an answered action leaves the queue, a network error, a 5xx or an expired login
keeps it for the next try. Django must be set up by the caller.
"""

from __future__ import annotations

import http.client
import json
import random
import ssl
import threading
import time
import uuid

from django.utils import timezone

CAPACITY = 10  # pool10: full tubes close themselves, so "tube_full" and sealing are exercised


def session_for(user) -> tuple[str, str]:
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.create()
    csrf = uuid.uuid4().hex
    return f"sessionid={store.session_key}; csrftoken={csrf}", csrf


class Phone:
    """One sampler's phone: makes actions as scanner.js does, queues them, uploads the queue."""

    def __init__(
        self,
        n: int,
        user,
        round_,
        site,
        people: list[str],
        stats: Stats,
        target: tuple[str, int, bool],
        due: list[float] | None = None,
    ) -> None:
        self.host, self.port, self.tls = target
        self.n, self.round, self.site, self.people = n, round_, site, people
        self.cookie, self.csrf = session_for(user)
        self.user_id = user.pk
        self.device = f"phone-{n}-{uuid.uuid4().hex[:6]}"
        self.skew = timezone.timedelta(seconds=random.uniform(-600, 600))  # clocks ±10 minutes
        self.station = list(site.stations.order_by("id").values_list("id", flat=True))[
            n % site.stations.count()
        ]
        self.queue: list[dict] = []
        self.lock = threading.Lock()
        self.sent: set[str] = set()
        self.answered: dict[str, dict] = {}
        self.offline_until = 0.0
        self.stats = stats
        self.tube_seq = 0
        # When each person on the list comes to the site, in seconds after ``started`` and in the order
        # they are scanned (the list's end first, as ``people``); None: everyone is there from the start.
        # The phone scans nobody before they come; ``waits`` is how long each one waited to be scanned.
        self.due, self.started, self.waits = due, time.monotonic(), []
        self.comes = sorted(due or [])  # every arrival, kept for the report

    def action(self, kind: str, tube: str, **extra) -> None:
        a = {
            "nonce": uuid.uuid4().hex,
            "device_id": self.device,
            "kind": kind,
            "round_id": self.round.pk,
            "site_id": self.site.pk,
            "station_id": self.station,
            "tube": tube,
            "device_time": (timezone.now() + self.skew).isoformat(),
            **extra,
        }
        if kind != "open_tube":
            a["decided_offline"] = True
        with self.lock:
            self.queue.append(a)
            self.sent.add(a["nonce"])

    def scan_some(self, rng: random.Random) -> bool:
        """One tube's worth of scanning: open, add up to ten (an undo now and then). False when done."""
        if not self.people:
            return False
        self.tube_seq += 1
        tube = f"FT{self.round.pk:03d}{self.n:03d}{self.tube_seq:05d}"
        self.action("open_tube", tube)
        for _ in range(min(CAPACITY, len(self.people))):
            if self.due:
                comes = self.started + self.due.pop()
                while (left := comes - time.monotonic()) > 0:
                    time.sleep(min(left, 0.2))
                self.waits.append(time.monotonic() - comes)
            self.action("add", tube, code=self.people.pop())
            if rng.random() < 0.05:
                self.action("undo", tube)
            time.sleep(rng.uniform(0.005, 0.03))
        return True

    def upload_once(self, rng: random.Random, lose: float, double: float) -> None:
        if time.monotonic() < self.offline_until:
            return
        with self.lock:
            batch = list(self.queue[:200])
        if not batch:
            return
        body = json.dumps({"actions": batch})
        if rng.random() < double:  # the same batch twice at once (a retry racing the original)
            twin = threading.Thread(target=self._post, args=(body, batch, False))
            twin.start()
            self._post(body, batch, rng.random() < lose)
            twin.join()
        else:
            self._post(body, batch, rng.random() < lose)

    def _post(self, body: str, batch: list[dict], lose_answer: bool) -> None:
        started = time.monotonic()
        try:
            if self.tls:
                c: http.client.HTTPConnection = http.client.HTTPSConnection(
                    self.host, self.port, timeout=20, context=ssl._create_unverified_context()
                )
            else:
                c = http.client.HTTPConnection(self.host, self.port, timeout=20)
            c.request(
                "POST",
                "/api/sampling/scans/batch",
                body,
                {
                    "Content-Type": "application/json",
                    "Cookie": self.cookie,
                    "X-CSRFToken": self.csrf,
                    "Referer": f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/scan/",
                },
            )
            response = c.getresponse()
            data = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self.stats.record(started, None)
            return
        self.stats.record(started, status)
        if status != 200 or lose_answer:
            return  # 5xx or a lost answer: kept, sent again later (the server must recognise it)
        answers = {r["nonce"]: r for r in json.loads(data)}
        with self.lock:
            for a in batch:
                if a["nonce"] in answers:
                    self.answered[a["nonce"]] = answers[a["nonce"]]
            self.queue = [a for a in self.queue if a["nonce"] not in answers]


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[float, float, int | None]] = []  # (start, seconds, status or None)
        self.t0 = time.monotonic()

    def record(self, started: float, status: int | None) -> None:
        with self.lock:
            self.requests.append((started - self.t0, time.monotonic() - started, status))
