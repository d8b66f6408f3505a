"""The endpoint wizard's step forms, and the small forms of the endpoint page."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from endpoints.models import BatchDeployment, BatchEndpoint
from studio import registry

# Path segments under /endpoints/ that an endpoint cannot be named, or its page would be unreachable.
RESERVED_NAMES = {"create"}


def model_choices():
    try:
        models = registry.list_models()
    except registry.RegistryError:
        return []
    return [(f"{m['name']}:{v}", f"{m['name']}:{v}") for m in models for v in m["versions"]]


def _run_field_validators(model, field, value):
    try:
        model._meta.get_field(field).run_validators(value)
    except ValidationError as exc:
        raise ValidationError(exc.messages) from exc


class EndpointStepForm(forms.Form):
    """Step 1: a new endpoint (Azure's naming rules), or an existing one when deploying a model."""

    NEW, EXISTING = "new", "existing"

    endpoint_mode = forms.ChoiceField(label="Endpoint", choices=[(NEW, "New"), (EXISTING, "Existing")],
                                      initial=NEW, widget=forms.RadioSelect)
    endpoint_name = forms.CharField(label="Endpoint name", max_length=32, required=False,
                                    help_text="3–32 characters: starts with a letter; letters, digits and '-'; "
                                              "ends with a letter or digit.")
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    existing_endpoint = forms.ChoiceField(label="Existing endpoint", required=False)

    def __init__(self, *args, allow_existing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if allow_existing:
            self.fields["existing_endpoint"].choices = [("", "—")] + [
                (e.name, e.name) for e in BatchEndpoint.objects.order_by("name")]
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
            raise ValidationError("'%(name)s' is reserved; choose another name.", code="reserved", params={"name": name})
        if BatchEndpoint.objects.filter(name__iexact=name).exists():
            raise ValidationError("An endpoint named '%(name)s' already exists.", code="endpoint_exists", params={"name": name})
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
    model = forms.ChoiceField(label="Model", help_text="A registered model and version.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "—")] + model_choices()

    def clean_model(self):
        name, version = self.cleaned_data["model"].rsplit(":", 1)
        try:
            self.model_version = registry.get_version(name, version)
        except registry.RegistryError as exc:
            raise ValidationError(str(exc)) from exc
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
        variables = {}
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, val = line.partition("=")
            if not sep or not key.strip().isidentifier():
                raise ValidationError("Line %(n)d: write KEY=value.", code="bad_variable", params={"n": number})
            variables[key.strip()] = val.strip()
        return variables


class DeploymentStepForm(forms.ModelForm):
    environment_variables = EnvironmentVariablesField(label="Environment variables", required=False,
                                                      help_text="One KEY=value a line.")
    make_default = forms.BooleanField(label="Make this new deployment the default for batch jobs", required=False)

    class Meta:
        model = BatchDeployment
        fields = ["name", "description", "output_action", "output_file_name", "mini_batch_size",
                  "max_concurrency_per_instance", "max_retries", "timeout", "error_threshold", "logging_level",
                  "environment_variables"]
        labels = {
            "name": "Deployment name", "output_action": "Output action", "output_file_name": "Output file name",
            "mini_batch_size": "Mini batch size", "max_concurrency_per_instance": "Max concurrency per instance",
            "max_retries": "Max retries", "timeout": "Scoring timeout (seconds)", "error_threshold": "Error threshold",
            "logging_level": "Logging level",
        }
        help_texts = {
            "mini_batch_size": "Files per mini-batch (not rows).",
            "output_file_name": "The file append_row writes; not used with summary_only.",
            "timeout": "Per mini-batch; raise it for big files.",
            "error_threshold": "Failed files allowed over the whole input; -1 ignores all failures.",
            "max_retries": "For a failed or timed-out mini-batch.",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, endpoint=None, offer_default=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        if not offer_default:
            del self.fields["make_default"]

    def clean_name(self):
        name = self.cleaned_data["name"]
        if self.endpoint is not None and self.endpoint.deployments.filter(name__iexact=name).exists():
            raise ValidationError("Endpoint '%(endpoint)s' already has a deployment named '%(name)s'.",
                                  code="deployment_exists", params={"endpoint": self.endpoint.name, "name": name})
        return name


class CodeStepForm(forms.Form):
    """Code + environment, for models that are not MLflow models (MLflow scoring is generated)."""

    scoring_script = forms.FileField(label="Scoring script", required=False,
                                     help_text="A .py file with init() and run(mini_batch).")
    environment = forms.CharField(label="Environment", required=False, max_length=255,
                                  help_text="An environment's name (or name:version); empty uses the workers' own "
                                            "environment, 'studio'.")

    def __init__(self, *args, stored_script="", **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_script = stored_script
        self.stored = None
        if stored_script:
            self.fields["scoring_script"].help_text = f"Uploaded: {stored_script}. Upload another to replace it."

    def clean_scoring_script(self):
        """Snapshot the upload (content-addressed, so a repeated upload costs nothing): (code_path, script name)."""
        from endpoints.code import store_script

        upload = self.cleaned_data.get("scoring_script")
        if upload:
            self.stored = (store_script(upload.name, upload.read()), upload.name)
        return upload

    def clean(self):
        data = super().clean()
        if not data.get("scoring_script") and not self.stored_script and "scoring_script" not in self.errors:
            self.add_error("scoring_script", "Upload the scoring script: this model is not an MLflow model.")
        return data


class ComputeStepForm(forms.Form):
    compute = forms.CharField(label="Compute cluster", initial=settings.DEFAULT_COMPUTE, max_length=64,
                              help_text="The worker pool the jobs run on.")
    instance_count = forms.IntegerField(label="Instance count", initial=1, min_value=1, max_value=64)


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
        return (f"'{deployment.name}' is the default deployment of {deployment.endpoint.name}. "
                "Choose another default deployment (Update default deployment) before deleting it.")
    return ""
