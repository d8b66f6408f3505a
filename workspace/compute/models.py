from django.conf import settings
from django.db import models


class Worker(models.Model):
    """One django-q2 worker process, as it last reported itself."""

    cluster = models.CharField(max_length=64, db_index=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    parent_pid = models.PositiveIntegerField(null=True, blank=True)
    started = models.DateTimeField()
    last_heartbeat = models.DateTimeField(db_index=True)
    # The deployments whose scoring hosts the process has loaded ("iris-endpoint/blue"), as of its last beat.
    loaded = models.JSONField(default=list, blank=True)
    loading = models.JSONField(default=list, blank=True)  # those it is starting now (a warm start, a job's first)

    class Meta:
        ordering = ["cluster", "host", "pid"]
        constraints = [models.UniqueConstraint(fields=["host", "pid"], name="unique_worker_process")]

    def __str__(self):
        return f"{self.cluster} {self.worker_id}"

    @property
    def worker_id(self):
        """The same "host:pid" the scoring tasks write into MiniBatch.worker."""
        return f"{self.host}:{self.pid}"


class ComputeCluster(models.Model):
    """A compute cluster registered by name (`compute create -n NAME`, or the Compute page), as Azure's AmlCompute.

    A deployment names its cluster (`compute: azureml:batch-cluster`); jobs for it run on the workers that serve
    that name. Registering one is optional: a name a deployment uses is a cluster too."""

    name = models.SlugField(max_length=64, unique=True)
    type = models.CharField(max_length=32, default="amlcompute")
    description = models.TextField(blank=True, default="")
    min_instances = models.PositiveIntegerField(default=0)
    max_instances = models.PositiveIntegerField(default=1)
    tags = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
