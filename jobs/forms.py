from django import forms

from studio import storage
from studio.models import Datastore


class CreateJobForm(forms.Form):
    deployment = forms.ChoiceField(label="Deployment")
    datastore = forms.ChoiceField(label="Datastore")
    path = forms.CharField(label="Path", help_text="A folder or a file in the datastore. Files in nested folders are not scored.")

    def __init__(self, *args, endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        self.fields["deployment"].choices = [(d.name, d.name + (" (default)" if d.is_default else "")) for d in endpoint.deployments.all()]
        if endpoint.default_deployment:
            self.fields["deployment"].initial = endpoint.default_deployment.name
        Datastore.get_default()
        self.fields["datastore"].choices = [(d.name, d.name) for d in Datastore.objects.all()]
        self.fields["datastore"].initial = Datastore.get_default().name

    def clean_path(self):
        return storage.clean_path(self.cleaned_data["path"])

    def input_uri(self):
        return f"azureml://datastores/{self.cleaned_data['datastore']}/paths/{self.cleaned_data['path']}"
