from django.conf import settings
from django.http import HttpResponseBadRequest
from django.utils import translation


class ChosenLanguageMiddleware:
    """Chinese unless the user picked English with the switch in the header.

    Django's LocaleMiddleware would follow the browser's Accept-Language, and staff phones and
    intranet PCs are often set to English while their users read Chinese best.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class DebugNotFoundMiddleware:
    """gridroll's own 404 page with DEBUG on too (the demo runs with DEBUG on).

    With DEBUG on, Django answers every 404 with its technical page, in English, listing the URL patterns:
    what a new user of the demo met (issue 18, defect 4). Production never shows it; now the demo does not
    either. Only that page is replaced (it alone carries Django's ``NONE,NOARCHIVE`` robots tag), never a
    404 a view wrote itself (the API's JSON, a download's text).
    """

    MARK = b'<meta name="robots" content="NONE,NOARCHIVE">'

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not response.streaming
            and self.MARK in response.content[:2000]
        ):
            from django.http import Http404
            from django.views.defaults import page_not_found

            return page_not_found(request, Http404())
        return response


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not send: a Content-Security-Policy that the pages satisfy
    (scripts from our static files only), a Permissions-Policy (the camera for the scanner page, nothing
    else), and ``Cache-Control: no-store`` on every answer that did not choose its own caching — pages,
    exports and API answers carry personal data, and a shared intranet PC or a proxy must not keep them.
    Static files are served by nginx with their own headers (docs/deployment.md).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path:
            # PostgreSQL refuses NUL in text: a query parameter carrying one would be a 500 further on.
            response = HttpResponseBadRequest("NUL in the request")
        else:
            response = self.get_response(request)
        if request.path.startswith(self.static_prefix):
            return response
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        elif "no-store" not in response.headers["Cache-Control"]:
            response.headers["Cache-Control"] += ", no-store"
        return response
