"""The scanner page in Chromium, as a sampler uses it (issue 16, issue 13 item 4).

- a fake camera shows a Code 128 tube label and residents' QR codes, 4 s each; the server becomes
  unreachable, the page is reloaded with the HTTP cache cleared and keeps working; warnings and refusals
  reach the screen; everything syncs once;
- a scanner gun types a tube and a person with no field focused; a phone with no camera;
- logging out and a change of user clear the phone's roster, keys and caches but keep queued scans.

"Unreachable" is real here: the browser talks to the live server through a TCP relay the test cuts, so the
page, its service worker and its scripts all see a dead network (the browser's offline emulation alone
does not cover the service worker)."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading

import pytest
import segno

from gridroll.conftest import make_user
from gridroll.sampling.models import Sample, ScanAction, Tube
from gridroll.sampling.services import record_action
from gridroll.sampling.tests.conftest import code_of

pytestmark = pytest.mark.browser
WIDTH, HEIGHT, FPS = 640, 480, 10
SECONDS_EACH = 4


# ----------------------------------------------------------------------------------------- the video
def qr_image(text: str):
    from PIL import Image

    qr = segno.make(text, error="m", micro=False, boost_error=False)
    scale = (HEIGHT - 20) // qr.symbol_size(border=4)[0]
    rows = [bytes(0 if dark else 255 for dark in row) for row in qr.matrix_iter(scale=scale, border=4)]
    return Image.frombytes("L", (len(rows[0]), len(rows)), b"".join(rows))


def code128_image(text: str):
    """A tube label as printed: Code 128, with its human-readable line."""
    import barcode
    from barcode.writer import ImageWriter

    img = barcode.get("code128", text, writer=ImageWriter()).render({"module_width": 0.35, "dpi": 150})
    img = img.convert("L")
    width = WIDTH - 60
    return img.resize((width, int(img.height * width / img.width)))


def write_y4m(path, images, seconds_each=SECONDS_EACH, tail_seconds=0):
    """A y4m video (what Chromium's fake camera plays, in a loop): each image centred on white for
    ``seconds_each``, then white."""
    from PIL import Image

    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for img in [*images, None]:
            canvas = Image.new("L", (WIDTH, HEIGHT), 255)
            if img is not None:
                canvas.paste(img, ((WIDTH - img.width) // 2, (HEIGHT - img.height) // 2))
            frames = FPS * (seconds_each if img is not None else tail_seconds)
            y_plane = canvas.tobytes()
            for _ in range(frames):
                out.write(b"FRAME\n" + y_plane + chroma + chroma)


def forged(token: str) -> str:
    """A code with the right shape whose signature is wrong (one character of the signature changed)."""
    i = len(token) - 20
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


# ------------------------------------------------------------------------------- a network to cut
class Relay:
    """127.0.0.1:port → the live server. ``cut()`` closes every open connection and answers new ones by
    closing them, as a dead network would; ``restore()`` relays again."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.up = True
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self):
        self.up = False
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.conns = []

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.server.close()


@pytest.fixture
def relay(live_server):
    r = Relay(int(live_server.url.rsplit(":", 1)[1]))
    yield r
    r.close()


CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def open_scanner(browser, base_url, user, password, viewport=(390, 844)):
    user.set_password(password)
    user.save()
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, permissions=["camera"], base_url=base_url
    )
    page = context.new_page()
    log_in(page, user, password)
    return context, page


def log_in(page, user, password):
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("main button")
    page.wait_for_url("**/")
    page.goto("/scan/")


def start_sampling(page, people_count):
    page.wait_for_function("document.querySelectorAll('#pick-site option').length > 0")
    page.click("#start")
    page.wait_for_function(f"Object.keys(window.gridrollScanner.state.roster).length >= {people_count}")


def eventually(check, seconds=15):
    import time

    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the wait"
        time.sleep(0.2)


def state(page, expr):
    return page.evaluate(f"window.gridrollScanner.{expr}")


