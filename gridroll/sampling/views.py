"""The scanner page (offline-first) and the site leader's view."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.sampling.boxes import BoxError, create_box, hand_over_box, open_round_for, pack_tube, seal_box
from gridroll.sampling.models import Box, Sample, ScanAction, Site, Tube

# Every file the scanner page loads, precached by its service worker so that the page opens with no
# network and an empty HTTP cache. The page and the worker both take their URLs from scanner_urls(), so
# what is cached is exactly what is loaded.
SCANNER_FILES = {
    "script": "sampling/scanner.js",
    "forget": "sampling/forget.js",
    "css": "core/gridroll.css",
    # zxing-cpp in WebAssembly behind the BarcodeDetector interface: QR, Code 128 and Code 39
    # (bench/decode_bench.py measured it; docs/algorithms/scan.md says why it was chosen).
    "decoder": "vendor/barcode-detector-3.2.2/ponyfill.js",
    "wasm": "vendor/barcode-detector-3.2.2/zxing_reader.wasm",
    "icon": "sampling/icon-192.png",
}
SCANNER_TEMPLATES = ("sampling/scanner.html", "sampling/sw.js")


@functools.cache
def scanner_version() -> str:
    """A digest of the scanner's files and templates. Any change to them is a new release: the worker's
    own text changes with it, the browser installs the new worker, and the worker drops the old cache."""
    digest = hashlib.sha256()
    for name in SCANNER_FILES.values():
        path = finders.find(name)
        digest.update(Path(str(path)).read_bytes() if path else name.encode())
    for name in SCANNER_TEMPLATES:
        digest.update(Path(get_template(name).origin.name).read_bytes())  # type: ignore[attr-defined]
    return digest.hexdigest()[:12]


def scanner_urls() -> dict[str, str]:
    return {key: f"{static(name)}?v={scanner_version()}" for key, name in SCANNER_FILES.items()}


@login_required
@ensure_csrf_cookie
def scanner(request):
    if not can(request.user, Action.SCAN):
        raise Http404
    from gridroll.sampling.scanner_text import scanner_text

    context = {"version": scanner_version(), "urls": scanner_urls(), "text": scanner_text()}
    return render(request, "sampling/scanner.html", context)


def service_worker(request):
    """Served under /scan/ so that its scope covers the scanner page."""
    import json

    urls = ["/scan/", *scanner_urls().values()]
    response = render(
        request,
        "sampling/sw.js",
        {"version": scanner_version(), "urls": json.dumps(urls)},
        content_type="application/javascript",
    )
    response["Cache-Control"] = "no-cache"
    return response


def manifest(request):
    import json

    data = {
        "name": "网格点名 采样扫码",
        "short_name": "采样扫码",
        "start_url": "/scan/",
        "scope": "/scan/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b6bcb",
        "icons": [{"src": scanner_urls()["icon"], "sizes": "192x192", "type": "image/png"}],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


@login_required
def site_board(request, pk: int):
    """The site leader's view: recent scans, open tubes, throughput per station, refusals to resolve."""
    site = get_in_scope(Site.objects.select_related("area"), request.user, Action.SCAN, pk=pk)
    round_ = open_round_for(site)
    since = timezone.now() - timezone.timedelta(hours=1)
    if request.method == "POST" and request.POST.get("resolve"):
        ScanAction.objects.filter(site=site, pk=request.POST["resolve"]).update(
            needs_review=False, reviewed_at=timezone.now(), reviewed_by=request.user
        )
    stations = (
        Sample.objects.filter(tube__site=site, is_removed=False, round=round_)
        .values("tube__station__name")
        .annotate(total=Count("id"), last_hour=Count("id", filter=Q(scanned_at__gte=since)))
        .order_by("tube__station__name")
    )
    context = {
        "site": site,
        "round": round_,
        "recent": ScanAction.objects.filter(site=site).select_related("user")[:30],
        "open_tubes": Tube.objects.filter(site=site, round=round_, status=Tube.Status.OPEN),
        "stations": stations,
        "review": ScanAction.objects.filter(
            Q(result=ScanAction.Result.REFUSED) | Q(needs_review=True), site=site, reviewed_at__isnull=True
        ).select_related("user")[:100],
        "boxes": Box.objects.filter(site=site, round=round_).annotate(n=Count("tubes")),
        "sealed_unpacked": Tube.objects.filter(
            site=site, round=round_, status=Tube.Status.SEALED, box__isnull=True
        ).count(),
    }
    return render(request, "sampling/site_board.html", context)


@login_required
def box_create(request, pk: int):
    site = get_in_scope(Site.objects.select_related("area"), request.user, Action.SCAN, pk=pk)
    if request.method != "POST":
        raise Http404
    try:
        box = create_box(request.user, site, request.POST.get("code", ""))
    except BoxError as exc:
        messages.error(request, exc.message)
        return redirect("sampling:board", pk=site.pk)
    return redirect("sampling:box", pk=box.pk)


@login_required
def box_detail(request, pk: int):
    """Pack sealed tubes (a handheld scanner types into the field), check the count, seal, hand over."""
    box = get_in_scope(Box.objects.select_related("site__area", "round"), request.user, Action.SCAN, pk=pk)
    if request.method == "POST":
        try:
            if "tube" in request.POST:
                tube = pack_tube(request.user, box, request.POST["tube"])
                messages.success(
                    request, _("Packed %(tube)s (%(n)s people).") % {"tube": tube.barcode, "n": tube.size}
                )
            elif "counted" in request.POST:
                seal_box(request.user, box, int(request.POST.get("counted") or -1))
                messages.success(request, _("The count matches: box sealed."))
            elif "lab" in request.POST:
                hand_over_box(request.user, box, request.POST["lab"], request.POST.get("courier", ""))
                messages.success(request, _("Handed over."))
        except BoxError as exc:
            messages.error(request, exc.message)
        except ValueError:
            messages.error(request, _("Enter the number of tubes counted."))
        return redirect("sampling:box", pk=box.pk)
    tubes = box.tubes.order_by("packed_at")
    return render(
        request, "sampling/box.html", {"box": box, "tubes": tubes, "people": sum(t.size for t in tubes)}
    )
