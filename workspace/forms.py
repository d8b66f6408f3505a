import json
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from endpoints.models import COMPUTE_NAME_VALIDATOR
from engine import reading
from workspace import limits, registry, storage
from workspace.compute.models import ComputeCluster
from workspace.models import DATASET_VERSION_VALIDATOR, NAME_VALIDATOR, Dataset, Datastore, check_local_root


def description_field() -> forms.CharField:
    """Every form's Description: a few lines, at most settings.DESCRIPTION_MAX_CHARS characters."""
    return forms.CharField(
        label="Description",
        required=False,
        max_length=settings.DESCRIPTION_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RegisterModelForm(forms.Form):
    MLFLOW, CUSTOM = "mlflow", "custom"

    name = forms.CharField(label="Name", max_length=255, validators=[NAME_VALIDATOR])
    description = description_field()
    model_type = forms.ChoiceField(
        label="Model type",
        widget=forms.RadioSelect,
        required=False,
        initial=MLFLOW,
        choices=[(MLFLOW, "MLflow"), (CUSTOM, "Custom")],
        help_text="MLflow models are scored without code; Custom models need a scoring script.",
    )
    model_zip = forms.FileField(
        label="Model file or folder (.zip)",
        help_text="MLflow: zip the folder that mlflow.save_model wrote (it holds an MLmodel file). "
        "Custom: one file (e.g. model.pkl) or a .zip of the model's folder; the "
        "scoring script finds it under $AZUREML_MODEL_DIR/model.",
    )

    def clean_model_type(self):
        return self.cleaned_data["model_type"] or self.MLFLOW

    def clean(self):
        data = super().clean()
        upload = data.get("model_zip")
        if upload is None:
            return data
        if upload.size > settings.MODEL_UPLOAD_MAX_BYTES:
            self.add_error(
                "model_zip",
                ValidationError(
                    "The file is larger than the %(mb)d MB limit.",
                    code="too_large",
                    params={"mb": settings.MODEL_UPLOAD_MAX_BYTES // (1024 * 1024)},
                ),
            )
        elif data.get("model_type") == self.MLFLOW and not upload.name.lower().endswith(".zip"):
            self.add_error(
                "model_zip",
                ValidationError(
                    "Upload a .zip file: an MLflow model is a folder. For a single "
                    "model file choose Model type Custom.",
                    code="not_zip",
                ),
            )
        return data

    def register(self):
        data = self.cleaned_data
        upload = data["model_zip"]
        if data["model_type"] == self.CUSTOM:
            return registry.register_custom(data["name"], upload, upload.name, data["description"])
        return registry.register_zip(data["name"], upload, data["description"])


BUCKET_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    "Bucket names are 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit.",
    code="invalid_bucket",
)


class DatastoreForm(forms.ModelForm):
    """Register or edit a datastore; the connection is tested before anything is saved."""

    # The fields each kind keeps; the others are emptied (and hidden by the page's script).
    KIND_FIELDS = {
        Datastore.LOCAL: ["root"],
        Datastore.AZURE_BLOB: ["account_url", "container", "credential_type", "secret"],
        Datastore.S3: ["endpoint_url", "bucket", "region", "access_key_id", "secret_access_key"],
    }
    secret = forms.CharField(
        label="Account key, SAS token or connection string",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; never shown again. Leave empty when editing to keep the stored one (not when "
        "the account URL, container or authentication changes).",
    )
    description = description_field()
    secret_access_key = forms.CharField(
        label="Secret access key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; never shown again. Leave empty when editing to keep the stored one.",
    )

    class Meta:
        model = Datastore
        fields = [
            "name",
            "description",
            "kind",
            "root",
            "account_url",
            "container",
            "credential_type",
            "endpoint_url",
            "bucket",
            "region",
            "access_key_id",
        ]
        labels = {
            "root": "Folder (local)",
            "account_url": "Account URL",
            "credential_type": "Authentication",
            "endpoint_url": "Endpoint URL",
            "bucket": "Bucket",
            "region": "Region",
            "access_key_id": "Access key ID",
        }
        help_texts = {
            "root": "An absolute folder on the server, inside an allowed root; empty: a new folder under the data directory.",
            "account_url": "e.g. https://<account>.blob.core.windows.net (not needed with a connection string).",
            "endpoint_url": "e.g. https://s3.eu-west-1.amazonaws.com, or an S3-compatible store such as "
            "https://minio.example.com:9000; empty: AWS S3.",
            "region": "e.g. eu-west-1; empty: us-east-1. Most S3-compatible stores accept any.",
            "access_key_id": "Leave it and the secret access key empty for a public bucket (anonymous access).",
        }

    field_order = [*Meta.fields[:7], "secret", *Meta.fields[7:], "secret_access_key"]

    @property
    def kind_fields(self) -> str:
        """KIND_FIELDS for the page's script (data-fields): it shows only the chosen kind's fields."""
        return json.dumps(self.KIND_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credential_type"].required = False  # not asked for a local folder or S3
        if self.instance.pk:
            # Jobs and datasets refer to a datastore by name.
            self.fields["name"].disabled = True

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        kind, data["credential_type"] = data["kind"], data.get("credential_type") or "none"
        for other, fields in self.KIND_FIELDS.items():  # what another kind would keep is emptied
            for field in fields if other != kind else ():
                data[field] = "none" if field == "credential_type" else ""
        if kind == Datastore.LOCAL:
            self.instance.set_secret("")
            self._check_local_root(data.get("root", ""))
        elif kind == Datastore.S3:
            self._check_s3(data)
        else:
            self._check_blob(data)
        if not self.errors:
            fields = [f for f in self.Meta.fields if f != "description"]
            self._test_connection(
                Datastore(secret_encrypted=self.instance.secret_encrypted, **{f: data[f] for f in fields})
            )
        return data

    def _check_local_root(self, root):
        if not root:
            return
        path = Path(root)
        if not path.is_absolute():
            self.add_error("root", ValidationError("Give an absolute folder.", code="root_not_absolute"))
            return
        try:
            check_local_root(path)
        except ValidationError as exc:
            self.add_error("root", exc)

    def _check_blob(self, data):
        credential_type, secret = data["credential_type"], data.get("secret", "")
        if not data.get("container"):
            self.add_error("container", ValidationError("Give the container name.", code="container_required"))
        if credential_type != "connection_string":
            if not data.get("account_url"):
                self.add_error("account_url", ValidationError("Give the account URL.", code="account_url_required"))
            else:
                try:
                    storage.check_public_url(data["account_url"])
                except ValidationError as exc:
                    self.add_error("account_url", exc)
        if credential_type == "none":
            self.instance.set_secret("")
        elif secret:
            self.instance.set_secret(secret)
        elif not self._keeps_stored_secret(data):
            changed = self.instance.pk and self.instance.has_secret
            self.add_error(
                "secret",
                ValidationError(
                    "Give the %(what)s%(again)s.",
                    code="secret_required",
                    params={
                        "what": dict(Datastore.CREDENTIAL_TYPES)[credential_type].lower(),
                        "again": " again: the account URL, container or authentication changed" if changed else "",
                    },
                ),
            )

    def _keeps_stored_secret(self, data) -> bool:
        """An empty secret keeps the stored one only where it was meant to go: the same account URL, container
        and kind of credential (else the connection test would send it to a host the editor chose)."""
        return bool(
            self.instance.pk
            and self.instance.has_secret
            and Datastore.objects.filter(
                pk=self.instance.pk,
                credential_type=data["credential_type"],
                account_url=data.get("account_url", ""),
                container=data.get("container", ""),
            ).exists()
        )

    def _check_s3(self, data):
        if not data.get("bucket"):
            self.add_error("bucket", ValidationError("Give the bucket name.", code="bucket_required"))
        else:
            try:
                BUCKET_VALIDATOR(data["bucket"])
            except ValidationError as exc:
                self.add_error("bucket", exc)
        if data.get("endpoint_url"):
            try:
                storage.check_public_url(data["endpoint_url"])
            except ValidationError as exc:
                self.add_error("endpoint_url", exc)
        key_id, secret = data.get("access_key_id", ""), data.get("secret_access_key", "")
        if not key_id:
            if secret:
                self.add_error(
                    "access_key_id",
                    ValidationError(
                        "Give the access key ID of this secret access key (or leave both empty for anonymous access).",
                        code="access_key_id_required",
                    ),
                )
            self.instance.set_secret("")
        elif secret:
            self.instance.set_secret(secret)
        elif not (
            self.instance.pk
            and self.instance.has_secret
            and Datastore.objects.filter(
                pk=self.instance.pk,
                kind=Datastore.S3,
                endpoint_url=data.get("endpoint_url", ""),
                bucket=data.get("bucket", ""),
                access_key_id=key_id,
            ).exists()
        ):
            again = " again: the endpoint URL, bucket or access key ID changed" if self.instance.has_secret else ""
            self.add_error(
                "secret_access_key", ValidationError(f"Give the secret access key{again}.", code="secret_required")
            )

    def _test_connection(self, store):
        try:
            client = store.client()
            if store.kind != Datastore.LOCAL:
                client.check()
        except (storage.StorageError, ValidationError) as exc:
            exc = exc.messages[0] if isinstance(exc, ValidationError) else exc
            self.add_error(
                None,
                ValidationError("Connection test failed: %(error)s", code="connection_failed", params={"error": exc}),
            )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("allow_empty_file", True)  # refused by DatasetForm with a message naming the file
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


class DatasetForm(forms.Form):
    """Register a new version of a dataset: a datastore path, or files uploaded now (kept in the default datastore)."""

    SOURCES = [("datastore", "From a datastore path"), ("upload", "From local files (upload)")]

    name = forms.CharField(
        label="Name",
        max_length=255,
        validators=[NAME_VALIDATOR],
        help_text="An existing name gets a new version; versions never change.",
    )
    version = forms.CharField(
        label="Version",
        required=False,
        max_length=30,
        validators=[DATASET_VERSION_VALIDATOR],
        help_text="Optional, as in Azure: any version not taken yet (3, v1.2, 2024-01-15). "
        "Left empty: the next number after the highest numbered version.",
    )
    description = description_field()
    type = forms.ChoiceField(label="Type", choices=Dataset.TYPES)
    source = forms.ChoiceField(label="Source", choices=SOURCES, initial="datastore", widget=forms.RadioSelect)
    datastore = forms.ModelChoiceField(label="Datastore", queryset=Datastore.objects.all(), required=False)
    path = forms.CharField(
        label="Path",
        required=False,
        widget=forms.TextInput(attrs={"id": "id_dataset_path"}),
        help_text="A folder, a file, or a glob on file names such as folder/*.csv. "
        "Only files directly in the folder are used: nested folders are not traversed.",
    )
    files = MultipleFileField(label="Files", required=False)

    def clean_path(self):
        return storage.clean_path(self.cleaned_data["path"])

    def clean(self):
        data = super().clean()
        if data.get("version") and data.get("name"):
            try:
                data["version"] = Dataset.check_version(data["name"], data["version"])
            except ValidationError as exc:
                self.add_error("version", exc)
        if self.errors:
            return data
        if data["source"] == "upload":
            self._check_uploads(data)
        else:
            self._check_datastore_path(data)
        return data

    def _check_uploads(self, data):
        uploads = data.get("files") or []
        if not uploads:
            self.add_error("files", ValidationError("Choose the files to upload.", code="files_required"))
            return
        if data["type"] == Dataset.URI_FILE and len(uploads) != 1:
            self.add_error("files", ValidationError("A uri_file dataset holds exactly one file.", code="one_file"))
        for upload in uploads:
            self._check_file(upload.name, upload.size, "files")
        try:
            limits.check_upload_size(sum(upload.size for upload in uploads))
        except ValidationError as exc:
            self.add_error("files", exc)

    def _check_file(self, name, size, field):
        ext = reading.extension(name)
        if ext not in reading.SUPPORTED:
            self.add_error(
                field,
                ValidationError(
                    "'%(name)s' is not a supported file type (%(types)s).",
                    code="unsupported_file_type",
                    params={"name": name, "types": ", ".join(sorted(reading.SUPPORTED))},
                ),
            )
        elif size == 0:
            self.add_error(
                field, ValidationError("'%(name)s' is empty (0 bytes).", code="empty_file", params={"name": name})
            )

    def _check_datastore_path(self, data):
        store = data.get("datastore")
        if store is None:
            self.add_error("datastore", ValidationError("Choose a datastore.", code="datastore_required"))
            return
        probe = Dataset(name=data["name"], type=data["type"], datastore=store, path=data["path"])
        try:
            entries = probe.files()
        except storage.StorageError as exc:
            self.add_error("path", ValidationError("%(error)s", code="path_not_found", params={"error": exc}))
            return
        if not entries:
            self.add_error(
                "path",
                ValidationError("No files in '%(path)s'.", code="path_empty", params={"path": data["path"] or "/"}),
            )
        elif data["type"] == Dataset.URI_FILE:
            if len(entries) != 1 or entries[0].path != data["path"]:
                self.add_error(
                    "path",
                    ValidationError(
                        "A uri_file dataset must point at one file, not a folder or glob.", code="not_a_file"
                    ),
                )
            else:
                self._check_file(entries[0].path, entries[0].size, "path")
        self.entries = entries

    def register(self, user=None) -> Dataset:
        """The new version the valid form describes: its uploaded files stored in the default datastore and registered
        (Dataset.register_upload), or its datastore path registered (Dataset.register)."""
        data = self.cleaned_data
        common = {
            "name": data["name"],
            "version": data["version"],
            "type": data["type"],
            "description": data["description"],
            "user": user,
        }
        if data["source"] == "upload":
            return Dataset.register_upload(uploads=data["files"], **common)
        return Dataset.register(datastore=data["datastore"], path=data["path"], **common)


class ComputeClusterForm(forms.ModelForm):
    """The Compute page's + New: a compute cluster registered by name, with Azure's labels."""

    class Meta:
        model = ComputeCluster
        fields = ["name", "min_instances", "max_instances", "description"]
        labels = {
            "name": "Compute name",
            "min_instances": "Minimum number of nodes",
            "max_instances": "Maximum number of nodes",
            "description": "Description",
        }
        help_texts = {"name": "The Q_CLUSTER_NAME its worker machines run with; deployments name it as compute."}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].validators.append(COMPUTE_NAME_VALIDATOR)

    def clean(self):
        data = super().clean()
        low, high = data.get("min_instances"), data.get("max_instances")
        if high is not None and high < 1:
            self.add_error("max_instances", "A cluster has at least one node at most: 1 or more.")
        elif low is not None and high is not None and low > high:
            self.add_error("min_instances", f"The minimum ({low}) cannot be above the maximum ({high}).")
        return data
