from django.db import models


class Worker(models.Model):
    """One django-q2 worker process, as it last reported itself."""

    cluster = models.CharField(max_length=64, db_index=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    parent_pid = models.PositiveIntegerField(null=True, blank=True)
    started = models.DateTimeField()
    last_heartbeat = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["cluster", "host", "pid"]
        constraints = [models.UniqueConstraint(fields=["host", "pid"], name="unique_worker_process")]

    def __str__(self):
        return f"{self.cluster} {self.worker_id}"

    @property
    def worker_id(self):
        """The same "host:pid" the scoring tasks write into MiniBatch.worker."""
        return f"{self.host}:{self.pid}"
