"""Batch jobs and their mini-batches: all job state lives here, never only in the queue."""

import uuid
from datetime import timedelta

from django.conf import settings as conf
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, F, Func, IntegerField, Q, Sum
from django.urls import reverse
from django.utils import timezone

from studio.models import decrypt, encrypt
from studio.redact import redact


class Status(models.TextChoices):
    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    # Completed, but some rows or files are not in the output: they are in errors.csv (Azure: partially succeeded).
    COMPLETED_WITH_ERRORS = "CompletedWithErrors", "Completed with errors"
    FAILED = "Failed"
    CANCELED = "Canceled"


FINISHED = (Status.COMPLETED, Status.COMPLETED_WITH_ERRORS, Status.FAILED, Status.CANCELED)
SUCCEEDED = (Status.COMPLETED, Status.COMPLETED_WITH_ERRORS)  # the job published its output
RETRYABLE = (Status.FAILED, Status.CANCELED)
# The logs Azure users know, written beside every job's output (see jobs/logs.py).
LOG_FILES = ("logs/job_progress_overview.txt", "logs/job_result.txt", "logs/error_summary.csv", "logs/mini-batches.csv")
# The rows (and whole files) left out of the output, with their errors (see jobs/isolation.py).
ERRORS_FILE = "errors.csv"
# How the reason of a job that failed on its error threshold ends: errors.csv was written then too.
THRESHOLD_SEE = f"See {ERRORS_FILE} and logs/error_summary.csv for what failed."


def new_job_name():
    return f"batchjob-{uuid.uuid4()}"


class NamedPage:
    """A row shown on a page of its own, named by its unique name."""

    url_name = ""

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse(self.url_name, args=[self.name])


class DeploymentRun(models.Model):
    """What a run of a deployment scores with: its model, code, environment and settings, and the input,
    fixed when the run is asked for (editing the deployment later changes no job or preview)."""

    model_uri = models.CharField(max_length=300)
    code_path = models.CharField(max_length=500, blank=True)
    scoring_script = models.CharField(max_length=255, blank=True)
    environment = models.CharField(max_length=255, blank=True)
    compute = models.CharField(max_length=64, default=conf.DEFAULT_COMPUTE)
    input_uri = models.CharField(max_length=2000)
    input_datastore = models.CharField(max_length=255, blank=True)
    # The SAS token a public input URL carried (studio.models.encrypt): input_uri shows it redacted, the files
    # are named without it, and the engine adds it back to every request (input_source).
    input_sas_encrypted = models.TextField(blank=True, editable=False)
    # The input's files left out for their type (jobs.engine.reading.skipped): the page says which and why.
    input_skipped = models.JSONField(default=dict, blank=True)
    settings = models.JSONField(default=dict)

    class Meta:
        abstract = True

    @property
    def input_display(self) -> str:
        """The input as pages, the API and logs show it: a SAS signature or password in a URL redacted (new runs
        store it so already; older ones may not)."""
        return redact(self.input_uri)

    @property
    def input_skipped_note(self) -> str:
        from jobs.engine.reading import READS, describe_skipped

        if not self.input_skipped:
            return ""
        names, more = self.input_skipped["names"], self.input_skipped["count"] - len(self.input_skipped["names"])
        return (
            f"Skipped {describe_skipped(self.input_skipped)}: {', '.join(names)}{f' and {more} more' if more else ''}; "
            f"{READS}."
        )

    def input_source(self):
        """Where the engine reads the input files: the input datastore, or public URLs (with their SAS token)."""
        from studio.storage import source_client

        return source_client(self.input_datastore, decrypt(self.input_sas_encrypted))

    @staticmethod
    def of(deployment, effective: dict, resolved) -> dict:
        """The fields for a run of deployment with these settings on this resolved input."""
        return {
            "model_uri": f"models:/{deployment.model_name}/{deployment.model_version}",
            "code_path": deployment.code_path,
            "scoring_script": deployment.scoring_script,
            "environment": deployment.environment,
            "compute": deployment.compute,
            "settings": effective,
            "input_uri": resolved.uri,
            "input_datastore": resolved.datastore,
            "input_sas_encrypted": encrypt(resolved.sas),
            "input_skipped": resolved.skipped,
        }


