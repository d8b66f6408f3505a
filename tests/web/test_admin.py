"""The Django admin lists every model of the Studio, with search, read-only, and never a secret."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from workspace.models import Datastore

pytestmark = pytest.mark.django_db
OURS = ("studio", "endpoints", "jobs", "schedules", "api", "compute")


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="s3cret-pass!"))
    return client


def test_every_model_of_the_studio_is_in_the_admin():
    ours = [m for m in apps.get_models() if m._meta.app_label in OURS]
    assert ours and [m.__name__ for m in ours if not admin.site.is_registered(m)] == []


def test_each_list_opens_and_searches_and_nothing_can_be_added(staff):
    for model in (m for m in apps.get_models() if m._meta.app_label in OURS):
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert staff.get(url, {"q": "x"}).status_code == 200, url
        add = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        assert staff.get(add).status_code == 403, add


def test_a_datastore_secret_is_not_shown_even_encrypted(staff):
    store = Datastore(name="blobs", kind=Datastore.AZURE_BLOB, account_url="https://a.blob.core.windows.net")
    store.set_secret("the-account-key")
    store.save()
    page = staff.get(reverse("admin:studio_datastore_change", args=[store.pk])).content.decode()
    assert "blobs" in page and store.secret_encrypted not in page and "the-account-key" not in page
