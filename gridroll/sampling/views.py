"""The scanner page (offline-first) and the site leader's view."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.sampling.models import Round, Sample, ScanAction, Site, Tube

# Bump when scanner files change, so that phones drop their old cached copies.
SCANNER_VERSION = "1"
SCANNER_FILES = (
    "sampling/scanner.js",
    "core/gridroll.css",
    "vendor/qr-scanner-1.4.2/qr-scanner.umd.min.js",
    "vendor/qr-scanner-1.4.2/qr-scanner-worker.min.js",
    "sampling/icon-192.png",
)


@login_required
@ensure_csrf_cookie
def scanner(request):
    if not can(request.user, Action.SCAN):
        raise Http404
    return render(request, "sampling/scanner.html", {"version": SCANNER_VERSION})


def service_worker(request):
    """Served under /scan/ so that its scope covers the scanner page."""
    import json

    urls = ["/scan/", *[static(f) for f in SCANNER_FILES]]
    response = render(
        request,
        "sampling/sw.js",
        {"version": SCANNER_VERSION, "urls": json.dumps(urls)},
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
        "icons": [{"src": static("sampling/icon-192.png"), "sizes": "192x192", "type": "image/png"}],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


@login_required
def site_board(request, pk: int):
    """The site leader's view: recent scans, open tubes, throughput per station, refusals to resolve."""
    site = get_in_scope(Site.objects.select_related("area"), request.user, Action.SCAN, pk=pk)
    round_ = Round.objects.filter(status=Round.Status.OPEN).first()
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
            site=site, result=ScanAction.Result.REFUSED, reviewed_at__isnull=True
        ).select_related("user")[:100],
        "sealed_unpacked": Tube.objects.filter(
            site=site, round=round_, status=Tube.Status.SEALED, box__isnull=True
        ).count(),
    }
    return render(request, "sampling/site_board.html", context)
