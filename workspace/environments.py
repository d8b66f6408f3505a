"""Environments deployments run in: "studio" (the workers' own Python) or a venv built from pip requirements.

The model keeps its app label "jobs" (table jobs_environment, the jobs app's migrations) while it lives here,
below endpoints and jobs, which both need it.
"""

import logging
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from engine import envbuild
from engine.host import HostError
from workspace import registry

log = logging.getLogger(__name__)  # a build's progress, line by line (the command line shows it on stderr)
PROGRESS_SECONDS = 2  # how often a build's log so far is saved, for its page to show while it runs


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
        """The environment `name` with these requirements: the existing version, else a new one. Requirements that
        install nothing are refused (require_packages): an environment is never Ready with nothing in it."""
        require_packages(requirements)
        existing, version = cls.next_version(name, requirements)
        return existing or cls.objects.create(
            name=name, version=version, requirements=requirements, description=description
        )

    def build_again(self) -> bool:
        """A Failed environment back to Not started and claimed for its build (a package index that was unreachable, a
        release published since): True for the one caller that should queue it; False unless it was Failed."""
        if not Environment.objects.filter(pk=self.pk, state=self.FAILED).update(state=self.NOT_STARTED):
            self.refresh_from_db()
            return False
        self.refresh_from_db()
        return self.claim_build()

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
        """The environment an MLflow model's own requirements describe (its requirements.txt, else its conda.yaml's
        pip section), as Azure generates one for a no-code deployment: the workers' own ("studio") when their
        packages satisfy every requirement already (nothing to build), else "mlflow-<model>:<version>", built once
        per content hash like any other. A python pin this machine cannot satisfy is refused (ValidationError)."""
        requirements = model_requirements(model_name, model_version)
        if not envbuild.unsatisfied(requirements):
            return cls.studio()
        env, _ = cls.objects.get_or_create(
            name=f"mlflow-{model_name}"[:100],
            version=str(model_version),
            defaults={
                "requirements": requirements,
                "description": f"Generated from the requirements of model {model_name}:{model_version}.",
            },
        )
        return env

    @property
    def installs_nothing(self) -> bool:
        """A venv with no packages of its own: the workers' own packages, under another name (made before such
        environments were refused; its page says so)."""
        return not self.is_studio and not envbuild.normalise(self.requirements)

    @property
    def conda_mappings(self) -> list[tuple[str, str]]:
        """The (conda dependency, pip requirement) pairs its requirements were mapped from, for its page."""
        return envbuild.conda_mappings(self.requirements)

    @property
    def failure_reason(self) -> str:
        """What went wrong, from the build log: the failed step's own error and pip's ERROR lines, else its end."""
        return envbuild.failure_summary(self.build_log) or "see the build log"

    @property
    def build_log_file(self) -> Path:
        """Where the whole log of this environment's build is kept (on the machine that built it)."""
        return envbuild.log_path(envbuild_root(), self.requirements)

    @property
    def where_the_log_is(self) -> str:
        return f"The full build log: {self.build_log_file} and the environment's page {self.get_absolute_url()}"

    def build(self):
        """Build (or reuse) the venv for these requirements; the state and log say how it went. While it builds,
        each line of output is logged (the command line shows them) and the log so far saved every few seconds
        (the environment's page shows it)."""
        if self.is_studio:
            return self
        if not envbuild.normalise(self.requirements):  # registered before such environments were refused
            self.state, self.build_log = self.FAILED, NO_PACKAGES % {"where": f"Environment {self.label}"}
            self.save(update_fields=["state", "build_log", "updated"])
            return self
        self.content_hash = envbuild.content_hash(self.requirements)
        self.state = self.BUILDING
        self.save(update_fields=["content_hash", "state", "updated"])
        log.info(
            "Building environment %s: pip installs %s", self.label, ", ".join(envbuild.normalise(self.requirements))
        )
        result = envbuild.build(envbuild_root(), self.requirements, self._progress())
        self.state = self.READY if result.ok else self.FAILED
        self.build_log = result.log
        self.python = str(result.python) if result.ok else ""
        self.save(update_fields=["state", "build_log", "python", "updated"])
        log.info(
            "Environment %s: %s", self.label, self.state if result.ok else f"{self.state}. {self.where_the_log_is}"
        )
        return self

    def _progress(self):
        lines, saved = [], [time.monotonic()]

        def on_line(line: str):
            lines.append(line)
            log.info("  %s", line)
            if time.monotonic() - saved[0] >= PROGRESS_SECONDS:
                saved[0] = time.monotonic()
                Environment.objects.filter(pk=self.pk, state=self.BUILDING).update(build_log="\n".join(lines))

        return on_line


