"""Workspace assets kept in our own database: datastores and datasets (models live in the MLflow registry)."""

import fnmatch
import posixpath
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import IntegrityError, models, transaction
from django.dispatch import Signal

from workspace import blob, limits, registry, s3, storage
from workspace.roles import Role  # noqa: F401  (the roles' model: workspace/roles.py)
from workspace.secrets import decrypt, encrypt

NAME_VALIDATOR = RegexValidator(
    r"^[a-zA-Z][a-zA-Z0-9_-]{0,254}$",
    "Use letters, digits, '-' and '_', starting with a letter.",
    code="invalid_name",
)

# A data asset's version, as Azure allows: any string of letters, digits, '.', '-' and '_' up to 30 characters
# ("3", "v1.2", "2024-01-15"); at least one letter or digit (it names the upload folder: never "." or "..").
DATASET_VERSION_VALIDATOR = RegexValidator(
    r"^(?=.*[a-zA-Z0-9])[a-zA-Z0-9._-]{1,30}$",
    "A version is up to 30 letters, digits, '.', '-' and '_' (e.g. 3, v1.2, 2024-01-15).",
    code="invalid_version",
)

DEFAULT_DATASTORE = "workspaceblobstore"
# Sent when a datastore is about to be deleted: each receiver answers the reasons it is still in use (a list of
# sentences), so layers above (jobs reading or writing it) keep it without this module knowing them.
datastore_in_use = Signal()


def local_roots() -> list[Path]:
    """The folders a local datastore may be rooted in: settings.LOCAL_DATASTORE_ROOTS, else STUDIO_HOME/datastores."""
    roots = settings.LOCAL_DATASTORE_ROOTS or [Path(settings.STUDIO_HOME) / "datastores"]
    return [Path(r).resolve() for r in roots]


def _sqlite_file(uri: str) -> list[Path]:
    return [Path(uri.removeprefix("sqlite:///"))] if uri.startswith("sqlite:///") else []


def server_files() -> tuple[list[Path], list[Path]]:
    """The Studio's own files, that no datastore may reach: (files and folders a datastore root may not contain,
    folders it may not be inside either). A datastore able to write static files or code is a stored XSS or worse."""
    from django.db import connections

    home = Path(settings.STUDIO_HOME)
    folders = [Path(settings.STATIC_ROOT), home / "code", home / "envs", home / "model-cache", home / "mlartifacts"]
    folders += [Path(registry.artifact_location().removeprefix("file://"))]
    files = [Path(settings.SECRET_KEY_FILE), home / "secret_key", Path(settings.BASE_DIR) / "studio"]
    files += _sqlite_file(registry.tracking_uri()) + _sqlite_file(registry.registry_uri())
    for alias in connections:
        db = connections[alias].settings_dict
        if db["ENGINE"].endswith("sqlite3"):
            files.append(Path(db["NAME"]))
    return [p.resolve() for p in files + folders], [p.resolve() for p in folders]


