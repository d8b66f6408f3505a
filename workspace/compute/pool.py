"""django-q2's worker pool, with a task queue that an idle worker's death cannot wedge.

Upstream, the Sentinel's task queue is a multiprocessing.Queue: every worker calls `get()`, which takes the queue's
reader lock and then blocks reading the pipe *while holding it*. One idle worker therefore always holds the lock;
SIGKILLed there (the OOM killer, a deploy), it never releases it, and every other worker, the one the Sentinel
reincarnates included, waits on that lock forever: the pool takes nothing more, its heartbeats stay fresh.

`HealingQueue.get()` waits for a message without the lock (a `poll()` on the pipe, which any number of readers may
do), then takes the lock only to read a message that is already there: microseconds instead of the whole idle time.
A worker killed while idle holds nothing, and django-q2's own Sentinel reincarnates it as usual. The result queue
(read by the monitor) gets the same. What remains (a kill inside those microseconds, a pusher killed while its
feeder thread writes) is left to the supervisor (workspace.compute.supervisor), which restarts a pool that has
stopped taking work.
"""

from multiprocessing.reduction import ForkingPickler

from django.conf import settings
from django_q import cluster as q_cluster
from django_q.queues import Queue

RETRY_LOCK_SECONDS = 1.0


class HealingQueue(Queue):
    """django-q2's Queue whose blocking get() holds the reader lock only while a message is read."""

    def get(self, block=True, timeout=None):
        if not block or timeout is not None:
            return super().get(block, timeout)
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        while True:
            self._reader.poll(None)  # a message is there (or the writer went away): no lock held while waiting
            # Another reader may take that message first; a lock left by a dead reader is retried, not waited on.
            if not self._rlock.acquire(timeout=RETRY_LOCK_SECONDS):
                continue
            try:
                if not self._reader.poll(0):
                    continue
                res = self._recv_bytes()
            finally:
                self._rlock.release()
            self._sem.release()
            break
        self.size.increment(-1)
        return ForkingPickler.loads(res)  # unpickled after the lock is released, as upstream


def run():
    """Run django-q2's cluster in this process as `manage.py qcluster` does (the cluster named by Q_CLUSTER_NAME),
    with HealingQueue queues (COMPUTE_HEALING_QUEUE=0: django-q2's own, the supervisor alone then heals a wedge)."""
    if settings.COMPUTE_HEALING_QUEUE:
        q_cluster.Queue = HealingQueue  # the Sentinel builds its task and result queues from this name
    q_cluster.Cluster().start()
