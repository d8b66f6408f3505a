"""Schedules: a recurring job on a datastore path that scores only the files that are new since they were last
scored. django-q2's Schedule fires the run (see schedules.runs); these models keep our own records."""

import posixpath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse

from endpoints.models import ENDPOINT_NAME_VALIDATOR, validate_endpoint_length
from jobs import queue
from jobs.inputs import datastore_uri

RUN_TASK = "jobs.schedules.runs.run_schedule"

# (label, cron) — what "Recurrence" offers before a custom cron expression. Times are UTC.
PRESETS = [
    ("Every 15 minutes", "*/15 * * * *"),
    ("Every hour", "0 * * * *"),
    ("Every day at 02:00", "0 2 * * *"),
    ("Every Monday at 06:00", "0 6 * * 1"),
    ("First day of the month at 00:00", "0 0 1 * *"),
]


# Each field of a cron expression, in order: its name and what it takes.
CRON_FIELDS = [
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 or SUN-SAT, 0 and 7 are Sunday"),
]


def validate_cron(value: str):
    """Five fields: minute hour day-of-month month day-of-week (UTC); a refusal names the wrong field, and an
    expression that matches no date (30 February) is refused too."""
    from croniter import CroniterBadDateError, croniter

    fields = value.split()
    if len(fields) != 5:
        raise ValidationError(
            "A cron expression has 5 fields: minute hour day-of-month month day-of-week (e.g. '0 2 * * *' "
            "for every day at 02:00); '%(value)s' has %(count)s.",
            code="cron_fields",
            params={"value": value, "count": len(fields)},
        )
    if not croniter.is_valid(value):
        wrong = [
            (i, field)
            for i, field in enumerate(fields)
            if not croniter.is_valid(" ".join(field if j == i else "*" for j in range(5)))
        ]
        where = (
            "; ".join(
                f"the {CRON_FIELDS[i][0]} field '{field}' is wrong (it takes {CRON_FIELDS[i][1]})" for i, field in wrong
            )
            or "its fields do not go together"
        )
        raise ValidationError(
            "'%(value)s' is not a valid cron expression: %(where)s. Each field takes a number in its range, '*', "
            "a list (1,15), a range (1-5) or a step (*/10).",
            code="cron_invalid",
            params={"value": value, "where": where},
        )
    try:
        croniter(value).get_next()
    except CroniterBadDateError:
        raise ValidationError(
            "'%(value)s' never runs: no date matches its day-of-month and month (e.g. 30 February).",
            code="cron_never",
            params={"value": value},
        ) from None


def describe_cron(cron: str) -> str:
    return next((label for label, value in PRESETS if value == cron), cron)


