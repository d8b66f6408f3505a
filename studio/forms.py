from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from studio.models import NAME_VALIDATOR


class RegisterModelForm(forms.Form):
    name = forms.CharField(label="Name", max_length=255, validators=[NAME_VALIDATOR])
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    model_zip = forms.FileField(label="Model folder (.zip)", help_text="Zip the folder that mlflow.save_model wrote (it holds an MLmodel file).")

    def clean_model_zip(self):
        upload = self.cleaned_data["model_zip"]
        if upload.size > settings.MODEL_UPLOAD_MAX_BYTES:
            raise ValidationError("The file is larger than the %(mb)d MB limit.", code="too_large",
                                  params={"mb": settings.MODEL_UPLOAD_MAX_BYTES // (1024 * 1024)})
        if not upload.name.lower().endswith(".zip"):
            raise ValidationError("Upload a .zip file.", code="not_zip")
        return upload