class JSONArrayLength(Func):
    """The length of a JSON list column (SQLite's json_array_length, PostgreSQL's jsonb_array_length)."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra)


class BatchJob(NamedPage, DeploymentRun):
    url_name = "jobs:detail"

    name = models.CharField(max_length=64, unique=True, default=new_job_name)
    endpoint = models.ForeignKey(
        "endpoints.BatchEndpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    deployment = models.ForeignKey(
        "endpoints.BatchDeployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    # Names kept so that a job stays readable after its endpoint or deployment is deleted.
    endpoint_name = models.CharField(max_length=32)
    deployment_name = models.CharField(max_length=32)
    overrides = models.JSONField(default=dict, blank=True)
    output_datastore = models.CharField(max_length=255)
    output_path = models.CharField(max_length=1000)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED, db_index=True)
    error = models.TextField(blank=True)
    files_total = models.PositiveIntegerField(default=0)
    files_failed = models.PositiveIntegerField(default=0)
    mini_batches_total = models.PositiveIntegerField(default=0)
    mini_batches_done = models.PositiveIntegerField(default=0)
    mini_batches_failed = models.PositiveIntegerField(default=0)
    rows_out = models.BigIntegerField(default=0)
    rows_failed = models.BigIntegerField(default=0)  # rows set aside by bad-record isolation
    files_partial = models.PositiveIntegerField(default=0)  # files scored but for the rows set aside
    # Failed on its error threshold: errors.csv holds what was set aside until then (see jobs/isolation.py).
    failed_on_threshold = models.BooleanField(default=False)
    # Retry failed: the job this one retries, reusing its succeeded mini-batches' parts (see jobs/resume.py).
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    # A Failed or Canceled job keeps its succeeded parts for a retry until then (None: nothing kept).
    parts_kept_until = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=200, blank=True, db_index=True)
    created_by = models.ForeignKey(conf.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # While Finalizing: if the worker dies mid-way, the reclaim schedule finalizes again once this passes.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["endpoint", "-created"])]
        constraints = [
            # Two invokes racing with the same repeatability-request-id still make one job.
            models.UniqueConstraint(
                fields=["endpoint_name", "request_id"],
                condition=~models.Q(request_id=""),
                name="unique_request_id_per_endpoint",
            ),
        ]

    @property
    def is_finished(self):
        return self.status in FINISHED

    @property
    def succeeded(self):
        return self.status in SUCCEEDED

    @property
    def model_label(self) -> str:
        """name:version, as the Studio names a model everywhere (the job stores MLflow's models:/name/version)."""
        return self.model_uri.removeprefix("models:/").replace("/", ":", 1)

    def started_by(self) -> list[tuple[str, str, str]]:
        """(what, name, url) of the schedule run or deployment comparison that started this job, for its page."""
        from jobs.schedules.models import ScheduleRun

        found = [
            ("Schedule", run.schedule.name, run.schedule.get_absolute_url())
            for run in ScheduleRun.objects.filter(job=self).select_related("schedule")
        ]
        for comparison in Comparison.objects.filter(models.Q(baseline=self) | models.Q(candidate=self)).select_related(
            "baseline", "candidate"
        ):
            side = "baseline" if comparison.baseline_id == self.pk else "candidate"
            found.append(
                (
                    f"Comparison ({side})",
                    f"{comparison.baseline.deployment_name} vs {comparison.candidate.deployment_name}",
                    comparison.get_absolute_url(),
                )
            )
        return found

    @property
    def can_retry(self):
        """Failed or Canceled, its deployment still there, and not retried yet (list pages annotate has_retry: no
        query per row)."""
        if self.status not in RETRYABLE or self.deployment_id is None:
            return False
        return not (self.has_retry if hasattr(self, "has_retry") else self.retries.exists())

    @classmethod
    def with_retry_flag(cls, queryset):
        return queryset.annotate(has_retry=models.Exists(cls.objects.filter(retry_of=models.OuterRef("pk"))))

    @property
    def has_errors_file(self):
        """errors.csv is beside the output: written by finalize, or when the job failed on its error threshold."""
        on_threshold = self.status == Status.FAILED and self.failed_on_threshold
        return (self.succeeded or on_threshold) and bool(self.rows_failed or self.files_failed)

    @property
    def output_file_path(self):
        name = self.settings.get("output_file_name")
        return f"{self.output_path.rstrip('/')}/{name}" if name else ""

    def output_files(self) -> tuple[str, ...]:
        """What a user may open or download: the output file, its manifest and the job's logs (mini-batch logs too)."""
        from jobs.outputs import manifest_files

        name = self.settings.get("output_file_name")
        errors = (ERRORS_FILE,) if self.has_errors_file else ()
        return ((name,) if name else ()) + errors + manifest_files(self.settings) + LOG_FILES

    def output_location(self, file: str) -> str:
        """The datastore path of one of the job's files; refuses anything else (no reading other folders)."""
        from studio.storage import clean_path

        is_log = file.startswith("logs/mini-batches/") and file.endswith(".log")
        if file not in self.output_files() and not is_log:
            raise ValidationError(
                "Job %(job)s has no output named '%(file)s'.",
                code="not_an_output",
                params={"job": self.name, "file": file},
            )
        return f"{self.output_path.rstrip('/')}/{clean_path(file)}"

    @property
    def output_uri(self):
        return f"azureml://datastores/{self.output_datastore}/paths/{self.output_path.rstrip('/')}/"

    @property
    def duration(self):
        if not self.started:
            return None
        return (self.finished or timezone.now()) - self.started

    @property
    def progress_percent(self):
        if not self.mini_batches_total:
            return 100 if self.succeeded else 0
        return int(100 * (self.mini_batches_done + self.mini_batches_failed) / self.mini_batches_total)

    def files_done(self) -> int:
        """Files scored by the mini-batches that completed, their failed files left out: counted in the database,
        over every mini-batch (the job page lists only the first ones)."""
        done = self.mini_batches.filter(status=MiniBatch.COMPLETED).aggregate(
            files=Sum(JSONArrayLength("files")), failed=Sum("files_failed")
        )
        return (done["files"] or 0) - (done["failed"] or 0)

    def mini_batches_with_errors(self):
        """The mini-batches the error summary reads: a failed file, rows set aside, or failed as a whole."""
        return self.mini_batches.filter(~Q(file_errors=[], rows_failed=0) | Q(status=MiniBatch.FAILED))

    def error_count(self) -> int:
        """The error summary's lines, counted in the database: one per failed file, one per mini-batch that set rows
        aside, one per mini-batch that failed with an error."""
        counts = self.mini_batches_with_errors().aggregate(
            files=Sum(JSONArrayLength("file_errors")),
            rows=Count("pk", filter=Q(rows_failed__gt=0)),
            failed=Count("pk", filter=Q(status=MiniBatch.FAILED) & ~Q(error="")),
        )
        return sum(value or 0 for value in counts.values())

    def mark_failed(self, reason: str, on_threshold: bool = False):
        BatchJob.objects.filter(pk=self.pk).exclude(status__in=FINISHED).update(
            status=Status.FAILED, error=reason, finished=timezone.now(), failed_on_threshold=on_threshold
        )
        self.refresh_from_db()

    def request_cancel(self) -> bool:
        """Stop dispatching; the job becomes Canceled at once if nothing of it runs, else when its running
        mini-batches have stopped (their heartbeat sees the request). False if it is too late to cancel."""
        with transaction.atomic():
            if (
                not BatchJob.objects.filter(pk=self.pk)
                .exclude(status__in=(*FINISHED, Status.FINALIZING))
                .update(status=Status.CANCEL_REQUESTED)
            ):
                self.refresh_from_db()  # the refusal names the status the job has now
                return False
            self.mini_batches.filter(status__in=[MiniBatch.PENDING, MiniBatch.QUEUED]).update(status=MiniBatch.CANCELED)
            idle = not self.mini_batches.filter(status=MiniBatch.RUNNING).exists()
        if idle:
            from jobs import tasks

            tasks.finish_canceled(self.pk)
        self.refresh_from_db()
        return True


class MiniBatch(models.Model):
    PENDING = "Pending"
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    STATUSES = [(s, s) for s in (PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELED)]

    job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="mini_batches")
    index = models.PositiveIntegerField()
    files = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=STATUSES, default=PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    file_errors = models.JSONField(default=list, blank=True)
    rows_out = models.PositiveIntegerField(default=0)
    files_failed = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    # The folder of this mini-batch's part and errors files when they are not in its job's staging
    # (kept from a failed job for a retry, see jobs/resume.py); empty: the job's own .staging.
    staging = models.CharField(max_length=1000, blank=True)
    seconds = models.FloatField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="unique_minibatch_index")]
        # A lane's "next Pending mini-batch of this job" and dispatch's counts by status: a few index steps,
        # not a walk over every mini-batch already done (a 10 000-file job has 1 000 of them).
        indexes = [models.Index(fields=["job", "status", "index"], name="minibatch_job_status_index")]

    def __str__(self):
        return f"{self.job.name}#{self.index}"

    @property
    def staging_folder(self):
        return self.staging or f"{self.job.output_path.rstrip('/')}/.staging"

    @property
    def part_path(self):
        from jobs.engine.formats import EXTENSIONS

        ext = EXTENSIONS.get(self.job.settings.get("output_format"), ".csv")
        return f"{self.staging_folder}/part-{self.index:06d}{ext}"

    @property
    def errors_path(self):
        """The rows this mini-batch set aside (file, row, error_type, message), when it set any aside."""
        return f"{self.staging_folder}/errors-{self.index:06d}.csv"

    @property
    def reusable(self):
        """Completed with no file or row in error: a retry reuses its part instead of running it again."""
        return self.status == self.COMPLETED and not self.files_failed and not self.rows_failed

    @property
    def log_path(self):
        return f"{self.job.output_path.rstrip('/')}/logs/mini-batches/{self.index}.log"

    def claim(self, worker: str, lease_seconds: int) -> bool:
        """Take this mini-batch for one attempt; False if another worker has it or it is done."""
        now = timezone.now()
        return bool(
            MiniBatch.objects.filter(pk=self.pk, status__in=[self.QUEUED, self.PENDING]).update(
                status=self.RUNNING,
                attempts=F("attempts") + 1,
                worker=worker,
                started=now,
                lease_until=now + timedelta(seconds=lease_seconds),
            )
        )


