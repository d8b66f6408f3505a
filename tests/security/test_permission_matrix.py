"""The permission matrix: every URL pattern and API route of the URLconf, each method it answers, asked by anonymous,
a user with no role, Reader, Data scientist, Contributor and Owner: allowed or refused, as MATRIX says.

MATRIX names the least role each route needs (docs/SECURITY.md, "Roles: who can do what"). It is written here, not
read from workspace/roles.py, so that changing who may do what changes this file too; a route that is not in it (a
new page or API route without a rule) fails test_every_route_has_a_rule. The addresses use names that do not exist:
an allowed request reaches the view and answers (mostly 404), a refused one never gets that far."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.test_login_required import _concrete
from workspace.roles import CONTRIBUTOR, DATA_SCIENTIST, OWNER, READER, ROLES

R, DS, C, OW = READER, DATA_SCIENTIST, CONTRIBUTOR, OWNER
MATRIX = {
    "home": R,
    "metrics": R,  # or a scraper's METRICS_TOKEN (tests/test_health.py)
    "models": R,
    "model-register": DS,
    "model-detail": R,
    "model-alias": C,  # moving an alias changes what the deployments pinned to it score with
    "data": R,
    "datastore-register": OW,
    "datastore-edit": OW,
    "datastore-delete": OW,
    "datastore-default": OW,
    "datastore-browse": R,
    "dataset-register": DS,
    "dataset-detail": R,
    "environments": R,
    "environment-detail": R,
    "environment-rebuild": C,
    "compute": {"GET": R, "POST": OW},  # + New: Owners manage compute
    "endpoints:list": R,
    "endpoints:create": C,
    "endpoints:wizard": C,
    "endpoints:detail": R,
    "endpoints:runs": R,
    "endpoints:metrics": R,
    "endpoints:create-job": DS,
    "endpoints:schedules": R,
    "endpoints:create-schedule": C,
    "endpoints:preview-job": DS,
    "endpoints:default": C,
    "endpoints:compare": DS,
    "endpoints:comparison": R,
    "endpoints:delete": C,
    "endpoints:add-deployment": C,
    "endpoints:delete-deployment": C,
    "jobs:list": R,
    "jobs:preview": R,
    "jobs:detail": R,
    "jobs:cancel": DS,  # one's own jobs: an Owner anyone's (tests/test_roles.py)
    "jobs:retry": DS,
    "jobs:download": R,
    "jobs:log": R,
    "schedules:detail": R,
    "schedules:edit": C,
    "schedules:run": C,
    "schedules:toggle": C,
    "schedules:delete": C,
    "account:tokens": R,
    "account:revoke-token": R,
    "account:api-reference": R,
    "api:openapi": R,
    "api:endpoints": {"GET": R, "POST": C},
    "api:endpoint": {"GET": R, "PUT": C, "PATCH": C, "DELETE": C},
    "api:deployments": {"GET": R, "POST": C},
    "api:deployment": {"GET": R, "PUT": C, "PATCH": C, "DELETE": C},
    "api:endpoint-jobs": {"GET": R, "POST": DS},
    "api:endpoint-comparisons": DS,
    "api:comparison": R,
    "api:job": R,
    "api:job-cancel": DS,
    "api:job-retry": DS,
    "api:job-output": R,
    "api:endpoint-schedules": {"GET": R, "POST": C},
    "api:schedule": {"GET": R, "DELETE": C},
    "api:schedule-run": C,
    "api:schedule-enable": C,
    "api:schedule-disable": C,
    "api:models": {"GET": R, "POST": DS},
    "api:model": R,
    "api:model-alias": {"PUT": C, "DELETE": C},  # as the model page's Set alias
    "api:datasets": {"GET": R, "POST": DS},
    "api:dataset": R,
    "api:environments": {"GET": R, "POST": C},
    "api:environment": R,
    "api:environment-rebuild": C,
    "api:compute": {"GET": R, "POST": OW},
    "api:compute-detail": {"GET": R, "PUT": OW, "DELETE": OW},
    "api:datastores": {"GET": R, "POST": OW},
    "api:datastore": {"GET": R, "PUT": OW, "DELETE": OW},
    "api:datastore-default": OW,
}
# Not the Studio's rules: Django's sign-in pages (for everyone; password change for every signed-in user), the
# probes (tests/test_health.py) and the admin (staff only; an Owner is staff: tests/test_roles.py).
EXEMPT_PREFIXES = ("accounts/", "admin/")
PROBES = {"healthz", "readyz"}

ANONYMOUS, NO_ROLE = "anonymous", "no role"
COLUMNS = (ANONYMOUS, NO_ROLE, READER, DATA_SCIENTIST, CONTRIBUTOR, OWNER)


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}{p.name}", p.callback


ROUTES = [
    (route, name, view)
    for route, name, view in _walk(get_resolver().url_patterns)
    if not route.startswith(EXEMPT_PREFIXES) and name not in PROBES
]


def _methods(route, view):
    return view.api_methods if route.startswith("api/") else ("GET", "POST")


def least_role(name, method):
    rule = MATRIX[name]
    return rule[method] if isinstance(rule, dict) else rule


def allowed(name, method) -> set[str]:
    """The columns that may: the least role and every role above it."""
    return set(ROLES[: ROLES.index(least_role(name, method)) + 1])


CASES = [(route, name, method) for route, name, view in ROUTES if name in MATRIX for method in _methods(route, view)]


def test_every_route_has_a_rule():
    names = {name for _, name, _ in ROUTES}
    assert sorted(names - set(MATRIX)) == [], "routes without a rule: add them to MATRIX and decorate their view"
    assert sorted(set(MATRIX) - names) == [], "rules of routes that are gone"
    for route, name, view in ROUTES:
        rule = MATRIX[name]
        if isinstance(rule, dict):
            assert set(rule) == set(_methods(route, view)), name
        if name != "metrics":  # its own check: a signed-in user's role, or the scraper's token
            assert getattr(view, "required", None), f"{name}'s view decides nothing: decorate it (requires/api_view)"


@pytest.fixture
def people(django_user_model):
    """A user of each column, with an API token each; the anonymous column is nobody."""
    from api.models import AccessToken
    from workspace import roles

    found = {}
    for column in COLUMNS[1:]:
        person = django_user_model.objects.create(username=column.replace(" ", "-").lower())
        if column != NO_ROLE:
            roles.assign(person, column)
        found[column] = (person, AccessToken.issue(person, "matrix")[1])
    return found


def _answer(client, people, column, url, method, api) -> bool:
    """Whether the column's request got through to the view (True) or was refused (False)."""
    client.logout()
    headers = {}
    if column != ANONYMOUS:
        person, secret = people[column]
        if api:
            headers["Authorization"] = f"Bearer {secret}"
        else:
            client.force_login(person)
    response = getattr(client, method.lower())(url, headers=headers)
    if column == ANONYMOUS:
        refused = response.status_code == 401 or (
            response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        )
    else:
        assert response.status_code != 401, (column, method, url)
        assert not response.get("Location", "").startswith("/accounts/login/"), (column, method, url)
        refused = response.status_code == 403
    return not refused


@pytest.mark.django_db
@pytest.mark.parametrize("route,name,method", CASES, ids=[f"{m} {r}" for r, _, m in CASES])
def test_the_matrix(client, people, route, name, method):
    url = _concrete(route)
    answers = {column: _answer(client, people, column, url, method, route.startswith("api/")) for column in COLUMNS}
    assert answers == {column: column in allowed(name, method) for column in COLUMNS}


def test_the_matrix_covers_the_studio():
    """The walk found pages and API routes, and each role is the least of some route (no dead column)."""
    assert len(CASES) > 100 and {least_role(n, m) for _, n, m in CASES} == set(ROLES)
    assert {"endpoints:create", "jobs:cancel", "api:endpoint-jobs", "datastore-edit"} <= {n for _, n, _ in CASES}
