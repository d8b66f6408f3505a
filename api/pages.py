"""The user's pages for the REST API: personal access tokens (create, the secret shown once, revoke) and the API
reference, read from the same OpenAPI document /api/v1/openapi.json serves."""

import yaml
from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from api.models import AccessToken
from api.views import OPENAPI_FILE
from studio.views.access import requires
from studio.views.buttons import button_of
from workspace.roles import VIEW

METHODS = ("get", "post", "put", "patch", "delete")


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Token name", max_length=100, help_text="What the token is for, e.g. 'nightly pipeline'."
    )


@requires(VIEW)
def tokens(request):
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        _, secret = AccessToken.issue(request.user, form.cleaned_data["name"])
        form = TokenForm()
    # Rendered, not redirected: the secret must not travel in a URL or a session, and is never shown again.
    response = render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": request.user.access_tokens.all(),
            "api_root": request.build_absolute_uri("/api/v1/"),
        },
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@requires(VIEW)
@button_of("account:tokens", "Revoke")
def revoke(request):
    pk = request.POST.get("token", "")
    token = get_object_or_404(AccessToken, pk=int(pk) if pk.isdigit() else 0, user=request.user)
    token.revoke()
    messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("account:tokens")


@requires(VIEW)
def api_reference(request):
    """Every operation of the REST API, as its OpenAPI document describes it."""
    document = yaml.safe_load(OPENAPI_FILE.read_text())

    def deref(node):  # {"$ref": "#/components/parameters/endpointName"} -> that object
        if "$ref" not in node:
            return node
        target = document
        for key in node["$ref"].removeprefix("#/").split("/"):
            target = target[key]
        return target

    operations = [
        {
            "method": method.upper(),
            "path": "/api/v1" + path,
            "summary": operation.get("summary", ""),
            "description": operation.get("description", ""),
            "parameters": [deref(p) for p in (*item.get("parameters", []), *operation.get("parameters", []))],
            "responses": [
                (code, deref(answer).get("description", "")) for code, answer in operation["responses"].items()
            ],
        }
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    return render(
        request,
        "api/reference.html",
        {"info": document["info"], "operations": operations, "api_root": request.build_absolute_uri("/api/v1/")},
    )