def model_requirements(model_name: str, model_version: str) -> str:
    """The pip requirements of an MLflow model's folder: requirements.txt, else conda.yaml's packages
    (requirements_from_conda). Its conda.yaml's (or python_env.yaml's) python pin must hold for this machine's
    Python: else ValidationError."""
    label = f"Model {model_name}:{model_version}"
    try:
        folder = registry.model_dir(model_name, model_version)
    except HostError as exc:  # the registry cannot be read: say so where the model is chosen
        raise ValidationError(str(exc), code="model_unavailable") from exc
    conda = folder / "conda.yaml"
    conda_text = conda.read_text() if conda.is_file() else ""
    try:
        if conda_text:
            where, pin = f"{label}'s conda.yaml", envbuild.conda_python(conda_text)
        elif (folder / "python_env.yaml").is_file():
            found = yaml.safe_load((folder / "python_env.yaml").read_text()) or {}
            where, pin = f"{label}'s python_env.yaml", str(found.get("python") or "") if isinstance(found, dict) else ""
        else:
            where, pin = label, None
    except yaml.YAMLError as exc:
        raise ValidationError(
            "%(label)s's environment file is not valid YAML: %(error)s",
            code="invalid_model_environment",
            params={"label": label, "error": exc},
        ) from exc
    if problem := envbuild.python_problem(pin, where):
        raise ValidationError(problem, code="python_unsatisfiable")
    requirements = folder / "requirements.txt"
    if requirements.is_file():
        return requirements.read_text()
    return requirements_from_conda(conda_text, lambda error: at_line(f"{label}'s conda.yaml", error))


NO_PACKAGES = (
    "%(where)s lists no packages to install. Batch Studio has no container runtime: it builds an environment from "
    "the packages of a conda file (its pip: list, and name=version dependencies) over the workers' own Python. "
    "List the packages the scoring script imports, or use the workers' own environment (studio, or no environment)."
)


def require_packages(requirements: str, where: str = "The environment"):
    """Refuse requirements that install nothing (an image alone, a conda file of only python and pip): such an
    environment would be Ready with nothing in it."""
    if not envbuild.normalise(requirements):
        raise ValidationError(NO_PACKAGES, code="no_packages", params={"where": where})


def requirements_from_conda(text: str, where: Callable[[envbuild.CondaFileError | None], str]) -> str:
    """The pip requirements of a conda file: its pip: list, its other dependencies mapped to pip (the requirement
    notes the conda line; the build log shows the mapping). A dependency pip cannot install (a channel such as
    conda-forge::x, a build string) is refused, coded; where(error) names the file and the error's line (None: the
    file as a whole)."""
    try:
        return envbuild.conda_packages(text).requirements
    except yaml.YAMLError as exc:
        raise ValidationError(
            "%(where)s is not valid YAML: %(error)s",
            code="invalid_conda_file",
            params={"where": where(None), "error": exc},
        ) from exc
    except envbuild.CondaFileError as exc:
        raise ValidationError(
            "%(where)s: %(problem)s",
            code="conda_dependency_unsupported" if exc.index is not None else "invalid_conda_file",
            params={"where": where(exc), "problem": exc.reason},
        ) from exc


def at_line(name: str, error: envbuild.CondaFileError | None) -> str:
    """ "conda.yaml, line 7" for an error on line 7 of conda.yaml; the name alone without one."""
    return f"{name}, line {error.line}" if error is not None and error.line else name


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
            "Environment '%(label)s' cannot be built: %(reason)s %(log)s",
            code="environment_build_failed",
            params={"label": env.label, "reason": env.failure_reason, "log": env.where_the_log_is},
        )