# ---------------------------------------------------------------------------------------------- tests
@pytest.mark.django_db(transaction=True)
def test_a_camera_session_offline_survives_a_reload_with_no_network_and_syncs_once(
    relay, browser_factory, sampler, people, site, round_, tmp_path
):
    fake = forged(code_of(people[0]))
    video = tmp_path / "camera.y4m"
    write_y4m(
        video,
        [qr_image(fake), code128_image("TUBE000100")]
        + [qr_image(code_of(p)) for p in people[:10]]
        + [code128_image("TUBE000200")]
        + [qr_image(code_of(p)) for p in people[10:12]],
        tail_seconds=3,
    )
    browser = browser_factory([*CAMERA, f"--use-file-for-fake-video-capture={video}"])
    context, page = open_scanner(browser, relay.url, sampler, "sampler-2022")
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    start_sampling(page, 12)
    # The service worker has precached the page and every file it loads.
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20_000)

    relay.cut()
    context.set_offline(True)
    page.click("#camera")
    try:
        page.wait_for_function("window.gridrollScanner.pending() >= 14", timeout=75_000)
    except Exception as exc:
        raise AssertionError(
            f"pending={state(page, 'pending()')} last={page.inner_text('#last')!r} {console[-5:]}"
        ) from exc
    # Two tubes: the first closed itself at 10; the second holds the last two. Nothing was read twice
    # although each code stayed in view for 4 s; the forged code was refused and never queued.
    assert state(page, "pending()") == 14  # 2 tubes opened + 12 people
    assert state(page, "state.tube.barcode") == "TUBE000200"
    assert page.inner_text("#tubecount") == "2 / 10"
    assert "TUBE000100" in page.evaluate("[...window.gridrollScanner.state.sealed]")
    assert len(page.inner_text("#people").splitlines()) == 2
    assert ScanAction.objects.count() == 0

    # A reload in the dead zone, with the browser's HTTP cache empty: the service worker serves it all.
    cdp = context.new_cdp_session(page)
    cdp.send("Network.clearBrowserCache")
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_function("window.gridrollScanner && window.gridrollScanner.pending() === 14")
    assert page.inner_text("#status") == "离线"
    assert page.inner_text("#waiting") == "14"
    assert page.inner_text("#tube") == "TUBE000200"
    # The camera again (the video starts over): the forged code is refused, the closed tube's label is
    # read (Code 128, by the precached WebAssembly decoder) and refused, and the first person — already in
    # the first tube — is shown as already sampled at once, decided on the phone.
    page.click("#camera")
    page.wait_for_function(
        "document.querySelector('#last').textContent.includes('不是有效的核酸码')", timeout=10_000
    )
    page.wait_for_function(
        "document.querySelector('#last').textContent.includes('此管已封管')", timeout=10_000
    )
    page.wait_for_function(
        "document.querySelector('#last').textContent.includes('本轮已采过')", timeout=10_000
    )
    page.click("#camera")  # camera off before the next person comes into view
    assert "居***号" in page.inner_text("#last") and "TUBE000100" in page.inner_text("#last")
    page.click("#undo")  # the sampler sends them on: not sampled twice
    page.wait_for_function("window.gridrollScanner.pending() === 16")
    assert ScanAction.objects.count() == 0

    relay.restore()
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function("window.gridrollScanner.pending() === 0", timeout=30_000)
    # The server's warning for that add reaches the screen and the list, with the masked name.
    page.wait_for_function("document.querySelector('#answers').textContent.includes('本轮已采过样')")
    assert "居***号 · TUBE000200" in page.inner_text("#answers")
    assert "居***号" in page.inner_text("#answer-list")
    assert page.inner_text("#status") == "在线" and "同步于" in page.inner_text("#synced")

    assert ScanAction.objects.count() == 16
    assert ScanAction.objects.filter(result="warned", reason="already_sampled").count() == 1
    assert ScanAction.objects.filter(result="refused").count() == 0
    tubes = {t.barcode: (t.size, t.status) for t in Tube.objects.all()}
    assert tubes == {"TUBE000100": (10, "sealed"), "TUBE000200": (2, "open")}
    kept = Sample.objects.filter(is_removed=False)
    assert sorted(kept.values_list("resident_id", flat=True)) == sorted(p.pk for p in people)  # each once
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_scanner_gun_types_a_tube_and_a_person_with_no_field_focused_on_a_phone_with_no_camera(
    live_server, browser_factory, sampler, people, site, round_, act
):
    # Someone sampled at another station earlier: the server will warn, and the phone must show it.
    record_action(sampler, act("open_tube", tube="TUBE000900"))
    record_action(sampler, act("add", tube="TUBE000900", code=code_of(people[3])))
    browser = browser_factory(["--use-fake-ui-for-media-stream"])  # no camera on this phone
    context, page = open_scanner(browser, live_server.url, sampler, "sampler-2022", viewport=(360, 740))
    start_sampling(page, 12)

    # The camera-less path: in Chinese, manual entry open, no HTTPS hint on a secure page.
    page.wait_for_function("document.querySelector('#manual').open")
    page.click("#camera")
    page.wait_for_function("document.querySelector('#last').textContent.includes('没有找到摄像头')")
    assert page.inner_text("#last") == "没有找到摄像头：请用扫码枪或手工录入"
    assert not page.is_visible("#video")

    # The gun: no field focused, keys 10 ms apart, Enter.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.type("TUBE000300", delay=10)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "window.gridrollScanner.state.tube && window.gridrollScanner.state.tube.barcode === 'TUBE000300'"
    )
    page.keyboard.type(code_of(people[3]), delay=10)
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#tubecount').textContent === '1 / 10'")
    # With a field focused, a gun scan is still a scan and leaves nothing in the field, even when one
    # key comes late (a busy phone; CI once failed on a single slow gap when every gap had to be short).
    page.focus("#roster-input")
    code = code_of(people[4])
    page.keyboard.type(code[:9], delay=10)
    page.wait_for_timeout(150)
    page.keyboard.type(code[9:], delay=10)
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#tubecount').textContent === '2 / 10'")
    assert page.input_value("#roster-input") == ""
    # Slow typing in a field stays typing, Enter included.
    page.keyboard.type("1-1-101", delay=120)
    page.keyboard.press("Enter")
    assert page.input_value("#roster-input") == "1-1-101"
    assert page.inner_text("#tubecount") == "2 / 10"
    page.fill("#roster-input", "王")
    # The rule with exact timings: [key, ms] pairs and the time of Enter.
    rule = "([keys, enter]) => window.gridrollScanner.gunText(keys, enter)"

    def timed(text, gaps):
        t, keys = 0, []
        for ch, gap in zip(text, gaps, strict=True):
            t += gap
            keys.append([ch, t])
        return [keys, t + 10]

    assert page.evaluate(rule, timed("TUBE000301", [10] * 10)) == "TUBE000301"
    assert page.evaluate(rule, timed("TUBE000301", [10, 10, 10, 250, 10, 10, 10, 10, 10, 10])) == "TUBE000301"
    mostly_slow = [10, 10, 10, 80, 90, 70, 60, 55, 10, 10]
    assert page.evaluate(rule, timed("TUBE000301", mostly_slow)) == ""
    assert page.evaluate(rule, timed("1-1-101", [130, 95, 140, 110, 100, 120, 90])) == ""  # a fast typist
    assert page.evaluate(rule, timed("TUBE0", [10] * 5)) == ""  # too short
    late_enter = timed("TUBE000301", [10] * 10)
    late_enter[1] += 400
    assert page.evaluate(rule, late_enter) == ""
    # An ID card read by the gun is a person (by document number), never a tube: an 18-digit number fits
    # the tube pattern, and it used to open a "tube" and close the one in use (found by an independent run).
    page.fill("#roster-input", "")
    page.keyboard.type(people[5].document_number, delay=10)
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#tubecount').textContent === '3 / 10'")
    # The tube's list is numbered once, by the list itself.
    assert page.eval_on_selector_all("#people li", "els => els.map(e => e.textContent)")[0].startswith("居")

    page.wait_for_function("window.gridrollScanner.pending() === 0", timeout=15_000)
    page.wait_for_function("document.querySelector('#answers').textContent.includes('本轮已采过样')")
    assert "居***号 · TUBE000300 · 此人本轮已采过样（已记录）" in page.inner_text("#answers")
    assert ScanAction.objects.filter(result="warned", reason="already_sampled", device_id__gt="").count() == 1
    assert Tube.objects.get(barcode="TUBE000300").size == 3
    assert not Tube.objects.filter(barcode=people[5].document_number).exists()

    # The status bar on a 360 px screen: every part inside the screen, on its own, readable.
    page.evaluate("window.scrollTo(0, 0)")
    boxes = {sel: page.locator(sel).bounding_box() for sel in ("#status", ".waiting", "#synced", "#logout")}
    for sel, box in boxes.items():
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (sel, box)
        assert box["height"] >= 18, (sel, box)
    for a, b in itertools.combinations(boxes.values(), 2):  # side by side or on another line, never on top
        apart_x = a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
        apart_y = a["y"] + a["height"] <= b["y"] + 1 or b["y"] + b["height"] <= a["y"] + 1
        assert apart_x or apart_y, (a, b)
    assert page.inner_text("#status") == "在线" and page.inner_text(".waiting") == "0 待同步"
    context.close()


