from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from endpoints.models import BatchDeployment, BatchEndpoint
from studio import registry


def model_choices():
    try:
        models = registry.list_models()
    except registry.RegistryError:
        return []
    return [(f"{m['name']}:{v}", f"{m['name']}:{v}") for m in models for v in m["versions"]]


class EndpointWithDeploymentForm(forms.Form):
    """The first, single-form path: a batch endpoint with one deployment of an MLflow model."""

    endpoint_name = forms.CharField(label="Endpoint name", max_length=32)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    model = forms.ChoiceField(label="Model")
    deployment_name = forms.CharField(label="Deployment name", max_length=32)
    compute = forms.CharField(label="Compute", initial=settings.DEFAULT_COMPUTE)
    instance_count = forms.IntegerField(label="Instance count", initial=1, min_value=1, max_value=64)
    mini_batch_size = forms.IntegerField(label="Mini batch size", initial=10, min_value=1)

    def __init__(self, *args, model=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = model_choices()
        if model:
            self.fields["model"].initial = model

    def clean_endpoint_name(self):
        name = self.cleaned_data["endpoint_name"]
        endpoint = BatchEndpoint(name=name)
        try:
            endpoint.clean_fields(exclude=["description", "auth_mode", "provisioning_state"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["name"]) from exc
        if BatchEndpoint.objects.filter(name__iexact=name).exists():
            raise ValidationError("An endpoint named '%(name)s' already exists.", code="endpoint_exists", params={"name": name})
        return name

    def clean_deployment_name(self):
        name = self.cleaned_data["deployment_name"]
        try:
            BatchDeployment._meta.get_field("name").run_validators(name)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        return name

    def save(self, user=None):
        from django.db import transaction

        model_name, model_version = self.cleaned_data["model"].rsplit(":", 1)
        with transaction.atomic():
            endpoint = BatchEndpoint.objects.create(
                name=self.cleaned_data["endpoint_name"], description=self.cleaned_data["description"], created_by=user)
            deployment = BatchDeployment.objects.create(
                endpoint=endpoint, name=self.cleaned_data["deployment_name"], model_name=model_name,
                model_version=model_version, compute=self.cleaned_data["compute"],
                instance_count=self.cleaned_data["instance_count"], mini_batch_size=self.cleaned_data["mini_batch_size"])
            endpoint.set_default(deployment)
        return endpoint
