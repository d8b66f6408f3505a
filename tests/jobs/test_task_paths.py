"""An installation upgraded in place keeps its queued tasks and schedules: django-q2 stores each task as a dotted
path string (OrmQ / Redis payloads, django_q.Schedule.func), so every path an earlier version stored still imports."""

import pytest
from django.utils.module_loading import import_string

from jobs import queue
from jobs.schedules.models import RUN_TASK

# Every task path Batch Studio has ever queued or scheduled (jobs/queue.py, the reclaim and schedule runs).
STORED_BY_EARLIER_VERSIONS = [
    "jobs.tasks.dispatch",
    "jobs.tasks.run_minibatch",
    "jobs.tasks.build_environment",
    "jobs.tasks.reclaim_stale",
    "jobs.schedules.runs.run_schedule",
    "jobs.comparison.compute",
    "jobs.preview.run",
]


@pytest.mark.parametrize("path", STORED_BY_EARLIER_VERSIONS)
def test_a_task_path_stored_by_an_earlier_version_still_imports(path):
    assert callable(import_string(path))


def test_the_paths_queued_today_are_among_them(monkeypatch):
    sent = []
    monkeypatch.setattr(queue, "async_task", lambda func, *a, **kw: sent.append(func))

    class Run:
        pk, name, compute, label = 1, "x", "cpu-cluster", "env:1"

        def cluster(self):
            return "cpu-cluster"

    run = Run()
    queue.dispatch_later(run)
    queue.run_later(run, 1, 0)
    queue.run_schedule_later(run, 1)
    queue.build_environment_later(run, "cpu-cluster")
    queue.compare_later(run, run)
    queue.preview_later(run)
    assert set(sent) | {queue.RECLAIM, RUN_TASK} <= set(STORED_BY_EARLIER_VERSIONS)