class Schedule(models.Model):
    name = models.CharField(max_length=32, unique=True, validators=[validate_endpoint_length, ENDPOINT_NAME_VALIDATOR])
    description = models.TextField(blank=True)
    endpoint = models.ForeignKey("endpoints.BatchEndpoint", on_delete=models.CASCADE, related_name="schedules")
    # Empty: the endpoint's default deployment at the time of each run (Azure's routing rule).
    deployment_name = models.CharField(max_length=32, blank=True)
    input_datastore = models.CharField(max_length=255)
    input_path = models.CharField(max_length=1000)
    # Empty: each run's job writes to jobs/<job name> in the default datastore.
    output_datastore = models.CharField(max_length=255, blank=True)
    output_path = models.CharField(max_length=1000, blank=True)
    cron = models.CharField(max_length=100, validators=[validate_cron])
    enabled = models.BooleanField(default=True)
    # django-q2's schedule that fires the runs; there is none while the schedule is disabled.
    q_schedule = models.OneToOneField(
        "django_q.Schedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_run = models.DateTimeField(null=True, blank=True)
    # Set while a run lists and hashes the input, so that two runs never submit the same new files twice.
    running_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("schedules:detail", args=[self.name])

    @property
    def input_uri(self) -> str:
        return datastore_uri(self.input_datastore, self.input_path)

    @property
    def deployment_label(self) -> str:
        return self.deployment_name or "Default deployment"

    @property
    def recurrence(self) -> str:
        return describe_cron(self.cron)

    @property
    def next_run(self):
        return self.q_schedule.next_run if self.enabled and self.q_schedule else None

    @property
    def last(self):
        return self.runs.select_related("job").first()

    def cluster(self) -> str:
        """The compute cluster whose workers fire the runs: the deployment's, else the default one."""
        deployment = (
            self.endpoint.deployments.filter(name=self.deployment_name).first()
            if self.deployment_name
            else self.endpoint.default_deployment
        )
        return deployment.compute if deployment else settings.DEFAULT_COMPUTE

    def sync(self):
        """Make django-q2's schedule match this one: present with our cron while enabled, gone while disabled."""
        from django_q.models import Schedule as QSchedule

        if not self.enabled:
            if self.q_schedule_id:
                QSchedule.objects.filter(pk=self.q_schedule_id).delete()
            return
        q = self.q_schedule or QSchedule(func=RUN_TASK, schedule_type=QSchedule.CRON, repeats=-1)
        q.name, q.args, q.cluster = f"Schedule {self.name}", repr((self.pk,)), self.cluster()
        if q.cron != self.cron:
            q.cron = self.cron
            q.next_run = q.calculate_next_run()
        q.save()
        if self.q_schedule_id != q.pk:
            self.q_schedule = q
            self.save(update_fields=["q_schedule"])

    def set_enabled(self, enabled: bool):
        self.enabled = enabled
        self.save(update_fields=["enabled"])
        self.sync()

    def request_run(self, trigger: str):
        """Run now: a run recorded as Queued at once, and its task sent to the workers."""
        run = ScheduleRun.objects.create(schedule=self, trigger=trigger)
        transaction.on_commit(lambda: queue.run_schedule_later(self, run.pk))
        return run


class ScheduleRun(models.Model):
    SCHEDULED, RUN_NOW, API = "Schedule", "Run now", "API"
    SUBMITTED, NO_NEW_FILES, NOT_STARTED = "Submitted", "No new files", "Not started"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=20, default=SCHEDULED)
    started = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(max_length=20, blank=True)
    message = models.TextField(blank=True)
    files_found = models.PositiveIntegerField(default=0)
    # The new files this run sent to its job: {path: sha256 of their content}.
    files = models.JSONField(default=dict, blank=True)
    # {path: the version (storage.Entry.version) each of those files had when it was hashed}.
    file_versions = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey("jobs.BatchJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    job_name = models.CharField(max_length=64, blank=True)
    # True once the job finished and its files were remembered (Completed) or left to the next run (otherwise).
    settled = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self):
        return f"{self.schedule.name} at {self.started:%Y-%m-%d %H:%M:%S}"

    @property
    def is_live(self) -> bool:
        return not self.outcome or (
            self.outcome == self.SUBMITTED and self.job is not None and not self.job.is_finished
        )

    @property
    def files_new(self) -> int:
        return len(self.files)

    @property
    def listed(self) -> bool:
        """Whether the run listed its input (a run Not started before listing has no counts to show)."""
        return self.outcome in (self.SUBMITTED, self.NO_NEW_FILES) or bool(self.files_found)

    SHOWN_NAMES = 20

    @property
    def new_file_names(self) -> tuple[list[str], int]:
        """The first names of the files this run submitted, and how many more there are (the history lists them)."""
        names = sorted(posixpath.basename(path) for path in self.files)
        return names[: self.SHOWN_NAMES], max(len(names) - self.SHOWN_NAMES, 0)

    @property
    def status(self) -> str:
        """What a user sees: the job's status once one was submitted, else why there is none."""
        if self.outcome == self.SUBMITTED:
            return self.job.status if self.job else "Job deleted"
        return self.outcome or "Queued"


class ScoredFile(models.Model):
    """A file of a schedule's input as it was when a Completed job scored it: the same path with the same
    content hash is not scored again; a changed content hash makes it new."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="scored_files")
    path = models.CharField(max_length=1000)
    sha256 = models.CharField(max_length=64)
    # The file's version when it was hashed: while the listing shows the same one, it is not read to hash it again.
    version = models.CharField(max_length=200, blank=True)
    run = models.ForeignKey(ScheduleRun, null=True, on_delete=models.SET_NULL, related_name="+")
    scored = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["schedule", "path"], name="unique_scored_file_per_schedule")]


@receiver(post_delete, sender=Schedule)
def _drop_q_schedule(sender, instance, **kwargs):
    """Deleting a schedule (or its endpoint) deletes django-q2's schedule that fires it."""
    if instance.q_schedule_id:
        from django_q.models import Schedule as QSchedule

        QSchedule.objects.filter(pk=instance.q_schedule_id).delete()
