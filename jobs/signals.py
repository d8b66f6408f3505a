from django_q.models import Schedule

RECLAIM = "jobs.tasks.reclaim_stale"


def ensure_reclaim(cluster: str):
    """Every minute, on this cluster's workers, mini-batches whose worker vanished are given back to the queue.
    One schedule per cluster, so a site whose jobs all run on another cluster than the default still recovers."""
    Schedule.objects.get_or_create(
        func=RECLAIM,
        cluster=cluster,
        defaults={
            "name": f"Reclaim stale mini-batches ({cluster})",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


def ensure_schedules(**kwargs):
    from django.conf import settings

    ensure_reclaim(settings.DEFAULT_COMPUTE)
