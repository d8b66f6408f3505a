import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

GRACE_SECONDS = 10


class Command(BaseCommand):
    help = "Start the web server (gunicorn) and the worker cluster (qcluster) together; Ctrl-C stops both."

    def handle(self, *args, **options):
        port, host = settings.WEB_PORT, settings.WEB_HOST
        manage = str(settings.BASE_DIR / "manage.py")
        # Each child leads its own process group so that stopping it also stops the workers it forked.
        procs = [
            subprocess.Popen([sys.executable, manage, "qcluster"], start_new_session=True),
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
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.5)
        self.stdout.write("Stopping the web server and the workers…")
        _signal_all(procs, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.2)
        _signal_all(procs, signal.SIGKILL)  # what did not stop in time; running mini-batches are reclaimed later


def _signal_all(procs, sig):
    for p in procs:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
