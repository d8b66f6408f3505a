"""The endpoint wizard's step forms, and the small forms of the endpoint page."""

import difflib

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator

from endpoints.code import check_script, store_upload
from endpoints.models import COMPUTE_NAME_VALIDATOR, BatchDeployment, BatchEndpoint, known_clusters, split_columns
from engine import envbuild, formats
from workspace import registry
from workspace.compute.live import live_workers, serving
from workspace.environments import Environment, model_requirements
from workspace.forms import MultipleFileField, description_field

# Path segments under /endpoints/ that an endpoint cannot be named, or its page would be unreachable.
RESERVED_NAMES = {"create"}


def model_choices():
    """Every version (name:version) and every alias (name@alias: its jobs follow the alias) of every model."""
    try:
        models = registry.list_models()
    except registry.RegistryError:
        return []
    choices = []
    for m in models:
        choices += [
            (f"{m['name']}@{alias}", f"{m['name']}@{alias} (now version {version}; jobs follow the alias)")
            for alias, version in m.get("aliases", {}).items()
        ]
        choices += [(f"{m['name']}:{v}", f"{m['name']}:{v}") for v in m["versions"]]
    return choices


def _run_field_validators(model, field, value):
    try:
        model._meta.get_field(field).run_validators(value)
    except ValidationError as exc:
        raise ValidationError(exc.messages) from exc


def _no_silent_cut(field):
    """No maxlength on a name's input: the browser would silently cut a 33rd character, so that the user creates a name
    they did not type; the server says "at most 32 characters" instead."""
    field.widget.attrs.pop("maxlength", None)


class EndpointStepForm(forms.Form):
    """Step 1: a new endpoint (Azure's naming rules), or an existing one when deploying a model."""

    NEW, EXISTING = "new", "existing"

    endpoint_mode = forms.ChoiceField(
        label="Endpoint", choices=[(NEW, "New"), (EXISTING, "Existing")], initial=NEW, widget=forms.RadioSelect
    )
    endpoint_name = forms.CharField(
        label="Endpoint name",
        max_length=32,
        required=False,
        help_text="3–32 characters: starts with a letter; letters, digits and '-'; ends with a letter or digit.",
    )
    description = description_field()
    existing_endpoint = forms.ChoiceField(label="Existing endpoint", required=False)

    def __init__(self, *args, allow_existing=False, **kwargs):
        super().__init__(*args, **kwargs)
        _no_silent_cut(self.fields["endpoint_name"])
        if allow_existing:
            self.fields["existing_endpoint"].choices = [("", "—")] + [
                (e.name, e.name) for e in BatchEndpoint.objects.order_by("name")
            ]
        else:
            del self.fields["endpoint_mode"]
            del self.fields["existing_endpoint"]

    def clean_endpoint_name(self):
        name = self.cleaned_data["endpoint_name"].strip()
        if not name:
            return name
        if len(name) < 3:
            raise ValidationError("The name must be 3 to 32 characters long.", code="endpoint_name_length")
        _run_field_validators(BatchEndpoint, "name", name)
        if name.lower() in RESERVED_NAMES:
            raise ValidationError(
                "'%(name)s' is reserved; choose another name.", code="reserved", params={"name": name}
            )
        if BatchEndpoint.objects.filter(name__iexact=name).exists():
            raise ValidationError(
                "An endpoint named '%(name)s' already exists.", code="endpoint_exists", params={"name": name}
            )
        return name

    def clean(self):
        data = super().clean()
        if data.get("endpoint_mode") == self.EXISTING:
            if not data.get("existing_endpoint"):
                self.add_error("existing_endpoint", "Choose the endpoint the deployment is added to.")
        elif "endpoint_name" in data and not data["endpoint_name"]:
            self.add_error("endpoint_name", "Name the new endpoint.")
        return data


