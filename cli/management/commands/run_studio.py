import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

GRACE_SECONDS = 10


class Command(BaseCommand):
    help = (
        "Start the web server (gunicorn) and the workers (`manage.py workers`: qcluster under its supervisor) "
        "together; Ctrl-C stops both."
    )

    def handle(self, *args, **options):
        port, host = settings.WEB_PORT, settings.WEB_HOST
        manage = str(settings.BASE_DIR / "manage.py")

        def start_workers():
            # The workers lead their own process group, so that stopping them also stops every process they forked.
            return subprocess.Popen([sys.executable, manage, "workers"], start_new_session=True)

        procs = [
            start_workers(),
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "studio.wsgi",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    str(settings.WEB_WORKERS),
                    "--access-logfile",
                    "-",
                ],
                cwd=settings.BASE_DIR,
                start_new_session=True,
            ),
        ]
        stopping = []

        def request_stop(*_):
            stopping.append(True)

        # Explicit handlers: a shell that started us in the background may have left SIGINT ignored.
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        self.stdout.write(self.style.SUCCESS(f"Batch Studio is running at http://{host}:{port}/  (Ctrl-C stops it)"))
        while not stopping and procs[1].poll() is None:
            if procs[0].poll() is not None:
                # The supervisor itself died (it restarts the pool, not itself): what is left of its tree goes too.
                self.stderr.write(f"The workers exited with code {procs[0].returncode}: starting them again.")
                _signal_all(procs[:1], signal.SIGKILL)
                procs[0] = start_workers()
            time.sleep(0.5)
        self.stdout.write("Stopping the web server and the workers…")
        # SIGTERM to the workers' supervisor only: it stops its pool (a signal to the whole pool hangs django-q2).
        _signal(procs[0].pid, signal.SIGTERM, os.kill)
        _signal(procs[1].pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.2)
        _signal_all(procs, signal.SIGKILL)  # what did not stop in time; running mini-batches are reclaimed later


def _signal_all(procs, sig):
    for p in procs:
        _signal(p.pid, sig)


def _signal(pid, sig, kill=os.killpg):
    try:
        kill(pid, sig)
    except ProcessLookupError:
        pass
