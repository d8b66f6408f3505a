"""Batch jobs and their mini-batches: all job state lives here, never only in the queue."""

import uuid
from datetime import timedelta

from django.conf import settings as conf
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, F, Func, IntegerField, Q, Sum
from django.urls import reverse
from django.utils import timezone

from engine.formats import EXTENSIONS
from engine.reading import READS, describe_entry, describe_skipped, split_entry
from jobs.outputs import manifest_files
from workspace import storage
from workspace.environments import Environment  # noqa: F401  (registered with the jobs app)
from workspace.models import source_client
from workspace.redact import redact
from workspace.secrets import decrypt, encrypt


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
# The rows (and whole files) left out of the output, with their errors (see jobs/bad_records.py).
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

    # The exact version (models:/name/version), and the alias it was resolved from when the run started, if any.
    model_uri = models.CharField(max_length=300)
    model_alias = models.CharField(max_length=255, blank=True)
    code_path = models.CharField(max_length=500, blank=True)
    scoring_script = models.CharField(max_length=255, blank=True)
    environment = models.CharField(max_length=255, blank=True)
    compute = models.CharField(max_length=64, default=conf.DEFAULT_COMPUTE)
    input_uri = models.CharField(max_length=2000)
    input_datastore = models.CharField(max_length=255, blank=True)
    # The SAS token a public input URL carried (workspace.models.encrypt): input_uri shows it redacted, the files
    # are named without it, and the engine adds it back to every request (input_source).
    input_sas_encrypted = models.TextField(blank=True, editable=False)
    # The input's files left out for their type (engine.reading.skipped): the page says which and why.
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
        notes, skipped = [], self.input_skipped or {}
        if skipped.get("count"):
            names, more = skipped["names"], skipped["count"] - len(skipped["names"])
            notes.append(
                f"Skipped {describe_skipped(skipped)}: {', '.join(names)}{f' and {more} more' if more else ''}; "
                f"{READS}."
            )
        if skipped.get("outside_count"):
            names, count = skipped["outside"], skipped["outside_count"]
            more = f" and {count - len(names)} more" if count > len(names) else ""
            notes.append(
                f"Not read: {count} entr{'y' if count == 1 else 'ies'} leading outside the datastore (symlinks): "
                f"{', '.join(names)}{more}."
            )
        return " ".join(notes)

    def input_source(self):
        """Where the engine reads the input files: the input datastore, or public URLs (with their SAS token)."""
        return source_client(self.input_datastore, decrypt(self.input_sas_encrypted))

    @property
    def model_name(self) -> str:
        return self.model_uri.removeprefix("models:/").split("/", 1)[0]

    @property
    def model_version(self) -> str:
        return self.model_uri.removeprefix("models:/").split("/", 1)[-1]

    @property
    def model_label(self) -> str:
        """name:version, as the Studio names a model everywhere (the run stores MLflow's models:/name/version)."""
        return f"{self.model_name}:{self.model_version}"

    @property
    def model_display(self) -> str:
        """name:version, and the alias it was reached through: "iris:2 (via @champion)"."""
        return f"{self.model_label} (via @{self.model_alias})" if self.model_alias else self.model_label

    @staticmethod
    def of(deployment, effective: dict, resolved, model=None) -> dict:
        """The fields for a run of deployment with these settings on this resolved input; model: the exact version
        (deployment.resolve_model(), resolved now when not given)."""
        model = model or deployment.resolve_model()
        return {
            "model_uri": f"models:/{model.name}/{model.version}",
            "model_alias": model.alias,
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
    # Failed on its error threshold: errors.csv holds what was set aside until then (see jobs/bad_records.py).
    failed_on_threshold = models.BooleanField(default=False)
    # Retry failed: the job this one retries, reusing its succeeded mini-batches' parts (see jobs/retries.py).
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    # A Failed or Canceled job keeps its succeeded parts for a retry until then (None: nothing kept).
    parts_kept_until = models.DateTimeField(null=True, blank=True)
    # The files a scoring script wrote into the output folder itself (summary_only's output, one file per input...),
    # relative to it: listed by finalize, so the API and the job page offer them like the output file.
    script_outputs = models.JSONField(default=list, blank=True)
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
        """What a user may open or download: the output file, its manifest, the files the scoring script wrote itself
        and the job's logs (mini-batch logs too)."""
        name = self.settings.get("output_file_name")
        errors = (ERRORS_FILE,) if self.has_errors_file else ()
        written = tuple(self.script_outputs or ())
        return ((name,) if name else ()) + errors + manifest_files(self.settings) + written + LOG_FILES

    def output_location(self, file: str) -> str:
        """The datastore path of one of the job's files; refuses anything else (no reading other folders)."""
        is_log = file.startswith("logs/mini-batches/") and file.endswith(".log")
        if file not in self.output_files() and not is_log:
            raise ValidationError(
                "Job %(job)s has no output named '%(file)s'.",
                code="not_an_output",
                params={"job": self.name, "file": file},
            )
        return f"{self.output_path.rstrip('/')}/{storage.clean_path(file)}"

    @property
    def output_uri(self):
        return f"azureml://datastores/{self.output_datastore}/paths/{self.output_path.rstrip('/')}/"

    @property
    def duration(self):
        if not self.started:
            return None
        return (self.finished or timezone.now()) - self.started

    @property
    def rows_in_progress(self) -> int:
        """Rows its running mini-batches have scored so far (not yet in rows_out): a long mini-batch shows progress."""
        if self.is_finished:
            return 0
        running = self.mini_batches.filter(status=MiniBatch.RUNNING)
        return running.aggregate(n=models.Sum("rows_so_far"))["n"] or 0

    @property
    def progress_percent(self):
        if not self.mini_batches_total:
            return 100 if self.succeeded else 0
        return int(100 * (self.mini_batches_done + self.mini_batches_failed) / self.mini_batches_total)

    @property
    def outcome(self) -> str:
        """How the progress bar reads once the job is over (a full blue bar said all was well when every file had
        failed): 'failed' (the job failed, or every file did), 'partial' (some files failed), 'canceled', or ''."""
        if not self.is_finished:
            return ""
        if self.status == Status.FAILED or (self.files_total and self.files_failed >= self.files_total):
            return "failed"
        if self.files_failed or self.status == Status.COMPLETED_WITH_ERRORS:
            return "partial"
        return "canceled" if self.status == Status.CANCELED else ""

    @property
    def outcome_text(self) -> str:
        """The words beside the bar: what the full bar means."""
        if self.files_total and self.files_failed >= self.files_total:
            return "every file failed"
        if self.files_failed:
            return f"{self.files_failed} of {self.files_total} files failed"
        return {"failed": "failed", "partial": "completed with errors", "canceled": "canceled"}.get(self.outcome, "")

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
    # Rows the running attempt has scored so far (its heartbeat writes them); read only while the mini-batch runs.
    rows_so_far = models.PositiveIntegerField(default=0)
    files_failed = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    # The folder of this mini-batch's part and errors files when they are not in its job's staging
    # (kept from a failed job for a retry, see jobs/retries.py); empty: the job's own .staging.
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

    @property
    def range_label(self) -> str:
        """'big.parquet rows 2000–3999' for a mini-batch of one range of a split file (split_rows), else ''."""
        if len(self.files) != 1 or split_entry(self.files[0])[1] is None:
            return ""
        return describe_entry(self.files[0]).rsplit("/", 1)[-1]

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
                rows_so_far=0,
            )
        )


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


def jobs_using_datastore(sender, datastore, **kwargs) -> list[str]:
    """The receiver of workspace.models.datastore_in_use: jobs that read or write the datastore keep it."""
    n = BatchJob.objects.filter(Q(input_datastore=datastore.name) | Q(output_datastore=datastore.name)).count()
    return [f"{n} job(s) read or write it"] if n else []
