import os
import sys
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from jobs import health, tasks
from workspace.compute import pool
from workspace.compute.supervisor import Supervisor


class Command(BaseCommand):
    help = (
        "Run this machine's workers for a compute cluster (Q_CLUSTER_NAME, or -n): django-q2's qcluster under a "
        "supervisor that restarts it when any of its processes dies or it stops taking work."
    )

    def add_arguments(self, parser):
        parser.add_argument("-n", "--name", help="The compute cluster served (default: Q_CLUSTER_NAME).")
        parser.add_argument(
            "--pool-only",
            action="store_true",
            help="Run the pool in this process, unsupervised (the supervisor's child).",
        )

    def handle(self, *args, name=None, pool_only=False, **options):
        if pool_only:
            pool.run()
            return
        cluster = name or settings.Q_CLUSTER_NAME
        env = {**os.environ, "Q_CLUSTER_NAME": name} if name else None
        quiet = timedelta(seconds=settings.COMPUTE_STALL_SECONDS)
        Supervisor(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "workers", "--pool-only"],
            env=env,
            stalled=lambda since: health.stalled(health.served_by(cluster), since=since, quiet=quiet),
            reclaim=tasks.reclaim_stale,
            restarted=lambda: tasks.resend_queued(health.served_by(cluster)),
            lost=tasks.reclaim_dead,
            reclaim_every=settings.COMPUTE_RECLAIM_SECONDS,
        ).run()
