"""The decorator every page wears: the action (workspace/roles.py) a signed-in user's role must allow."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from workspace import roles


def requires(action: str, **by_method: str):
    """The page needs `action`; a method named here needs its own (e.g. `requires(VIEW, POST=RUN_JOBS)`).
    Refused: the Studio's 403 page saying why. The rules are kept on the view (`view.required`) for the
    permission matrix test (tests/test_permission_matrix.py)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            needed = by_method.get(request.method, action)
            if not roles.can(request.user, needed):
                return forbidden(request, roles.refusal(request.user, needed))
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as exc:  # an object's own rule (roles.require(user, RUN_JOBS, job))
                return forbidden(request, str(exc))

        wrapper.required = {"*": action, **by_method}
        return wrapper

    return decorate


def forbidden(request, reason: str):
    return render(request, "403.html", {"reason": reason}, status=403)


def role(request):
    """Templates' `role`: the signed-in user's, worked out only where a template shows it."""
    return {"role": lambda: roles.role_of(request.user)}
