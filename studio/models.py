"""Workspace assets kept in our own database: datastores (models live in the MLflow registry)."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

NAME_VALIDATOR = RegexValidator(
    r"^[a-zA-Z][a-zA-Z0-9_-]{0,254}$",
    "Use letters, digits, '-' and '_', starting with a letter.",
    code="invalid_name",
)

DEFAULT_DATASTORE = "workspaceblobstore"


class Datastore(models.Model):
    LOCAL = "local"
    AZURE_BLOB = "azure_blob"
    KINDS = [(LOCAL, "Local folder"), (AZURE_BLOB, "Azure Blob Storage")]

    name = models.CharField(max_length=255, unique=True, validators=[NAME_VALIDATOR])
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=KINDS, default=LOCAL)
    # local: the folder; azure_blob: account URL and container.
    root = models.CharField(max_length=1000, blank=True)
    account_url = models.CharField(max_length=500, blank=True)
    container = models.CharField(max_length=63, blank=True)
    is_default = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def get_default(cls):
        store = cls.objects.filter(is_default=True).first()
        if store is None:
            store, _ = cls.objects.get_or_create(
                name=DEFAULT_DATASTORE,
                defaults={"kind": cls.LOCAL, "is_default": True, "description": "The workspace's default datastore."},
            )
            if not store.is_default:
                store.is_default = True
                store.save(update_fields=["is_default"])
        return store

    def local_root(self) -> Path:
        if self.kind != self.LOCAL:
            raise ValidationError("Datastore '%(name)s' is not a local folder.", code="not_local", params={"name": self.name})
        return Path(self.root) if self.root else Path(settings.STUDIO_HOME) / "datastores" / self.name

    def client(self):
        from studio import storage

        return storage.client_for(self)

    def uri(self, path=""):
        return f"azureml://datastores/{self.name}/paths/{path.lstrip('/')}"