def _overlaps(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_local_root(root: Path) -> Path:
    """A local datastore's folder, resolved (symlinks followed), if it is inside an allowed root and reaches none
    of the Studio's own files; else ValidationError."""
    resolved, allowed = Path(root).resolve(), local_roots()
    if not any(_overlaps(resolved, a) for a in allowed):
        raise ValidationError(
            "The folder must be inside %(allowed)s.",
            code="root_not_allowed",
            params={"allowed": ", ".join(str(a) for a in allowed)},
        )
    contained, around = server_files()
    reached = [p for p in contained if _overlaps(p, resolved)] + [p for p in around if _overlaps(resolved, p)]
    if reached:
        raise ValidationError(
            "The folder %(root)s would reach the Studio's own files (%(what)s): choose another folder.",
            code="root_protected",
            params={"root": str(resolved), "what": str(reached[0])},
        )
    return resolved


class Datastore(models.Model):
    LOCAL = "local"
    AZURE_BLOB = "azure_blob"
    S3 = "s3"
    KINDS = [(LOCAL, "Local folder"), (AZURE_BLOB, "Azure Blob Storage"), (S3, "Amazon S3 (or S3-compatible)")]
    CREDENTIAL_TYPES = [
        ("account_key", "Account key"),
        ("sas", "SAS token"),
        ("connection_string", "Connection string"),
        ("none", "None (anonymous, public container)"),
    ]

    name = models.CharField(max_length=255, unique=True, validators=[NAME_VALIDATOR])
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=KINDS, default=LOCAL)
    # local: the folder; azure_blob: account URL and container.
    root = models.CharField(max_length=1000, blank=True)
    account_url = models.CharField(max_length=500, blank=True)
    container = models.CharField(max_length=63, blank=True)
    credential_type = models.CharField(max_length=20, choices=CREDENTIAL_TYPES, default="none")
    # s3: the endpoint (empty: AWS itself), bucket, region (empty: us-east-1) and access key ID (empty: anonymous).
    endpoint_url = models.CharField(max_length=500, blank=True)
    bucket = models.CharField(max_length=63, blank=True)
    region = models.CharField(max_length=50, blank=True)
    access_key_id = models.CharField(max_length=128, blank=True)
    # Fernet token of the account key / SAS token / connection string / S3 secret access key; never rendered,
    # never logged.
    secret_encrypted = models.TextField(blank=True, editable=False)
    is_default = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def __repr__(self):  # never the secret, even in a traceback
        return f"<Datastore {self.name} ({self.kind})>"

    def set_secret(self, value: str):
        self.secret_encrypted = encrypt(value)

    def get_secret(self) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return decrypt(self.secret_encrypted)
        except InvalidToken as exc:
            raise storage.StorageError(
                f"The credentials of datastore '{self.name}' cannot be decrypted (the secret key "
                "changed?): edit the datastore and enter them again."
            ) from exc

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    def location(self) -> str:
        if self.kind == self.S3:
            return f"s3://{self.bucket}" + (f" at {self.endpoint_url.rstrip('/')}" if self.endpoint_url else "")
        if self.kind == self.AZURE_BLOB:
            return (
                f"{self.account_url.rstrip('/')}/{self.container}"
                if self.account_url
                else f"container {self.container}"
            )
        return str(self.local_root())

    @property
    def authentication(self) -> str:
        """How the Studio signs in to the datastore, in the words of the form ("" for a local folder)."""
        if self.kind == self.S3:
            return "None (anonymous, public bucket)" if not self.access_key_id else "Access key"
        return self.get_credential_type_display() if self.kind == self.AZURE_BLOB else ""

    def users(self) -> list[str]:
        """What keeps this datastore from being deleted: being the default, datasets, jobs."""
        reasons = []
        if self.is_default:
            reasons.append("it is the default datastore")
        if n := self.datasets.count():
            reasons.append(f"{n} dataset version(s) use it")
        for _receiver, more in datastore_in_use.send(sender=Datastore, datastore=self):
            reasons.extend(more)
        return reasons

    def set_default(self):
        with transaction.atomic():
            Datastore.objects.exclude(pk=self.pk).filter(is_default=True).update(is_default=False)
            Datastore.objects.filter(pk=self.pk).update(is_default=True)
        self.is_default = True

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
            raise ValidationError(
                "Datastore '%(name)s' is not a local folder.", code="not_local", params={"name": self.name}
            )
        return Path(self.root) if self.root else Path(settings.STUDIO_HOME) / "datastores" / self.name

    def client(self):
        if self.kind == self.LOCAL and self.root:  # an empty root is the Studio's own datastores/<name> folder
            try:
                check_local_root(self.local_root())
            except ValidationError as exc:
                raise storage.StorageError(f"Datastore '{self.name}' cannot be used: {exc.messages[0]}") from exc
        if self.kind == self.S3:
            return s3.S3Store(self.endpoint_url, self.bucket, self.region, self.access_key_id, self.get_secret())
        if self.kind == self.AZURE_BLOB:
            return blob.BlobStore(self.account_url, self.container, self.credential_type, self.get_secret())
        return storage.client_for(self)

    def uri(self, path=""):
        return f"azureml://datastores/{self.name}/paths/{path.lstrip('/')}"


