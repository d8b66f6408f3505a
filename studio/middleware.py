"""The Studio's own middleware."""

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django_htmx.http import HttpResponseClientRedirect


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
