"""Environments deployments run in: "studio" (the workers' own Python) or a venv built from pip requirements.

The model keeps its app label "jobs" (table jobs_environment, the jobs app's migrations) while it lives here,
below endpoints and jobs, which both need it.
"""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from engine import envbuild
from workspace import registry


class Environment(models.Model):
    """A Python environment deployments run in. "studio" is the workers' own; the others are venvs built once
    per content hash (see engine.envbuild) and shared by every environment with the same requirements."""

    NOT_STARTED = "NotStarted"
    BUILDING = "Building"
    READY = "Ready"
    FAILED = "Failed"
    STATES = [(s, s) for s in (NOT_STARTED, BUILDING, READY, FAILED)]
    STUDIO = "studio"

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=20, default="1")
    description = models.TextField(blank=True)
    requirements = models.TextField(blank=True, help_text="pip requirements, one a line")
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=20, choices=STATES, default=NOT_STARTED)
    build_log = models.TextField(blank=True)
    python = models.CharField(max_length=500, blank=True, help_text="empty: the workers' own python")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "jobs"  # its table and migrations stay the jobs app's
        ordering = ["name", "version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="unique_environment_version")]

    def __str__(self):
        return self.label

    @property
    def label(self):
        return f"{self.name}:{self.version}"

    @property
    def is_studio(self):
        return self.name == self.STUDIO

    def get_absolute_url(self):
        return reverse("environment-detail", args=[self.name, self.version])

    @classmethod
    def studio(cls):
        env, _ = cls.objects.get_or_create(
            name=cls.STUDIO,
            version="1",
            defaults={"state": cls.READY, "description": "The workers' own Python environment."},
        )
        return env

    @classmethod
    def lookup(cls, label: str):
        """The environment a deployment names ("name:version", or "name" for its latest); None if unknown."""
        if not label or label.split(":")[0] == cls.STUDIO:
            return cls.studio()
        name, _, version = label.partition(":")
        found = cls.objects.filter(name=name)
        if version and version != "latest":
            return found.filter(version=version).first()
        return max(found, key=lambda e: (len(e.version), e.version), default=None)

    @classmethod
    def next_version(cls, name: str, requirements: str):
        """(the version with these requirements, or None; the version a new one would get). Environments are
        immutable: the same name with other requirements is a new version."""
        versions = list(cls.objects.filter(name=name))
        existing = next((e for e in versions if e.requirements.strip() == requirements.strip()), None)
        numbers = [int(e.version) for e in versions if e.version.isdigit()]
        return existing, existing.version if existing else str(max(numbers, default=0) + 1)

    @classmethod
    def register(cls, name: str, requirements: str, description: str = ""):
        """The environment `name` with these requirements: the existing version, else a new one."""
        existing, version = cls.next_version(name, requirements)
        return existing or cls.objects.create(
            name=name, version=version, requirements=requirements, description=description
        )

    def claim_build(self) -> bool:
        """Mark a NotStarted environment Building; True for the one caller that should queue its build."""
        if self.is_studio:
            return False
        claimed = Environment.objects.filter(pk=self.pk, state=self.NOT_STARTED).update(
            state=self.BUILDING, updated=timezone.now()
        )
        if claimed:
            self.state = self.BUILDING
        return bool(claimed)

    @classmethod
    def for_model(cls, model_name: str, model_version: str):
        """The environment generated from an MLflow model's requirements.txt: "mlflow-<model>:<version>"."""
        requirements = registry.model_dir(model_name, model_version) / "requirements.txt"
        env, _ = cls.objects.get_or_create(
            name=f"mlflow-{model_name}"[:100],
            version=str(model_version),
            defaults={
                "requirements": requirements.read_text() if requirements.exists() else "",
                "description": f"Generated from the requirements of model {model_name}:{model_version}.",
            },
        )
        return env

    @property
    def failure_reason(self) -> str:
        """The lines of the build log that say what went wrong (pip's ERROR lines), else its end."""
        lines = [line for line in self.build_log.splitlines() if line.startswith("ERROR")]
        return " ".join(lines or self.build_log.splitlines()[-3:]) or "see the build log"

    def build(self):
        """Build (or reuse) the venv for these requirements; the state and log say how it went."""
        if self.is_studio:
            return self
        self.content_hash = envbuild.content_hash(self.requirements)
        self.state = self.BUILDING
        self.save(update_fields=["content_hash", "state", "updated"])
        result = envbuild.build(envbuild_root(), self.requirements)
        self.state = self.READY if result.ok else self.FAILED
        self.build_log = result.log
        self.python = str(result.python) if result.ok else ""
        self.save(update_fields=["state", "build_log", "python", "updated"])
        return self


def envbuild_root():
    return Path(settings.STUDIO_HOME) / "envs"


def validate_environment(label: str):
    """A deployment's environment must exist and build: a requirement that cannot be installed is refused now,
    when the deployment is made, not when its first job runs. Builds it (once per content hash) if needed."""
    if not label:
        return
    env = Environment.lookup(label)
    if env is None:
        raise ValidationError(
            "Environment '%(label)s' does not exist.", code="unknown_environment", params={"label": label}
        )
    if env.state == Environment.NOT_STARTED:
        env.build()
    if env.state == Environment.BUILDING:
        raise ValidationError(
            "Environment '%(label)s' is being built; try again once it is Ready.",
            code="environment_building",
            params={"label": env.label},
        )
    if env.state == Environment.FAILED:
        raise ValidationError(
            "Environment '%(label)s' cannot be built: %(reason)s",
            code="environment_build_failed",
            params={"label": env.label, "reason": env.failure_reason},
        )