class ModelStepForm(forms.Form):
    model = forms.ChoiceField(
        label="Model",
        help_text="A registered model and version, or an alias (each job uses the version it names then).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "—")] + model_choices()

    def clean_model(self):
        self.model_version = registry.find(self.cleaned_data["model"])
        if self.model_version.is_mlflow:  # a python pin this machine cannot satisfy: refused now, not at build
            model_requirements(self.model_version.name, self.model_version.version)
        return self.cleaned_data["model"]


class EnvironmentVariablesField(forms.CharField):
    """KEY=value lines shown in a textarea, kept as a dict."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{k}={v}" for k, v in value.items())
        return value

    def to_python(self, value):
        text = super().to_python(value)
        if isinstance(text, dict):
            return text
        variables, lines = {}, {}
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, val = line.partition("=")
            key = key.strip()
            if not sep or not key.isidentifier():
                raise ValidationError("Line %(n)d: write KEY=value.", code="bad_variable", params={"n": number})
            if key in lines:  # the last one silently won
                raise ValidationError(
                    "Line %(n)d: %(key)s is set on line %(first)d already.",
                    code="repeated_variable",
                    params={"n": number, "key": key, "first": lines[key]},
                )
            variables[key], lines[key] = val.strip(), number
        return variables


class ColumnsField(forms.CharField):
    """Column names typed as 'id, region', kept as a list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return value if isinstance(value, list) else split_columns(super().to_python(value))


PASSTHROUGH_HELP = (
    "Input columns copied next to the predictions, e.g. a key column: id, region. MLflow deployments only."
)
MANIFEST_HELP = "_SUCCESS and manifest.json (files, row counts, SHA-256) beside the output, written last."


def _bound_by_model(field, model_field):
    """A number field takes the model's bounds, in the browser (min, max) and in its message: a positive field's own
    bound (0) was said first, and 0 was refused next."""
    lows = [v.limit_value for v in model_field.validators if isinstance(v, MinValueValidator)]
    highs = [v.limit_value for v in model_field.validators if isinstance(v, MaxValueValidator)]
    field.min_value = max(lows, default=field.min_value)
    field.max_value = min(highs, default=field.max_value)
    field.validators = [v for v in field.validators if not isinstance(v, (MinValueValidator, MaxValueValidator))]
    field.validators += [MinValueValidator(field.min_value)] if field.min_value is not None else []
    field.validators += [MaxValueValidator(field.max_value)] if field.max_value is not None else []
    field.widget.attrs.update(field.widget_attrs(field.widget))


class DeploymentStepForm(forms.ModelForm):
    passthrough_columns = ColumnsField(label="Passthrough columns", required=False, help_text=PASSTHROUGH_HELP)
    environment_variables = EnvironmentVariablesField(
        label="Environment variables", required=False, help_text="One KEY=value a line."
    )
    make_default = forms.BooleanField(label="Make this new deployment the default for batch jobs", required=False)
    description = description_field()

    class Meta:
        model = BatchDeployment
        fields = [
            "name",
            "description",
            "output_action",
            "output_file_name",
            "mini_batch_size",
            "max_concurrency_per_instance",
            "max_retries",
            "timeout",
            "error_threshold",
            "error_threshold_unit",
            "logging_level",
            "environment_variables",
            "output_format",
            "passthrough_columns",
            "write_manifest",
            "output_header",
            "split_rows",
            "warm_start",
        ]
        labels = {
            "name": "Deployment name",
            "output_action": "Output action",
            "output_file_name": "Output file name",
            "mini_batch_size": "Mini batch size",
            "max_concurrency_per_instance": "Max concurrency per instance",
            "max_retries": "Max retries",
            "timeout": "Scoring timeout (seconds)",
            "error_threshold": "Error threshold",
            "error_threshold_unit": "Error threshold counts",
            "logging_level": "Logging level",
            "output_format": "Output format",
            "write_manifest": "Write a manifest",
            "output_header": "Header row in the CSV output",
            "split_rows": "Split large files (rows per range)",
            "warm_start": "Warm start",
        }
        help_texts = {
            "name": "3–32 characters: starts with a letter; letters, digits and '-'; ends with a letter or digit; "
            "unique in the endpoint.",
            "mini_batch_size": "Files per mini-batch (not rows).",
            "output_file_name": "The file append_row writes; not used with summary_only.",
            "timeout": "Per mini-batch; raise it for big files.",
            "error_threshold": "Failed files (or rows, or percent of rows: see Error threshold counts) allowed over the whole "
            "input; -1 ignores all failures. Bad rows are set aside in errors.csv either way.",
            "error_threshold_unit": "Failed files is Azure's rule: a file with rows set aside counts as failed.",
            "max_retries": "For a failed or timed-out mini-batch.",
            "output_format": "predictions.csv is Azure's; a default file name follows the format (predictions.parquet...).",
            "write_manifest": MANIFEST_HELP,
            "output_header": "Clear it for Azure's predictions.csv, which has no header row (its notebooks read it "
            "with header=None). CSV only.",
            "split_rows": "Beyond Azure: a Parquet or CSV file of more rows than this is split into ranges "
            "(Parquet: whole row groups; CSV: this many lines), each its own mini-batch, so several workers share it; "
            "the output is as if it were scored whole. Parquet: local, Blob and S3 datastores; CSV: local ones. "
            "0 (or empty) keeps Azure's file-based mini-batches; else at least 1000.",
            "warm_start": "Beyond Azure: every worker of the compute cluster keeps this deployment's model loaded, "
            "from the moment it starts or the deployment is saved, so a job never waits for a model load.",
        }

    def __init__(self, *args, endpoint=None, offer_default=False, custom=False, **kwargs):
        super().__init__(*args, **kwargs)
        _no_silent_cut(self.fields["name"])
        self.endpoint = endpoint
        self.fields["output_format"].required = False  # not given: predictions.csv, as in Azure
        if not offer_default:
            del self.fields["make_default"]
        if custom:  # a scoring script writes its own columns: a deployment with passthrough columns could run no job
            del self.fields["passthrough_columns"]
            del self.fields["split_rows"]  # and its run() is given whole files
        for name, field in self.fields.items():
            if isinstance(field, forms.IntegerField):
                _bound_by_model(field, BatchDeployment._meta.get_field(name))
        self.fields["error_threshold_unit"].required = False  # left out: Azure's rule

    def clean_error_threshold_unit(self):
        return self.cleaned_data.get("error_threshold_unit") or BatchDeployment.FILES

    def clean_split_rows(self):
        return self.cleaned_data.get("split_rows") or 0

    def clean_output_format(self):
        return self.cleaned_data["output_format"] or formats.CSV

    def clean(self):
        """The output file name as the deployment will have it (the Review showed predictions.csv for a Parquet
        deployment that writes predictions.parquet): a default name follows the format."""
        data = super().clean()
        if (
            data.get("output_action") == BatchDeployment.APPEND_ROW
            and data.get("output_file_name")
            and data.get("output_format")
        ):
            data["output_file_name"] = formats.output_name(data["output_file_name"], data["output_format"])
        return data

    def clean_name(self):
        name = self.cleaned_data["name"]
        if self.endpoint is not None and self.endpoint.deployments.filter(name__iexact=name).exists():
            raise ValidationError(
                "Endpoint '%(endpoint)s' already has a deployment named '%(name)s'.",
                code="deployment_exists",
                params={"endpoint": self.endpoint.name, "name": name},
            )
        return name


ENVIRONMENT_NAME_VALIDATOR = RegexValidator(
    r"^[a-zA-Z0-9][-a-zA-Z0-9_.]*$",
    "Start with a letter or digit; use letters, digits, '-', '_' and '.'.",
    code="invalid_environment_name",
)


def environment_choices():

    Environment.studio()
    return [
        (e.label, f"{e.label} (the workers' own) · {e.state}" if e.is_studio else f"{e.label} · {e.state}")
        for e in Environment.objects.order_by("name", "version")
    ]


def check_requirements(text: str, field: str) -> str:
    """pip requirement lines, each checked for syntax now (an uninstallable one fails the build, shown at
    deployment time); pip options are refused: packages come from the configured index only."""
    from packaging.requirements import InvalidRequirement, Requirement

    for number, line in enumerate(envbuild.normalise(text), 1):
        if line.startswith("-"):
            raise ValidationError(
                "%(field)s, line %(n)d: pip options such as '%(line)s' are not accepted; list packages only.",
                code="pip_option",
                params={"field": field, "n": number, "line": line},
            )
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            raise ValidationError(
                "%(field)s, line %(n)d: '%(line)s' is not a requirement (%(error)s). Write e.g. scikit-learn==1.5.2.",
                code="bad_requirement",
                params={"field": field, "n": number, "line": line, "error": exc},
            ) from exc
    return text


class CodeStepForm(forms.Form):
    """Code + environment, for models that are not MLflow models (MLflow scoring is generated)."""

    EXISTING, NEW = "existing", "new"

    code = MultipleFileField(
        label="Code",
        required=False,
        help_text="The scoring script alone, several files of the code folder (the script and the modules it imports), "
        "or a .zip of the folder, as Azure's code_configuration.code.",
    )
    scoring_script = forms.CharField(
        label="Scoring script",
        required=False,
        max_length=255,
        help_text="The file in the code with init() and run(mini_batch), e.g. score.py or src/score.py; left empty: "
        "the only .py file at the top, or score.py. The model's folder is in $AZUREML_MODEL_DIR.",
    )
    environment_mode = forms.ChoiceField(
        label="Environment",
        widget=forms.RadioSelect,
        initial=EXISTING,
        choices=[(EXISTING, "Use an existing environment"), (NEW, "Create a new environment")],
    )
    environment = forms.ChoiceField(
        label="Registered environment", required=False, help_text="studio is the workers' own Python environment."
    )
    new_environment_name = forms.CharField(
        label="Environment name", required=False, max_length=100, validators=[ENVIRONMENT_NAME_VALIDATOR]
    )
    pip_requirements = forms.CharField(
        label="Pip requirements",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One package a line, as in requirements.txt (e.g. scikit-learn==1.5.2). "
        "Everything else comes from the workers' own environment.",
    )
    conda_file = forms.CharField(
        label="Conda file (YAML)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="Or paste a conda environment file: the packages of its pip section are installed.",
    )

    def __init__(self, *args, stored_script="", stored_path="", **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_script, self.stored_path = stored_script, stored_path
        self.stored = None
        if stored_script:
            self.fields["code"].help_text = f"Uploaded: {stored_script}. Upload again to replace the code."
            self.fields["scoring_script"].initial = stored_script
        self.fields["environment"].choices = environment_choices()
        self.fields["environment"].initial = "studio:1"

    def clean(self):
        data = super().clean()
        self._clean_code(data)
        if data.get("environment_mode") == self.NEW:
            data["environment"] = ""
            self._clean_new_environment(data)
        else:
            data.update(new_environment_name="", pip_requirements="", conda_file="")
            self._clean_existing_environment(data)
        return data

    def _clean_code(self, data):
        """Snapshot the upload (content-addressed, so a repeated upload costs nothing): self.stored is (code_path,
        scoring script). Without a new upload, another scoring script is looked for in the code uploaded before."""
        if "code" in self.errors:
            return
        uploads, script = data.get("code") or [], data.get("scoring_script", "")
        if not uploads and self.files.getlist("scoring_script"):  # posted as before code folders: the script alone
            uploads, script = self.files.getlist("scoring_script"), ""
        try:
            if uploads:
                self.stored = store_upload(uploads, script)
            elif self.stored_path:
                self.stored = (self.stored_path, check_script(self.stored_path, script or self.stored_script))
            else:
                self.add_error("code", "Upload the scoring script: this model is not an MLflow model.")
        except ValidationError as exc:
            field = "scoring_script" if exc.code in ("scoring_script_missing", "scoring_script_ambiguous") else "code"
            self.add_error(field, exc)

    def _clean_existing_environment(self, data):

        env = Environment.lookup(data.get("environment") or "studio")
        if env is not None and env.state == Environment.FAILED:
            self.add_error(
                "environment",
                ValidationError(
                    "Environment %(env)s failed to build: %(reason)s Pick another one or create a new one.",
                    code="environment_build_failed",
                    params={"env": env.label, "reason": env.failure_reason},
                ),
            )

    def _refuse_known_failure(self, data):

        existing, _ = Environment.next_version(data.get("new_environment_name", ""), data["requirements"])
        if existing is not None and existing.state == Environment.FAILED:
            raise ValidationError(
                "Environment %(env)s has these requirements and failed to build: %(reason)s",
                code="environment_build_failed",
                params={"env": existing.label, "reason": existing.failure_reason},
            )

    def _clean_new_environment(self, data):

        if not data.get("new_environment_name") and "new_environment_name" not in self.errors:
            self.add_error("new_environment_name", "Name the new environment.")
        elif data.get("new_environment_name", "").lower() == "studio":
            self.add_error("new_environment_name", "'studio' is the workers' own environment; choose another name.")
        pip, conda = data.get("pip_requirements", "").strip(), data.get("conda_file", "").strip()
        if pip and conda:
            self.add_error("conda_file", "Give pip requirements or a conda file, not both.")
            return
        if not pip and not conda:
            self.add_error(
                "pip_requirements",
                "List the packages to install (pip requirements or a conda file), or use an existing environment.",
            )
            return
        try:
            if conda:
                try:
                    pip = envbuild.pip_section(conda)
                except envbuild.CondaFileError as exc:  # a dependency pip cannot install: named by its line
                    raise ValidationError(
                        "The conda file: %(error)s", code="conda_dependency_unsupported", params={"error": exc}
                    ) from exc
                except Exception as exc:  # yaml's errors, or a document that is not a mapping
                    raise ValidationError(
                        "The conda file is not a conda environment YAML: %(error)s",
                        code="invalid_conda_file",
                        params={"error": exc},
                    ) from exc
                if problem := envbuild.python_problem(envbuild.conda_python(conda)):
                    raise ValidationError(problem, code="python_unsatisfiable")
                if not envbuild.normalise(pip):
                    raise ValidationError(
                        "The conda file lists no package to install: add its packages under dependencies "
                        "(- numpy=1.26, or a - pip: [...] list).",
                        code="no_packages",
                    )
            data["requirements"] = check_requirements(pip, "Conda file" if conda else "Pip requirements")
            self._refuse_known_failure(data)
        except ValidationError as exc:
            self.add_error("conda_file" if conda else "pip_requirements", exc)


class ComputeStepForm(forms.Form):
    compute = forms.CharField(
        label="Compute cluster",
        initial=settings.DEFAULT_COMPUTE,
        max_length=64,
        validators=[COMPUTE_NAME_VALIDATOR],
        help_text="The worker pool the jobs run on.",
    )
    instance_count = forms.IntegerField(label="Instance count", initial=1, min_value=1, max_value=64)
    # the name of a cluster the site does not know, warned about once: Next again with it goes on
    confirm_compute = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        live = live_workers()
        # (name, live workers) of every cluster the site knows: offered as the field's suggestions
        self.known_clusters = [(name, len(serving(name, live))) for name in known_clusters()]
        field = self.fields["compute"]
        field.widget.attrs["list"] = "known-clusters"
        field.help_text = (
            "The worker pool the jobs run on: "
            + ", ".join(
                f"{name} ({count} live worker{'s' if count != 1 else ''})"
                if count
                else f"{name} (no live worker: jobs wait)"
                for name, count in self.known_clusters
            )
            + ". A new name is served once a machine runs its qcluster."
        )

    def clean_compute(self):
        """A name no worker serves, no deployment uses and nobody registered is most likely mistyped: say so, with the
        known ones, before jobs wait on it for ever; the same name sent again is meant."""
        name = self.cleaned_data["compute"]
        known = [cluster for cluster, _ in self.known_clusters]
        if name in known or self.data.get("confirm_compute") == name:
            return name
        self.data = self.data.copy()
        self.data["confirm_compute"] = name  # the page asks again with it: Next now means "yes, this one"
        close = difflib.get_close_matches(name, known, n=1)
        raise ValidationError(
            "No worker serves compute cluster '%(name)s'. Known clusters: %(known)s.%(hint)s Press Next again to use "
            "'%(name)s' anyway: its jobs wait in Queued until a machine runs a qcluster for it.",
            code="unknown_compute",
            params={"name": name, "known": ", ".join(known), "hint": f" Did you mean '{close[0]}'?" if close else ""},
        )


class DefaultDeploymentForm(forms.Form):
    deployment = forms.ChoiceField(label="Default deployment")

    def __init__(self, *args, endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        self.fields["deployment"].choices = [(d.name, d.name) for d in endpoint.deployments.all()]
        if endpoint.default_deployment:
            self.fields["deployment"].initial = endpoint.default_deployment.name

    def save(self):
        self.endpoint.set_default(self.endpoint.deployments.get(name=self.cleaned_data["deployment"]))
        return self.endpoint.default_deployment


def deployment_delete_refusal(deployment) -> str:
    """Why a deployment cannot be deleted now, or '' when it can (Azure's rule for the default one)."""
    if deployment.is_default and deployment.endpoint.deployments.exclude(pk=deployment.pk).exists():
        return (
            f"'{deployment.name}' is the default deployment of {deployment.endpoint.name}. "
            "Choose another default deployment (Update default deployment) before deleting it."
        )
    schedules = list(
        deployment.endpoint.schedules.filter(deployment_name=deployment.name).values_list("name", flat=True)
    )
    if schedules:
        return (
            f"Schedule {', '.join(schedules)} runs on '{deployment.name}': delete the schedule before "
            "deleting the deployment."
        )
    return ""
