from django.urls import path

from api import pages

app_name = "account"
urlpatterns = [
    path("tokens/", pages.tokens, name="tokens"),
    path("tokens/revoke/", pages.revoke, name="revoke-token"),
    path("api/", pages.api_reference, name="api-reference"),
]
