"""The scanner page in Chromium with a fake camera: a tube and ten people scanned while the server is
unreachable, then the phone reconnects and all eleven actions land exactly once."""

import pytest
import segno

from gridroll.sampling.models import Sample, ScanAction, Tube
from gridroll.sampling.tests.conftest import code_of

pytestmark = pytest.mark.browser
WIDTH, HEIGHT, FPS = 480, 360, 10


def write_y4m(path, texts, frames_each=12):
    """A y4m video (what Chromium's fake camera plays) showing each QR in turn on a white page."""
    from PIL import Image

    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for text in texts:
            qr = segno.make(text, error="m", micro=False, boost_error=False)
            matrix = Image.new("L", (WIDTH, HEIGHT), 255)
            scale = min(WIDTH, HEIGHT) // (qr.symbol_size(border=4)[0])
            size = qr.symbol_size(scale=scale, border=4)
            img = Image.new("L", size, 255)
            for y, row in enumerate(qr.matrix_iter(scale=scale, border=4)):
                for x, dark in enumerate(row):
                    if dark:
                        img.putpixel((x, y), 0)
            matrix.paste(img, ((WIDTH - size[0]) // 2, (HEIGHT - size[1]) // 2))
            y_plane = matrix.tobytes()
            chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
            for _ in range(frames_each):
                out.write(b"FRAME\n" + y_plane + chroma + chroma)


@pytest.mark.django_db(transaction=True)
def test_a_tube_and_ten_people_scanned_offline_land_exactly_once(
    live_server, browser_factory, sampler, people, site, round_, tmp_path
):
    video = tmp_path / "camera.y4m"
    write_y4m(video, ["TUBE000100"] + [code_of(p) for p in people[:10]])
    browser = browser_factory(
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
    )
    sampler.set_password("sampler-2022")
    sampler.save()
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, permissions=["camera"], base_url=live_server.url
    )
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(m.text))
    page.goto("/accounts/login/")
    page.fill("#id_username", sampler.username)
    page.fill("#id_password", "sampler-2022")
    page.click("main button")
    page.goto("/scan/")
    page.wait_for_function("document.querySelectorAll('#pick-site option').length > 0")
    page.click("#start")
    page.wait_for_function("Object.keys(window.gridrollScanner.state.roster).length >= 10")
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null || true")

    context.set_offline(True)  # the server is unreachable from here on
    page.click("#camera")
    try:
        page.wait_for_function("window.gridrollScanner.pending() >= 11", timeout=90_000)
    except Exception:
        page.screenshot(path="/tmp/scanner_fail.png")
        raise AssertionError(
            f"pending={page.evaluate('window.gridrollScanner.pending()')} last={page.inner_text('#last')!r} "
            f"console={console[-10:]}"
        ) from None
    page.wait_for_timeout(3000)  # the video loops: nothing more may be queued
    assert page.evaluate("window.gridrollScanner.pending()") == 11
    assert "10 / 10" in page.inner_text("#tubecount")
    assert ScanAction.objects.count() == 0  # nothing reached the server
    page.screenshot(path=str(tmp_path / "offline.png"))

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function("window.gridrollScanner.pending() === 0", timeout=30_000)
    page.evaluate("window.gridrollScanner.sync()")
    page.wait_for_timeout(1000)

    assert ScanAction.objects.count() == 11
    assert ScanAction.objects.filter(result="accepted", decided_offline=True).count() == 11
    tube = Tube.objects.get()
    assert (tube.barcode, tube.size, tube.status) == ("TUBE000100", 10, "sealed")
    assert Sample.objects.count() == 10
    assert set(Sample.objects.values_list("resident_id", flat=True)) == {p.pk for p in people[:10]}
    context.close()
