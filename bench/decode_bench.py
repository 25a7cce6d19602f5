"""How long the scanner page's barcode decoder takes on one phone-sized camera frame, in Chromium.

Not part of ``make bench`` (it needs Debian's chromium and playwright, like the browser tests). It renders
frames a phone's rear camera gives the page (1280×720, slightly blurred and noisy): a personal code (QR,
version 5) and a tube label (Code 128 and Code 39), then times each decoder on them in the page:

- ``zxing-wasm``: the vendored barcode-detector ponyfill (zxing-cpp compiled to WebAssembly), QR +
  Code 128 + Code 39 in one call — what the scanner uses;
- ``qr-scanner``: the previously vendored QR-only decoder (for comparison: it cannot read a tube);
- ``zxing-js``: @zxing/library's MultiFormatReader, when ``--zxing-library path/to/umd/index.min.js`` is
  given (``npm pack @zxing/library@0.23.0``; not vendored).

    .venv/bin/python bench/decode_bench.py [--rounds 30] [--zxing-library …/umd/index.min.js]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import shutil
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "gridroll" / "core" / "static" / "vendor"
TOKEN = "GR" + "A" * 116  # the length of a real personal code (72 bytes as base32); content is irrelevant


def frame(kind: str, width: int = 1280, height: int = 720) -> bytes:
    """A PNG of what the camera sees: the code at arm's length on a grey desk, a little blurred."""
    import random

    import barcode
    import segno
    from barcode.writer import ImageWriter
    from PIL import Image, ImageFilter

    canvas = Image.new("L", (width, height), 170)
    if kind == "qr":
        qr = segno.make(TOKEN, error="m", micro=False)
        rows = [bytes(0 if dark else 255 for dark in row) for row in qr.matrix_iter(scale=7, border=4)]
        img = Image.frombytes("L", (len(rows[0]), len(rows)), b"".join(rows))
    else:
        cls = barcode.get_barcode_class("code128" if kind == "code128" else "code39")
        options = {} if kind == "code128" else {"add_checksum": False}
        code = cls("TUBE000100", writer=ImageWriter(), **options)
        img = code.render({"module_width": 0.3, "module_height": 12, "dpi": 200, "write_text": False})
        img = img.convert("L")
        img = img.resize((int(width * 0.6), int(img.height * width * 0.6 / img.width)))
    canvas.paste(img, ((width - img.width) // 2, (height - img.height) // 2))
    canvas = canvas.filter(ImageFilter.GaussianBlur(1.2))
    rng = random.Random(7)
    noisy = bytes(max(0, min(255, p + rng.randint(-12, 12))) for p in canvas.tobytes())
    canvas = Image.frombytes("L", canvas.size, noisy)
    out = io.BytesIO()
    canvas.save(out, "PNG")
    return out.getvalue()


PAGE = Path(__file__).with_suffix(".html")  # the timing page; <!--ZXING--> takes @zxing/library


class Files(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm"}

    def log_message(self, format, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--zxing-library", type=Path, help="@zxing/library's umd/index.min.js to compare")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for f in ("barcode-detector-3.2.2/ponyfill.js", "barcode-detector-3.2.2/zxing_reader.wasm"):
            shutil.copy(VENDOR / f, d)
        for f in ("qr-scanner-1.4.2/qr-scanner.umd.min.js", "qr-scanner-1.4.2/qr-scanner-worker.min.js"):
            shutil.copy(VENDOR / f, d)
        extra = ""
        if args.zxing_library:
            shutil.copy(args.zxing_library, d / "zxing-library.js")
            extra = '<script src="zxing-library.js"></script>'
        (d / "index.html").write_text(PAGE.read_text().replace("<!--ZXING-->", extra))
        handler = partial(Files, directory=str(d))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        frames = {
            kind: "data:image/png;base64," + base64.b64encode(frame(kind)).decode()
            for kind in ("qr", "code128", "code39")
        }
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            result = page.evaluate("([f, n]) => window.run(f, n)", [frames, args.rounds])
            browser.close()
        server.shutdown()
    rows = []
    for name, r in result.items():
        ok = r["text"] in (TOKEN, "TUBE000100")
        verdict = "read" if ok else "NOT READ"
        print(f"{name:24} {r['median_ms']:7.1f} ms median  {r['max_ms']:7.1f} ms max  {verdict}")
        rows.append({"name": f"decode.{name}_ms", "value": round(r["median_ms"], 1), "unit": "ms"})
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