@pytest.mark.django_db(transaction=True)
def test_logout_and_a_change_of_user_clear_the_phone_but_keep_queued_scans_for_their_user(
    live_server, browser_factory, tree, sampler, people, site, round_
):
    other = make_user("sampler_a2", "sampler", tree["grid_a"])
    other.set_password("other-2022")
    other.save()
    browser = browser_factory(["--use-fake-ui-for-media-stream"])
    context, page = open_scanner(browser, live_server.url, sampler, "sampler-2022")
    start_sampling(page, 12)
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20_000)
    # Uploads fail (the server is out of reach for them): two scans wait.
    context.route("**/api/sampling/scans/batch", lambda route: route.abort())
    # A gun at full speed: the keys dispatched in one go in the page, so that a loaded machine cannot
    # space them beyond the gun's gap (the gun's own test types them 10 ms apart).
    for text in ("TUBE000400", code_of(people[0])):
        page.evaluate(
            """text => { for (const key of [...text, "Enter"])
                document.dispatchEvent(new KeyboardEvent("keydown", {key, bubbles: true})); }""",
            text,
        )
        page.wait_for_timeout(200)
    page.wait_for_function("window.gridrollScanner.pending() === 2")
    assert page.inner_text("#logout") == "退出（2 条待同步）"

    page.click("#logout")
    page.wait_for_function(
        "document.querySelector('#still-queued') && !document.querySelector('#still-queued').hidden"
    )
    assert "2" in page.inner_text("#still-queued")
    left = page.evaluate(
        """async () => ({
            storage: Object.keys(localStorage).sort(),
            caches: await caches.keys(),
            workers: (await navigator.serviceWorker.getRegistrations()).length,
            queued: (await window.gridrollForget.queued()).total,
        })"""
    )
    assert left == {"storage": ["gr.device"], "caches": [], "workers": 0, "queued": 2}

    # Another sampler on the same phone: none of the first one's data, and their scans are not sent.
    log_in(page, other, "other-2022")
    page.wait_for_function("document.querySelectorAll('#pick-site option').length > 0")
    page.wait_for_function("document.querySelector('#note').textContent.includes('2')")
    assert page.evaluate("Object.keys(window.gridrollScanner.state.roster).length") == 0
    assert page.evaluate("window.gridrollScanner.state.tube") is None
    assert state(page, "pending()") == 0
    context.unroute("**/api/sampling/scans/batch")
    page.evaluate("window.gridrollScanner.sync()")
    page.wait_for_timeout(500)
    assert ScanAction.objects.count() == 0
    page.click("#logout")
    page.wait_for_function(
        "document.querySelector('#still-queued') && !document.querySelector('#still-queued').hidden"
    )

    # The first sampler again: their two scans go up, under their name.
    log_in(page, sampler, "sampler-2022")
    eventually(lambda: ScanAction.objects.count() == 2)
    page.wait_for_function("window.gridrollScanner.pending() === 0")
    assert list(ScanAction.objects.values_list("user__username", "result")) == [
        ("sampler_a", "accepted"),
        ("sampler_a", "accepted"),
    ]
    context.close()
