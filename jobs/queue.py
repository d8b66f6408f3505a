"""The one place that talks to django-q2: tasks go to the compute cluster the job runs on."""

from django_q.tasks import async_task


def _send(func: str, *args, cluster: str, name: str):
    async_task(func, *args, q_options={"cluster": cluster, "task_name": name})


def dispatch_later(job):
    _send("jobs.tasks.dispatch", job.pk, cluster=job.compute, name=f"dispatch {job.name}")


def run_later(job, mini_batch_id: int, index: int):
    _send("jobs.tasks.run_minibatch", mini_batch_id, cluster=job.compute, name=f"run {job.name}#{index}")
