"""A supervisor outside django-q2's pool: it runs the pool as a child process and starts it again when it dies or
stops taking work, and it gives stale work back to the queue itself, so recovery never depends on the pool.

What it watches, every second:
- the pool's main process exited (its Sentinel died, or someone killed it): whatever is left of its tree is
  killed (the supervisor is the child subreaper of the tree, so orphans come back to it) and a new pool starts;
- `stalled()` says work waits that the pool should have taken, while nothing runs (tasks waiting, workers idle,
  nothing moving): the pool is wedged, it is restarted the same way.
After a restart `restarted()` sends again the tasks the old pool had taken. Whenever processes of the tree are gone
(a worker killed, or the whole tree at a restart), `lost()` gives back at once the mini-batches they ran. And every
`reclaim_every` seconds it runs `reclaim()` in a thread (stale leases back to Pending, lost tasks sent again): what
the pool's own every-minute schedule does, without the pool.

Restarts back off (1 s doubling to 30 s) when a new pool fails on its own at once, say on a broken setting.
"""

import ctypes
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime

import psutil
from django.db import close_old_connections, connections
from django.utils import timezone

log = logging.getLogger(__name__)
PR_SET_CHILD_SUBREAPER = 36
STOP_GRACE_SECONDS = 10
MAX_BACKOFF_SECONDS = 30


def _running(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _become_subreaper():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: orphans go to init, and a restart kills the tree it still sees
        log.warning("cannot become the pool's child subreaper")


class Supervisor:
    def __init__(
        self,
        argv: list[str],
        *,
        stalled: Callable[[datetime], str] = lambda since: "",
        reclaim: Callable[[], None] = lambda: None,
        restarted: Callable[[], None] = lambda: None,
        lost: Callable[[list[str]], None] = lambda worker_ids: None,
        check_every: float = 1.0,
        reclaim_every: float = 15.0,
        env: dict | None = None,
    ):
        self.argv, self.env = argv, env
        self.stalled, self.reclaim, self.restarted, self.lost = stalled, reclaim, restarted, lost
        self._seen: set[int] = set()
        self.check_every, self.reclaim_every = check_every, reclaim_every
        self.proc: subprocess.Popen | None = None
        self.started: datetime | None = None
        self.restarts = 0
        self._stopping = False
        self._reclaiming: threading.Thread | None = None
        self._last_reclaim = 0.0
        self._backoff = 1.0

    # The pool's lifetime
    def start_pool(self):
        self.started = timezone.now()
        self._born = time.monotonic()
        self.proc = subprocess.Popen(self.argv, env=self.env)
        log.info("worker pool started (pid %s)", self.proc.pid)

    def tree(self) -> list[psutil.Process]:
        """Every process below the supervisor: the pool, its workers, their scoring hosts, orphans included."""
        try:
            return psutil.Process().children(recursive=True)
        except psutil.Error:
            return []

    def kill_pool(self, grace: float = 0.0):
        """SIGTERM to the pool's main process only (django-q2 stops its workers itself; a signal to all of them hangs
        it, django-q2 #346), SIGKILL to whatever of the tree is left after `grace`."""
        if grace and self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        for p in self.tree():
            try:
                p.kill()
            except psutil.Error:
                pass
        if self.proc:
            self.proc.wait()
        self._reap()
        self._report_gone()

    def restart(self, why: str, grace: float = STOP_GRACE_SECONDS):
        self.restarts += 1
        log.error("restarting the worker pool (%s)", why)
        # A pool that failed on its own soon after it started (a broken setting, the database away) is a crash loop:
        # back off. One killed by a signal (SIGKILL: the OOM killer, an operator) starts again at once.
        code = self.proc.poll()
        crashed = code is not None and code > 0 and time.monotonic() - self._born < MAX_BACKOFF_SECONDS
        self.kill_pool(grace=grace if code is None else 0)
        if crashed:
            self._sleep(self._backoff)
            self._backoff = min(MAX_BACKOFF_SECONDS, self._backoff * 2)
        else:
            self._backoff = 1.0
        if not self._stopping:
            self.start_pool()
            self._ask(self.restarted)

    # The loop
    def run(self):
        _become_subreaper()
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        self.start_pool()
        while not self._stopping:
            self._sleep(self.check_every)
            if self._stopping:
                break
            self.check()
        log.info("stopping the worker pool")
        self.kill_pool(grace=STOP_GRACE_SECONDS)

    def check(self):
        self._reap()
        self._report_gone()
        code = self.proc.poll()
        if code is not None:
            self.restart(f"its main process exited with code {code}")
            return
        why = self._ask(self.stalled, self.started)
        if why:
            self.restart(why, grace=0)  # nothing runs, and a wedged pool would not stop: its workers cannot read STOP
            return
        if time.monotonic() - self._last_reclaim >= self.reclaim_every and not (
            self._reclaiming and self._reclaiming.is_alive()
        ):
            self._last_reclaim = time.monotonic()
            self._reclaiming = threading.Thread(target=self._reclaim_once, daemon=True)
            self._reclaiming.start()

    def _ask(self, func, *args):
        """func(*args), or "" when it fails: the database or the broker may be away for a while."""
        close_old_connections()  # one broken by a database restart is replaced
        try:
            return func(*args)
        except Exception as exc:
            log.warning("supervisor: %s failed: %s", getattr(func, "__name__", func), exc)
            return ""

    def _reclaim_once(self):
        try:
            self._ask(self.reclaim)
        finally:
            connections.close_all()  # this thread's own

    def _report_gone(self):
        """Processes of the tree that are gone since the last look: `lost()` gives back the work they ran."""
        alive = {p.pid for p in self.tree() if _running(p)}
        gone, self._seen = self._seen - alive, alive
        if gone:
            host = socket.gethostname()
            self._ask(self.lost, [f"{host}:{pid}" for pid in sorted(gone)])

    def _reap(self):
        """Orphans of the pool that died come back to the subreaper: collect them (never the pool's main process,
        whose exit code Popen reads)."""
        for p in self.tree():
            try:
                if p.pid != self.proc.pid and p.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(p.pid, os.WNOHANG)
            except (psutil.Error, ChildProcessError):
                pass

    def _sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, seconds))

    def _request_stop(self, *_):
        self._stopping = True
