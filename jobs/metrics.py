"""/metrics in Prometheus' text format, read from the database at each scrape (every web process and machine
answers the same): jobs by status, rows scored, mini-batch durations, queue depth and the oldest queued age per
compute cluster, live workers."""

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from jobs.models import BatchJob, MiniBatch, Status
from workspace.compute.live import live_workers

# Upper bounds (seconds) of the mini-batch duration histogram.
BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class StudioCollector:
    def collect(self):
        jobs = GaugeMetricFamily("batchstudio_jobs", "Batch scoring jobs by status.", labels=["status"])
        counts = dict(BatchJob.objects.order_by().values_list("status").annotate(n=Count("pk")))
        for status in Status.values:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs

        rows = CounterMetricFamily("batchstudio_rows_scored", "Rows written by the jobs' mini-batches.")
        rows.add_metric([], MiniBatch.objects.aggregate(n=Sum("rows_out"))["n"] or 0)
        yield rows

        yield _durations()

        now = timezone.now()
        depth = GaugeMetricFamily(
            "batchstudio_queue_depth",
            "Mini-batches waiting (pending or queued), by compute cluster.",
            labels=["compute"],
        )
        oldest = GaugeMetricFamily(
            "batchstudio_oldest_queued_seconds",
            "Age of the oldest waiting job (queued or running with mini-batches waiting), by compute cluster.",
            labels=["compute"],
        )
        waiting = (
            MiniBatch.objects.filter(status__in=[MiniBatch.PENDING, MiniBatch.QUEUED], job__status__in=ACTIVE)
            .order_by()
            .values("job__compute")
            .annotate(n=Count("pk"), since=Min("job__created"))
        )
        for row in waiting:
            depth.add_metric([row["job__compute"]], row["n"])
            oldest.add_metric([row["job__compute"]], (now - row["since"]).total_seconds())
        yield depth
        yield oldest

        workers = GaugeMetricFamily(
            "batchstudio_live_workers", "Live worker processes, by compute cluster.", labels=["compute"]
        )
        served = {}
        for worker in live_workers():
            served[worker.cluster] = served.get(worker.cluster, 0) + 1
        for cluster, n in sorted(served.items()):
            workers.add_metric([cluster], n)
        yield workers


ACTIVE = (Status.QUEUED, Status.RUNNING)


def _durations():
    """The finished mini-batches' scoring time (MiniBatch.seconds), as a cumulative histogram."""
    counts = {f"le{i}": Count("pk", filter=Q(seconds__lte=bound)) for i, bound in enumerate(BUCKETS)}
    total = MiniBatch.objects.filter(status=MiniBatch.COMPLETED).aggregate(n=Count("pk"), s=Sum("seconds"), **counts)
    buckets = [(str(bound), total[f"le{i}"]) for i, bound in enumerate(BUCKETS)] + [("+Inf", total["n"])]
    histogram = HistogramMetricFamily(
        "batchstudio_minibatch_duration_seconds", "Scoring time of completed mini-batches."
    )
    histogram.add_metric([], buckets, sum_value=total["s"] or 0)
    return histogram


def exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StudioCollector())
    return generate_latest(registry)
