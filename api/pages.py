"""The user's page for personal access tokens: create (the secret is shown once) and revoke."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from api.models import AccessToken
from studio.views.buttons import button_of


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Token name", max_length=100, help_text="What the token is for, e.g. 'nightly pipeline'."
    )


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


@button_of("account:tokens", "Revoke")
def revoke(request):
    pk = request.POST.get("token", "")
    token = get_object_or_404(AccessToken, pk=int(pk) if pk.isdigit() else 0, user=request.user)
    token.revoke()
    messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("account:tokens")
