"""In a real browser: a parent registers herself and her child, and both codes on her page decode (with the
vendored qr-scanner) to tokens that the check API accepts; a printed card sheet decodes the same way."""

import base64
import datetime
import shutil
import subprocess

import pytest

from gridroll.codes import services
from gridroll.conftest import new_id

pytestmark = pytest.mark.browser

DECODE = """async (images) => {
  const out = [];
  for (const src of images) {
    const img = new Image();
    img.src = src;
    await img.decode();
    try {
      const r = await QrScanner.scanImage(img, {returnDetailedScanResult: true});
      out.push(r.data);
    } catch (e) { out.push("ERROR " + e); }
  }
  return out;
}"""


def load_decoder(page, live_server):
    page.add_script_tag(url=f"{live_server.url}/static/vendor/qr-scanner-1.4.2/qr-scanner.umd.min.js")
    page.wait_for_function("typeof QrScanner !== 'undefined'")


def check(client, text):
    return client.post("/api/codes/check", {"text": text}, content_type="application/json").json()


@pytest.mark.django_db(transaction=True)
def test_a_parent_registers_herself_and_her_child_and_both_codes_scan(
    live_server, browser, tree, sampler, client
):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/register/c/{tree['community'].pk}/")
    page.fill("#id_name", "王秀英")
    page.fill("#id_document_number", new_id(datetime.date(1988, 4, 12), "F", 21))
    page.fill("#id_phone", "13911112222")
    page.select_option("#id_building", str(tree["building_a"].pk))
    page.fill("#id_entrance", "2")
    page.fill("#id_room", "501")
    page.check("#id_consent")
    page.click("button:has-text('领取核酸码')")
    page.wait_for_url("**/me/**")
    page.click("text=为没有手机的家人登记")
    page.fill("#id_name", "王小宝")
    page.select_option("#id_document_type", "none")
    page.fill("#id_birth_date", "2021-06-01")
    page.select_option("#id_sex", "M")
    page.check("#id_consent")
    page.click("button:has-text('添加')")
    page.wait_for_url("**/me/*/")
    assert "王*宝" in page.content()

    svgs = page.eval_on_selector_all(".person svg", "els => els.map(e => e.outerHTML)")
    assert len(svgs) == 2
    load_decoder(page, live_server)
    # Inline SVG in HTML needs no namespace; as an image of its own it does.
    svgs = [
        s if "xmlns=" in s else s.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1) for s in svgs
    ]
    images = ["data:image/svg+xml;base64," + base64.b64encode(s.encode()).decode() for s in svgs]
    texts = page.evaluate(DECODE, images)
    assert all(t.startswith("GR") for t in texts), texts

    client.force_login(sampler)
    names = {check(client, t)["person"]["masked_name"] for t in texts}
    assert names == {"王*英", "王*宝"}
    assert {check(client, t)["status"] for t in texts} == {"valid"}


@pytest.mark.django_db(transaction=True)
def test_a_printed_card_sheet_decodes(
    live_server, browser, tree, resident_a, resident_b, sampler, client, tmp_path
):
    from PIL import Image

    from gridroll.codes.cards import card_context, render_pdf
    from gridroll.residents.models import Resident

    if not shutil.which("pdftoppm"):
        pytest.skip("needs pdftoppm: apt-get install poppler-utils")
    services.issue_codes(Resident.objects.all())
    try:
        pdf = render_pdf(card_context(Resident.objects.all(), "测试"))
    except RuntimeError as exc:
        pytest.skip(str(exc))
    (tmp_path / "cards.pdf").write_bytes(pdf)
    # The Chinese font travels inside the PDF: it prints on a machine without Chinese fonts.
    fonts = subprocess.run(["pdffonts", str(tmp_path / "cards.pdf")], capture_output=True, text=True).stdout
    assert all(" yes yes " in line for line in fonts.splitlines()[2:]) and "NotoSansSC" in fonts, fonts
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", str(tmp_path / "cards.pdf"), str(tmp_path / "page")], check=True
    )
    sheet = Image.open(next(tmp_path.glob("page*.png")))
    width = sheet.size[0]
    mm = width / 210
    crops = []
    # Cards sit in two columns of 95 mm, five rows of 53 mm, from an 8 mm margin and a header line.
    for row in range(1):
        for col in range(2):
            left, top = (8 + col * 97) * mm, (13 + row * 55) * mm
            card = sheet.crop((int(left), int(top), int(left + 97 * mm), int(top + 55 * mm)))
            path = tmp_path / f"card{row}{col}.png"
            card.save(path)
            crops.append("data:image/png;base64," + base64.b64encode(path.read_bytes()).decode())
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    load_decoder(page, live_server)
    texts = page.evaluate(DECODE, crops)
    client.force_login(sampler)
    expected = {services.current_code(r).short_code for r in (resident_a, resident_b)}
    assert {check(client, t)["short_code"] for t in texts} == expected, texts
