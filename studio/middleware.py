"""The Studio's own middleware."""

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponse
from django_htmx.http import HttpResponseClientRedirect

from api.auth import error


class HtmxSignInMiddleware:
    """An htmx request of a session that expired (the Runs tab's polling, Preview...) sends the whole page to sign-in,
    coming back to that page: the sign-in page was swapped into the part htmx asked for."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.headers.get("HX-Request") == "true"
            and response.status_code == 302
            and response.get("Location", "").startswith(settings.LOGIN_URL)
        ):
            page = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = (page.path + (f"?{page.query}" if page.query else "")) or "/"
            return HttpResponseClientRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': back})}")
        return response


class RequestLimitsMiddleware:
    """A body larger than its limit is refused before anything reads it (413): the API's JSON bodies at
    DATA_UPLOAD_MAX_MEMORY_SIZE, in the API's error shape; a page's form with its uploads at MAX_REQUEST_BYTES."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        api = request.path_info.startswith("/api/")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if api else settings.MAX_REQUEST_BYTES
        if length > limit:
            message = f"The request body is {length:,} bytes; the limit is {limit:,} bytes."
            return (
                error(413, "too_large", message)
                if api
                else HttpResponse(message, status=413, content_type="text/plain")
            )
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """settings.CONTENT_SECURITY_POLICY on every answer that has none: a script that got into a page (or a file
    served from the Studio's origin) does not run, since only the Studio's own static files may."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
