from django_q.models import Schedule

RECLAIM = "jobs.tasks.reclaim_stale"


def ensure_schedules(**kwargs):
    """Every minute, mini-batches whose worker vanished are given back to the queue."""
    from django.conf import settings

    Schedule.objects.get_or_create(
        func=RECLAIM, defaults={"name": "Reclaim stale mini-batches", "schedule_type": Schedule.MINUTES,
                                "minutes": 1, "repeats": -1, "cluster": settings.DEFAULT_COMPUTE})
