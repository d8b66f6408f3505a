"""Views that only a button posts to."""

from functools import wraps

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse


def button_of(page: str, label: str):
    """A view behind the button `label` of the page named `page` (given the view's own URL arguments when it takes
    them). A visit to its address, which the sign-in page sends back to when the session expired as the button was
    pressed, goes to that page saying nothing was done: it was a bare 405 error, the page to be found again."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, **kwargs):
            if request.method == "POST":
                return view(request, **kwargs)
            messages.warning(request, f"Nothing was done: press {label} on this page to do it.")
            try:
                return redirect(reverse(page, kwargs=kwargs))
            except NoReverseMatch:
                return redirect(page)

        return wrapper

    return decorate
