from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction

from jobs.forms import CreateJobForm, _datastore_choices
from jobs.inputs import DATASTORE_URI
from jobs.schedules.models import PRESETS, Schedule, validate_cron
from workspace import storage
from workspace.forms import description_field
from workspace.models import Datastore

CUSTOM = "custom"


class ScheduleForm(forms.ModelForm):
    """+ Create schedule: the input and output choices of + Create job for a datastore path, and when to run."""

    deployment_name = forms.ChoiceField(label="Deployment", required=False)
    input_datastore = forms.ChoiceField(label="Input datastore")
    input_path = forms.CharField(
        label="Input path",
        max_length=1000,
        help_text="A folder: each run scores its files that are new or changed since they "
        "were last scored. Files in nested folders are not scored.",
    )
    enable_output = forms.BooleanField(label="Enable output configuration", required=False)
    output_datastore = forms.ChoiceField(label="Output datastore", required=False)
    output_path = forms.CharField(
        label="Output path",
        required=False,
        max_length=1000,
        help_text="A folder; each run writes to its own folder inside it. By default "
        "jobs/<job name> in the default datastore.",
    )
    recurrence = forms.ChoiceField(
        label="Recurrence",
        initial=PRESETS[1][1],
        choices=[(cron, label) for label, cron in PRESETS] + [(CUSTOM, "Custom (cron expression)")],
    )
    cron = forms.CharField(
        label="Cron expression",
        required=False,
        max_length=100,
        help_text="minute hour day-of-month month day-of-week, in UTC; e.g. 30 6 * * 1-5 for 06:30 on weekdays.",
    )

    description = description_field()

    field_order = [
        "name",
        "description",
        "deployment_name",
        "input_datastore",
        "input_path",
        "enable_output",
        "output_datastore",
        "output_path",
        "recurrence",
        "cron",
    ]  # recurrence is cleaned before cron

    class Meta:
        model = Schedule
        fields = [
            "name",
            "description",
            "deployment_name",
            "input_datastore",
            "input_path",
            "output_datastore",
            "output_path",
            "cron",
        ]
        labels = {"name": "Schedule name"}

    def __init__(self, *args, endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        default = endpoint.default_deployment
        self.fields["deployment_name"].choices = [
            ("", f"Default deployment ({default.name if default else 'none yet'})")
        ] + [(d.name, d.name) for d in endpoint.deployments.all()]
        stores = _datastore_choices()
        for name in ("input_datastore", "output_datastore"):
            self.fields[name].choices = stores
            self.fields[name].initial = Datastore.get_default().name
        if self.instance.pk:  # Edit: the name stays; the recurrence shows as its preset or as custom
            self.fields["name"].disabled = True
            presets = [cron for _, cron in PRESETS]
            self.initial["recurrence"] = self.instance.cron if self.instance.cron in presets else CUSTOM
            self.initial["enable_output"] = bool(self.instance.output_path)
            self.initial["output_datastore"] = self.instance.output_datastore or Datastore.get_default().name
        self.fields["input_datastore"].widget.attrs.update(
            {"data-browse": CreateJobForm._browse_url("__name__"), "data-browse-target": "#datastore-browser"}
        )

    def browse_url(self):
        return CreateJobForm._browse_url(self["input_datastore"].value() or Datastore.get_default().name)

    def clean_input_path(self):
        return storage.clean_path(self.cleaned_data["input_path"])

    def clean_output_path(self):
        return storage.clean_path(self.cleaned_data["output_path"])

    def clean_cron(self):
        recurrence = self.cleaned_data.get("recurrence")
        cron = " ".join(self.cleaned_data["cron"].split())
        if recurrence and recurrence != CUSTOM:
            return recurrence
        if not cron:
            raise forms.ValidationError("Give a cron expression, or choose a recurrence.", code="cron_required")
        validate_cron(cron)
        return cron

    def clean(self):
        data = super().clean()
        if data.get("enable_output"):
            if not data.get("output_path") and "output_path" not in self.errors:
                self.add_error("output_path", "Give the output folder, or clear Enable output configuration.")
        else:
            data["output_datastore"] = data["output_path"] = ""
        return data

    def save(self, user=None):
        """The schedule and django-q2's schedule that fires it, both or neither."""
        schedule = super().save(commit=False)
        schedule.endpoint = self.endpoint
        schedule.created_by = schedule.created_by or user
        with transaction.atomic():
            schedule.save()
            schedule.sync()
        return schedule


def create_schedule(
    endpoint,
    *,
    name: str,
    input: str,
    cron: str,
    deployment_name: str = "",
    description: str = "",
    output_datastore: str = "",
    output_path: str = "",
    user=None,
) -> Schedule:
    """The API's and the command line's + Create schedule: the same form and checks; refusals raise ValidationError.
    input is a datastore folder URI (azureml://datastores/<name>/paths/<path>)."""
    match = DATASTORE_URI.match((input or "").strip())
    if not match:
        raise ValidationError(
            {
                "input": ValidationError(
                    "A schedule's input is a datastore folder: azureml://datastores/<name>/paths/<path> (got '%(input)s').",
                    code="input_not_datastore_path",
                    params={"input": input},
                )
            }
        )
    form = ScheduleForm(
        {
            "name": name,
            "description": description,
            "deployment_name": deployment_name or "",
            "input_datastore": match["name"],
            "input_path": match["path"],
            "recurrence": CUSTOM,
            "cron": cron,
            "enable_output": bool(output_path),
            "output_datastore": output_datastore or Datastore.get_default().name,
            "output_path": output_path,
        },
        endpoint=endpoint,
    )
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    return form.save(user=user)
