import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server (gunicorn) and the worker cluster (qcluster) together; Ctrl-C stops both."

    def handle(self, *args, **options):
        port = os.environ.get("PORT", "8000")
        host = os.environ.get("HOST", "127.0.0.1")
        manage = str(settings.BASE_DIR / "manage.py")
        procs = [
            subprocess.Popen([sys.executable, manage, "qcluster"]),
            subprocess.Popen([sys.executable, "-m", "gunicorn", "studio.wsgi", "--bind", f"{host}:{port}",
                              "--workers", os.environ.get("WEB_WORKERS", "2"), "--access-logfile", "-"], cwd=settings.BASE_DIR),
        ]
        self.stdout.write(self.style.SUCCESS(f"Batch Studio is running at http://{host}:{port}/  (Ctrl-C stops it)"))

        def stop(*_):
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, stop)
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        stop()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
