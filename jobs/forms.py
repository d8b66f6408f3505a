from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from endpoints.forms import PASSTHROUGH_HELP
from endpoints.models import MAX_THRESHOLD, OVERRIDABLE, BatchDeployment, split_columns
from engine import formats
from jobs import inputs, preview
from jobs.comparison import start
from jobs.inputs import datastore_uri
from jobs.models import BatchJob, Status
from jobs.submit import check_output_free, output_location, submit_job
from workspace import demo, storage
from workspace.models import Dataset, Datastore

INPUT_TYPES = [("dataset", "Dataset"), ("datastore", "Datastore"), ("url", "Public path")]


def _datastore_choices():
    Datastore.get_default()
    return [(d.name, d.name) for d in Datastore.objects.all()]


def _optional_int(label, min_value, max_value=None):
    return forms.IntegerField(label=label, required=False, min_value=min_value, max_value=max_value)


INPUT_FIELDS = {"dataset": "dataset", "datastore": "input_path", "url": "url"}


class JobInputForm(forms.Form):
    """The input of a job, as + Create job asks for it: a registered dataset, a datastore path or a public URL."""

    input_type = forms.ChoiceField(
        label="Input data type", choices=INPUT_TYPES, initial="datastore", widget=forms.RadioSelect
    )
    dataset = forms.ChoiceField(label="Registered dataset", required=False)
    input_datastore = forms.ChoiceField(label="Input datastore", required=False)
    input_path = forms.CharField(
        label="Input path",
        required=False,
        max_length=1000,
        help_text="A folder or one file. Files in nested folders are not scored.",
    )
    url = forms.URLField(
        label="Public URL",
        required=False,
        assume_scheme="https",
        help_text="An http(s) URL of a file, or of a public blob container or folder.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = [("", "—")] + [(d.uri, f"{d.name}:{d.version}") for d in Dataset.objects.all()]
        if len(self.fields["dataset"].choices) == 1:
            self.fields["dataset"].help_text = "No datasets yet: create one under Data → + Create dataset."
        self.datastores = _datastore_choices()
        self.fields["input_datastore"].choices = self.datastores
        self.fields["input_datastore"].initial = Datastore.get_default().name
        if not self.is_bound and len(self.fields["dataset"].choices) == 1 and demo.data_ready():
            self.fields["input_path"].initial = demo.DEMO_FOLDER  # the only data there is: the seeded demo's
        self.fields["input_datastore"].widget.attrs.update(
            {"data-browse": self._browse_url("__name__"), "data-browse-target": "#datastore-browser"}
        )

    @staticmethod
    def _browse_url(store):
        return reverse("datastore-browse", args=[store]) + "?target=id_input_path&fill=path"

    def browse_url(self):
        """The datastore browser of the chosen input datastore (it fills Input path when a file is picked)."""
        return self._browse_url(self["input_datastore"].value() or Datastore.get_default().name)

    def clean_input_path(self):
        return storage.clean_path(self.cleaned_data["input_path"])

    def clean(self):
        data = super().clean()
        required = INPUT_FIELDS.get(data.get("input_type"))
        if required and not data.get(required) and required not in self.errors:
            self.add_error(required, "Choose the input data for the job.")
        return data

    def input_uri(self) -> str:
        data = self.cleaned_data
        if data["input_type"] == "dataset":
            return data["dataset"]
        if data["input_type"] == "url":
            return data["url"]
        return datastore_uri(data["input_datastore"], data["input_path"])


class RetryForm(forms.Form):
    """Retry failed, optionally with another error threshold (blank: the job's)."""

    error_threshold = _optional_int("Error threshold", -1, MAX_THRESHOLD)
    error_threshold_unit = forms.ChoiceField(
        label="Error threshold counts", required=False, choices=[("", "The job's")] + BatchDeployment.THRESHOLD_UNITS
    )


# The field a refusal of submit_job is shown next to, by its code (input_* go to the input's field, other output_*
# to Output path).
REFUSAL_FIELDS = {
    "invalid_output_file_name": "output_file_name",
    "output_file_with_summary_only": "output_file_name",
    "invalid_output_format": "output_format",
    "passthrough_needs_tables": "passthrough_columns",
    "passthrough_column_missing": "passthrough_columns",
    "invalid_passthrough": "passthrough_columns",
    "reserved_passthrough": "passthrough_columns",
    "passthrough_needs_mlflow": "passthrough_columns",
}


class CreateJobForm(JobInputForm):
    deployment = forms.ChoiceField(label="Deployment")
    override = forms.BooleanField(label="Override deployment settings", required=False)
    instance_count = _optional_int("Instance count", 1, 64)
    mini_batch_size = _optional_int("Mini batch size", 1)
    max_retries = _optional_int("Max retries", 0, 100)
    timeout = _optional_int("Scoring timeout (seconds)", 1, 86400)
    error_threshold = _optional_int("Error threshold", -1, MAX_THRESHOLD)
    error_threshold_unit = forms.ChoiceField(
        label="Error threshold counts",
        required=False,
        choices=[("", "The deployment's")] + BatchDeployment.THRESHOLD_UNITS,
    )
    output_file_name = forms.CharField(label="Output file name", required=False, max_length=255)
    output_format = forms.ChoiceField(label="Output format", required=False)
    passthrough_columns = forms.CharField(
        label="Passthrough columns",
        required=False,
        max_length=1000,
        help_text=PASSTHROUGH_HELP + " Empty keeps the deployment's.",
    )
    write_manifest = forms.ChoiceField(
        label="Manifest",
        required=False,
        choices=[("", "As the deployment"), ("yes", "Write _SUCCESS and manifest.json"), ("no", "No manifest")],
    )

    enable_output = forms.BooleanField(label="Enable output configuration", required=False)
    output_datastore = forms.ChoiceField(label="Output datastore", required=False)
    output_path = forms.CharField(
        label="Output path",
        required=False,
        max_length=1000,
        help_text="A folder; by default jobs/<job name> in the default datastore.",
    )

    def __init__(self, *args, endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        deployments = list(endpoint.deployments.all())
        self.fields["deployment"].choices = [(d.name, _deployment_choice(d)) for d in deployments]
        default = endpoint.default_deployment
        if default:
            self.fields["deployment"].initial = default.name
        self.fields["output_datastore"].choices = self.datastores
        self.fields["output_datastore"].initial = self.fields["input_datastore"].initial
        self.fields["output_format"].choices = [("", "As the deployment")] + formats.CHOICES
        # What an empty field keeps, for each deployment (studio.js shows the chosen one's); the page opens with the
        # chosen deployment's, else the default's (the default's were shown whichever deployment was chosen).
        self.deployment_defaults = {d.name: _deployment_defaults(d) for d in deployments}
        chosen = self.data.get("deployment") if self.is_bound else None
        shown = self.deployment_defaults.get(chosen) or self.deployment_defaults.get(getattr(default, "name", ""))
        self._show_defaults(shown)
        self.fields["deployment"].widget.attrs["data-defaults"] = "deployment-defaults"

    def _show_defaults(self, shown: dict | None):
        for key, text in (shown or {}).items():
            field = self.fields[key]
            if isinstance(field, forms.ChoiceField):
                field.choices = [("", text)] + list(field.choices)[1:]
            else:
                field.widget.attrs["placeholder"] = text

    @property
    def override_fields(self):
        return [self[key] for key in OVERRIDABLE]

    def clean_output_path(self):
        return storage.clean_path(self.cleaned_data["output_path"])

    def clean(self):
        data = super().clean()
        if data.get("enable_output") and not data.get("output_path") and "output_path" not in self.errors:
            self.add_error("output_path", "Give the output folder, or clear Enable output configuration.")
        if self.errors:  # say now, too, what submitting would refuse (input, output): every error at once
            self._check_input_and_output()
        return data

    def _check_input_and_output(self):
        data = self.cleaned_data
        deployment = next((d for d in self.endpoint.deployments.all() if d.name == data.get("deployment")), None)
        if deployment is None:
            return
        input_field = INPUT_FIELDS.get(data.get("input_type"))
        if input_field and input_field not in self.errors and data.get(input_field):
            self._refusal_as_error(lambda: inputs.resolve(self.input_uri(), every_file=deployment.is_custom))
        if data.get("enable_output") and data.get("output_path") and "output_path" not in self.errors:
            chosen_format = data.get("output_format") or deployment.output_format
            file_name = formats.output_name(data.get("output_file_name") or deployment.output_file_name, chosen_format)
            self._refusal_as_error(
                lambda: check_output_free(
                    *output_location("", data.get("output_datastore"), data["output_path"]), file_name
                )
            )

    def overrides(self) -> dict:
        """Azure's overrides (when Override deployment settings is checked), and the output options chosen."""
        data = self.cleaned_data
        chosen = {key: data[key] for key in OVERRIDABLE if data["override"] and data[key] not in (None, "")}
        if data.get("output_format"):
            chosen["output_format"] = data["output_format"]
        if data.get("passthrough_columns"):
            chosen["passthrough_columns"] = split_columns(data["passthrough_columns"])
        if data.get("write_manifest"):
            chosen["write_manifest"] = data["write_manifest"] == "yes"
        return chosen

    def output(self) -> dict:
        if not self.cleaned_data["enable_output"]:
            return {}
        return {
            "output_datastore": self.cleaned_data["output_datastore"],
            "output_path": self.cleaned_data["output_path"],
        }

    def _job_args(self) -> dict:
        return {
            "input_uri": self.input_uri(),
            "deployment_name": self.cleaned_data["deployment"],
            "overrides": self.overrides(),
        }

    def _refusal_as_error(self, action):
        """A refusal (input, output exists...) becomes an error next to the field it is about (above the form when it
        is about none) and None is returned."""
        try:
            return action()
        except ValidationError as exc:
            for error in exc.error_list:
                field = self._field_of(error.code or "")
                self.add_error(field if field in self.fields else None, error)
            return None

    def _field_of(self, code: str) -> str | None:
        if code.startswith(("input_", "url_")) or (
            code == "unknown_datastore" and not self.cleaned_data.get("enable_output")
        ):
            return INPUT_FIELDS.get(self.cleaned_data.get("input_type"))
        return REFUSAL_FIELDS.get(code) or ("output_path" if code.startswith("output_") else None)

    def submit(self, user=None) -> BatchJob:

        return self._refusal_as_error(lambda: submit_job(self.endpoint, user=user, **self._job_args(), **self.output()))

    def preview(self, user=None):
        """Queue a Preview (dry run) of this job on the workers: nothing is written to the output location."""
        return self._refusal_as_error(lambda: preview.request(self.endpoint, user=user, **self._job_args()))


class CompareForm(JobInputForm):
    """Compare deployments: the same input on the default deployment and on a candidate."""

    candidate = forms.ChoiceField(label="Candidate deployment")

    def __init__(self, *args, endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        default = endpoint.default_deployment
        self.fields["candidate"].choices = [
            (d.name, d.name) for d in endpoint.deployments.exclude(pk=getattr(default, "pk", None))
        ]
        if default:
            self.fields[
                "candidate"
            ].help_text = f"Its predictions are compared with those of the default deployment, {default.name}."

    def submit(self, user=None):
        """Start the comparison (two jobs); a refusal becomes a form error and None is returned."""
        try:
            return start(self.endpoint, input_uri=self.input_uri(), candidate=self.cleaned_data["candidate"], user=user)
        except ValidationError as exc:
            self.add_error(None, exc)
            return None


def _deployment_defaults(deployment) -> dict:
    """What + Create job shows a deployment keeps when a field is left empty: placeholders, and the first choice of
    a dropdown."""
    shown = {key: str(getattr(deployment, key)) for key in OVERRIDABLE if key != "error_threshold_unit"}
    shown["error_threshold_unit"] = f"The deployment's ({deployment.get_error_threshold_unit_display()})"
    shown["output_format"] = f"As the deployment ({deployment.get_output_format_display()})"
    shown["passthrough_columns"] = ", ".join(deployment.passthrough_columns or [])
    return shown


def _deployment_choice(deployment) -> str:
    """A deployment as the dropdown shows it: marked default, and its state unless it can run jobs."""
    notes = [
        note
        for note, shown in (
            ("default", deployment.is_default),
            (deployment.provisioning_state, deployment.provisioning_state != "Succeeded"),
        )
        if shown
    ]
    return deployment.name + (f" ({', '.join(notes)})" if notes else "")


class JobFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status")] + list(Status.choices))
    endpoint = forms.ChoiceField(label="Endpoint", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = BatchJob.objects.order_by("endpoint_name").values_list("endpoint_name", flat=True).distinct()
        self.fields["endpoint"].choices = [("", "Any endpoint")] + [(n, n) for n in names]

    def filter(self, jobs):
        """The jobs that match; none for a filter that is not one of the choices (its field says why)."""
        if not self.is_bound:
            return jobs
        if not self.is_valid():
            return jobs.none()
        if self.cleaned_data["status"]:
            jobs = jobs.filter(status=self.cleaned_data["status"])
        if self.cleaned_data["endpoint"]:
            jobs = jobs.filter(endpoint_name=self.cleaned_data["endpoint"])
        return jobs