class Dataset(models.Model):
    """One immutable version of a data asset: a datastore path (folder, file or glob on the file name)."""

    URI_FOLDER, URI_FILE = "uri_folder", "uri_file"
    TYPES = [(URI_FOLDER, "Folder (uri_folder)"), (URI_FILE, "File (uri_file)")]
    GLOB_CHARS = set("*?[")

    name = models.CharField(max_length=255, validators=[NAME_VALIDATOR])
    version = models.CharField(max_length=30, validators=[DATASET_VERSION_VALIDATOR])
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=TYPES, default=URI_FOLDER)
    datastore = models.ForeignKey(Datastore, on_delete=models.PROTECT, related_name="datasets")
    path = models.CharField(max_length=1000, blank=True)
    uploaded = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["name", "-created", "-id"]  # newest first: versions are strings, "latest" the last created
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="dataset_name_version")]

    def __str__(self):
        return f"{self.name}:{self.version}"

    @property
    def uri(self) -> str:
        return f"azureml:{self.name}:{self.version}"

    @property
    def datastore_uri(self) -> str:
        return self.datastore.uri(self.path)

    def save(self, *args, **kwargs):
        if self.pk and not kwargs.get("force_insert"):
            raise ValidationError("Dataset versions are immutable: register a new version.", code="dataset_immutable")
        super().save(*args, **kwargs)

    @classmethod
    def next_version(cls, name: str) -> str:
        """The version a new one gets when none is given: the next integer after the highest integer version
        ("v1.2" and "2024-01-15" do not count), as Azure numbers them."""
        versions = cls.objects.filter(name=name).values_list("version", flat=True)
        return str(max((int(v) for v in versions if v.isdigit()), default=0) + 1)

    @classmethod
    def check_version(cls, name: str, version: str) -> str:
        """A version given for a new one: Azure's characters, not the label "latest", not taken (ValidationError)."""
        version = str(version).strip()
        DATASET_VERSION_VALIDATOR(version)
        if version.lower() == "latest":
            raise ValidationError(
                "'latest' names the most recent version (azureml:<name>@latest); choose another version.",
                code="reserved_version",
            )
        if cls.objects.filter(name=name, version=version).exists():
            raise ValidationError(
                "Dataset '%(name)s' already has a version %(version)s; versions never change: give another one, "
                "or leave the version empty for the next number (%(next)s).",
                code="dataset_version_exists",
                params={"name": name, "version": version, "next": cls.next_version(name)},
            )
        return version

    @classmethod
    def latest(cls, name: str):
        """The most recently created version (Azure's @latest), or None."""
        return cls.objects.filter(name=name).select_related("datastore").order_by("-created", "-id").first()

    @classmethod
    def lookup(cls, name: str, version: str | int | None = None) -> "Dataset":
        """A version ("3", "v1.2"), or the latest (the most recently created) when version is None or "latest"."""
        latest = cls.latest(name)
        if latest is None:
            raise ValidationError("Dataset '%(name)s' does not exist.", code="unknown_dataset", params={"name": name})
        if version in (None, "", "latest"):
            return latest
        found = cls.objects.filter(name=name, version=str(version)).select_related("datastore").first()
        if found is None:
            raise ValidationError(
                "Dataset '%(name)s' has no version %(version)s (latest is %(latest)s).",
                code="unknown_dataset_version",
                params={"name": name, "version": version, "latest": latest.version},
            )
        return found

    def _create(self):
        """Insert this new version; a version taken meanwhile (two registrations at once) is refused, coded."""
        try:
            with transaction.atomic():
                self.save(force_insert=True)
        except IntegrityError as exc:
            raise ValidationError(
                "Dataset '%(name)s' already has a version %(version)s; versions never change: give another one.",
                code="dataset_version_exists",
                params={"name": self.name, "version": self.version},
            ) from exc
        return self

    def split_glob(self) -> tuple[str, str]:
        """(folder, pattern) when the last path segment is a glob such as "in/*.csv", else (path, "")."""
        head, tail = posixpath.split(self.path)
        return (head, tail) if self.GLOB_CHARS & set(tail) else (self.path, "")

    def files(self, client=None):
        """The file entries of this version, read from its datastore now."""
        client = client or self.datastore.client()
        folder, pattern = self.split_glob()
        entries = client.files(folder)
        return [e for e in entries if not pattern or fnmatch.fnmatchcase(posixpath.basename(e.path), pattern)]

    @classmethod
    def _version_for(cls, name: str, version) -> str:
        return cls.next_version(name) if version in (None, "") else cls.check_version(name, version)

    @classmethod
    def register(
        cls, *, name, datastore, path, type, description="", user=None, uploaded=False, version=None
    ) -> "Dataset":
        """A new version of dataset `name`: `version` when given (any string Azure allows, not taken), else the
        next integer."""
        return cls._insert(name, cls._version_for(name, version), datastore, path, type, description, user, uploaded)

    @classmethod
    def _insert(cls, name, version, datastore, path, type, description, user, uploaded) -> "Dataset":
        """The version, its number already chosen, saved (refused, coded, when taken meanwhile)."""
        return cls(
            name=name,
            version=version,
            datastore=datastore,
            path=path,
            type=type,
            description=description,
            created_by=user,
            uploaded=uploaded,
        )._create()

    @classmethod
    def register_upload(cls, *, name, uploads, type, description="", user=None, version=None) -> "Dataset":
        """Store uploaded files in the default datastore under datasets/<name>/<version>/ and register them.
        If anything fails, the files written so far are removed: no half-created dataset."""
        limits.check_upload_size(sum(upload.size for upload in uploads))
        store = Datastore.get_default()
        client = store.client()
        with transaction.atomic():
            version = cls._version_for(name, version)
            folder = f"datasets/{name}/{version}"
            if client.exists(folder):
                raise ValidationError(
                    "The folder %(uri)s already exists; it is not overwritten.",
                    code="upload_folder_exists",
                    params={"uri": store.uri(folder)},
                )
            try:
                names = []
                for upload in uploads:
                    names.append(
                        f"{folder}/{storage.clean_path(posixpath.basename(upload.name.replace(chr(92), '/')))}"
                    )
                    client.write(names[-1], b"".join(upload.chunks()))
                path = names[0] if type == cls.URI_FILE else folder
                return cls._insert(name, version, store, path, type, description, user, uploaded=True)
            except BaseException:
                client.delete(folder)
                raise


def source_client(datastore_name: str, query: str = ""):
    """Where a job's input files are read from: the named datastore, or public URLs when the name is empty (with
    the SAS token `query` the input URL carried, if any)."""
    if not datastore_name:
        return storage.PublicSource(query)
    return Datastore.objects.get(name=datastore_name).client()
