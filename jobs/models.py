"""Batch jobs and their mini-batches: all job state lives here, never only in the queue."""

import uuid
from datetime import timedelta

from django.conf import settings as conf
from django.db import models
from django.db.models import F
from django.urls import reverse
from django.utils import timezone


class Status(models.TextChoices):
    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"


FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELED)


def new_job_name():
    return f"batchjob-{uuid.uuid4()}"


class BatchJob(models.Model):
    name = models.CharField(max_length=64, unique=True, default=new_job_name)
    endpoint = models.ForeignKey("endpoints.BatchEndpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    deployment = models.ForeignKey("endpoints.BatchDeployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    # Names kept so that a job stays readable after its endpoint or deployment is deleted.
    endpoint_name = models.CharField(max_length=32)
    deployment_name = models.CharField(max_length=32)
    model_uri = models.CharField(max_length=300)
    compute = models.CharField(max_length=64, default=conf.DEFAULT_COMPUTE)
    input_uri = models.CharField(max_length=2000)
    input_datastore = models.CharField(max_length=255, blank=True)
    settings = models.JSONField(default=dict)
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
    request_id = models.CharField(max_length=200, blank=True, db_index=True)
    created_by = models.ForeignKey(conf.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["endpoint", "-created"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("jobs:detail", args=[self.name])

    @property
    def is_finished(self):
        return self.status in FINISHED

    @property
    def output_file_path(self):
        name = self.settings.get("output_file_name")
        return f"{self.output_path.rstrip('/')}/{name}" if name else ""

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
            return 100 if self.status == Status.COMPLETED else 0
        return int(100 * (self.mini_batches_done + self.mini_batches_failed) / self.mini_batches_total)

    def mark_failed(self, reason: str):
        BatchJob.objects.filter(pk=self.pk).exclude(status__in=FINISHED).update(
            status=Status.FAILED, error=reason, finished=timezone.now())
        self.refresh_from_db()

    def request_cancel(self):
        """Stop dispatching; the job becomes Canceled once nothing of it runs any more."""
        return BatchJob.objects.filter(pk=self.pk).exclude(status__in=FINISHED).update(status=Status.CANCEL_REQUESTED)


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
    seconds = models.FloatField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="unique_minibatch_index")]

    def __str__(self):
        return f"{self.job.name}#{self.index}"

    @property
    def part_path(self):
        return f"{self.job.output_path.rstrip('/')}/.staging/part-{self.index:06d}.csv"

    @property
    def log_path(self):
        return f"{self.job.output_path.rstrip('/')}/logs/mini-batches/{self.index}.log"

    def claim(self, worker: str, lease_seconds: int) -> bool:
        """Take this mini-batch for one attempt; False if another worker has it or it is done."""
        now = timezone.now()
        return bool(MiniBatch.objects.filter(pk=self.pk, status__in=[self.QUEUED, self.PENDING]).update(
            status=self.RUNNING, attempts=F("attempts") + 1, worker=worker, started=now,
            lease_until=now + timedelta(seconds=lease_seconds)))
