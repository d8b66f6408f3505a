"""Sign-in pages: the lockout answer of django-axes, and password reset only when e-mail is configured."""

from functools import wraps

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import render


class SignInView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "password_reset": settings.PASSWORD_RESET_ENABLED}


def locked_out(request, original_response=None, credentials=None):
    """What a locked-out sign-in sees (settings.AXES_LOCKOUT_CALLABLE), with the figures that apply: 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)


def if_email(view):
    """Password reset sends a link by e-mail: without a configured e-mail backend its pages do not exist (a reset
    that cannot arrive must not say it was sent)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.PASSWORD_RESET_ENABLED:
            raise Http404("Password reset is off: no e-mail backend is configured (docs/DEPLOY.md).")
        return view(request, *args, **kwargs)

    return wrapper