class Environment(models.Model):
    """A Python environment deployments run in. "studio" is the workers' own; the others are venvs built once
    per content hash (see jobs.engine.envbuild) and shared by every environment with the same requirements."""

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
        from jobs import hosting

        requirements = hosting.model_dir(model_name, model_version) / "requirements.txt"
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
        from jobs.engine import envbuild

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
    from pathlib import Path

    return Path(conf.STUDIO_HOME) / "envs"


class Comparison(models.Model):
    """Compare deployments: the same input scored by the endpoint's default deployment (baseline) and by a
    candidate; once both jobs complete, a background task streams both outputs and stores the report here."""

    WAITING = "Waiting"  # the two jobs run
    COMPUTING = "Computing"  # the report task runs
    COMPLETED = "Completed"
    FAILED = "Failed"
    STATES = [(s, s) for s in (WAITING, COMPUTING, COMPLETED, FAILED)]

    endpoint = models.ForeignKey(
        "endpoints.BatchEndpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="comparisons"
    )
    endpoint_name = models.CharField(max_length=32)
    input_uri = models.CharField(max_length=2000)
    baseline = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=20, choices=STATES, default=WAITING, db_index=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(conf.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.endpoint_name}: {self.baseline.deployment_name} vs {self.candidate.deployment_name}"

    def get_absolute_url(self):
        return reverse("endpoints:comparison", args=[self.endpoint_name, self.pk])

    @property
    def is_finished(self):
        return self.state in (self.COMPLETED, self.FAILED)

    @property
    def input_display(self) -> str:
        return redact(self.input_uri)


def new_preview_name():
    return f"preview-{uuid.uuid4()}"


class Preview(NamedPage, DeploymentRun):
    """A dry run of + Create job: the first rows of the first files scored on the workers, nothing written.
    The task (jobs.preview.run) keeps its progress and result here, not only in django-q2's result table."""

    QUEUED, RUNNING, COMPLETED, FAILED = "Queued", "Running", "Completed", "Failed"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, COMPLETED, FAILED)]

    name = models.CharField(max_length=64, unique=True, default=new_preview_name)
    endpoint = models.ForeignKey("endpoints.BatchEndpoint", on_delete=models.CASCADE, related_name="previews")
    deployment_name = models.CharField(max_length=32)
    files = models.JSONField(default=list)  # the first files, the ones sampled
    files_total = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=STATUSES, default=QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(conf.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    # Renewed by the worker's heartbeat while it runs (by nobody while it waits): once passed, its worker or its task
    # was lost (jobs.preview.settle_if_lost).
    lease_until = models.DateTimeField(null=True, blank=True)

    url_name = "jobs:preview"

    class Meta:
        ordering = ["-created"]

    @property
    def is_finished(self):
        return self.status in (self.COMPLETED, self.FAILED)
