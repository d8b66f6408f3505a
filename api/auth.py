"""The one decorator every API view wears: token auth, allowed methods, JSON errors."""

import json
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from api.models import AccessToken
from workspace import roles
from workspace.limits import json_depth

# A few ValidationError codes mean something other than "your request is malformed".
STATUS_BY_CODE = {
    "output_exists": 409,
    "output_in_use": 409,
    "not_retryable": 409,
    "already_retried": 409,
    "endpoint_exists": 409,
    "deployment_exists": 409,
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


def validation_error(exc: ValidationError) -> JsonResponse:
    code = getattr(exc, "code", None) or "invalid"
    if hasattr(exc, "error_dict"):
        message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        code = next(iter(e.code for errs in exc.error_dict.values() for e in errs if e.code), code)
    else:
        message = " ".join(exc.messages)
    return error(STATUS_BY_CODE.get(code, 400), code, message)


def _bearer(request) -> str:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def json_body(request) -> dict:
    return parse_json(request.body)


def parse_json(raw: bytes | str) -> dict:
    """A JSON object within the API's limits (a body, or a multipart field holding one)."""
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The request body is not JSON: {exc}") from exc
    except RecursionError:
        body = None  # deeper than the parser goes: far past the limit below
    if body is None or json_depth(body) > settings.API_MAX_JSON_DEPTH:
        raise ApiError(400, "invalid_json", f"The request body nests deeper than {settings.API_MAX_JSON_DEPTH} levels.")
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return body


def optional_json_body(request) -> dict:
    """The JSON object of a request whose body may be left out (no body, or an empty form, is {})."""
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded") and not request.POST:
        return {}
    return json_body(request) if request.body.strip() else {}


def api_view(*methods, require: str | dict[str, str]):
    """Token auth instead of the session: exempt from sign-in redirects and CSRF, enforced here instead. `require` is
    the action (workspace/roles.py) the token's user's role must allow, or one per method ({"GET": VIEW, ...})."""
    rules = require if isinstance(require, dict) else dict.fromkeys(methods, require)
    assert set(rules) == set(methods), f"a rule for each method of {methods}"

    def decorate(view):
        @login_not_required
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            token = AccessToken.authenticate(_bearer(request))
            if token is None:
                # Never a redirect: scripts need a status they can act on.
                return error(
                    401,
                    "unauthorized",
                    "A valid personal access token is required: send 'Authorization: Bearer <token>'.",
                    WWW_Authenticate='Bearer realm="api"',
                )
            if request.method not in methods:
                return error(
                    405, "method_not_allowed", f"{request.method} is not allowed here.", Allow=", ".join(methods)
                )
            request.user, request.token = token.user, token
            if not roles.can(request.user, rules[request.method]):
                return error(403, "forbidden", roles.refusal(request.user, rules[request.method]))
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as exc:  # an object's own rule (roles.require(user, RUN_JOBS, job))
                return error(403, "forbidden", str(exc))
            except ApiError as exc:
                return error(exc.status, exc.code, exc.message)
            except ValidationError as exc:
                return validation_error(exc)
            except Http404 as exc:
                return error(404, "not_found", str(exc) or "Not found.")
            except RequestDataTooBig:  # a body sent without its length, read past the limit
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                return error(413, "too_large", f"The request body is larger than the limit of {limit:,} bytes.")

        wrapper.api_methods = methods
        wrapper.required = rules
        return wrapper

    return decorate
