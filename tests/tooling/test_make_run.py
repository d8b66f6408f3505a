"""`make run` as the README gives it, on a fresh data directory: it migrates, creates the admin with a password
printed once, seeds the demo model and data, and serves gunicorn + qcluster together. The README's first walk,
over HTTP as a browser would post it, scores the demo files; Ctrl-C stops the web server and the workers.

Embedded mode only (SQLite + ORM broker), whatever the test session runs on: that is what a newcomer gets."""

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, wait_for
from tests.fixtures.ui import DEPLOYMENT_DEFAULTS

# Not the session's services or make's own state: a newcomer's shell. MLflow's set_tracking_uri and
# set_registry_uri export MLFLOW_* into this process's environment: the session's registry would be inherited.
DROPPED = (
    "DATABASE_URL",
    "REDIS_URL",
    "Q_PREFIX",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "DJANGO_SUPERUSER_USERNAME",
    "DJANGO_SUPERUSER_PASSWORD",
    "STUDIO_ADMIN_PASSWORD",
)


def _newcomers_environment() -> dict:
    return {k: v for k, v in os.environ.items() if k not in DROPPED and not k.startswith("MLFLOW_")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """A signed-in session that posts forms with Django's CSRF token, as the Studio's pages do."""

    def __init__(self, base: str):
        self.base, self.http = base, requests.Session()

    def get(self, path: str) -> requests.Response:
        response = self.http.get(self.base + path, timeout=60)
        response.raise_for_status()
        return response

    def post(self, path: str, data: dict) -> requests.Response:
        data = {**data, "csrfmiddlewaretoken": self.http.cookies["csrftoken"]}
        response = self.http.post(self.base + path, data=data, headers={"Referer": self.base + path}, timeout=120)
        response.raise_for_status()
        return response


def _processes_of(home: Path) -> list[int]:
    """Processes started with this data directory (the web server, the qcluster and its workers)."""
    marker = f"STUDIO_HOME={home}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            pass
    return found


@pytest.fixture
def studio(tmp_path):
    """`make run` in its own process group, on a free port and an empty STUDIO_HOME; stopped with Ctrl-C."""
    home, port = tmp_path / "home", _free_port()
    env = _newcomers_environment()
    env.update(STUDIO_HOME=str(home), PORT=str(port))
    log = tmp_path / "make-run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    text = lambda: log.read_text(errors="replace")  # noqa: E731
    try:
        wait_for(
            lambda: "Batch Studio is running at" in text() or proc.poll() is not None,
            timeout=600,
            message="make run to start",
        )
        assert proc.poll() is None, text()
        wait_for(
            lambda: _answers(f"http://127.0.0.1:{port}/accounts/login/"), timeout=120, message="gunicorn to answer"
        )
        yield proc, f"http://127.0.0.1:{port}", home, text
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole foreground group
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_make_run_serves_the_demo_and_the_readmes_first_walk_scores_it(studio):
    proc, base, home, text = studio
    output = text()
    password = re.search(r"Created admin user 'admin' with password: (\S+)", output)
    assert password, output
    assert "Registered demo model iris-classifier:1" in output and "demo/iris" in output
    # the static files are collected into STUDIO_HOME/staticfiles: WhiteNoise warned "No directory at" without them
    assert (home / "staticfiles" / "studio" / "studio.css").is_file()

    browser = Browser(base)
    browser.get("/accounts/login/")
    home_page = browser.post("/accounts/login/", {"username": "admin", "password": password.group(1)})
    assert home_page.url == base + "/" and "Sign out" in home_page.text
    assert "iris-classifier" in browser.get("/models/").text

    # Models → iris-classifier → Deploy to batch endpoint → Create, then + Create job on demo/iris
    browser.get("/endpoints/create/")
    for step, data in (
        ("endpoint", {"endpoint_mode": "new", "endpoint_name": "iris-demo"}),
        ("model", {"model": "iris-classifier:1"}),
        ("deployment", DEPLOYMENT_DEFAULTS),
        ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
    ):
        browser.post(f"/endpoints/create/{step}/", data)
    assert browser.post("/endpoints/create/review/", {}).url == base + "/endpoints/iris-demo/"
    job_page = browser.post(
        "/endpoints/iris-demo/jobs/create/",
        {
            "deployment": "blue",
            "input_type": "datastore",
            "input_datastore": "workspaceblobstore",
            "input_path": "demo/iris",
        },
    )
    job_path = job_page.url.removeprefix(base)
    assert re.fullmatch(r"/jobs/[\w-]+/", job_path), job_page.url

    # the workers make run started score it; the Runs tab and the job page say so
    wait_for(
        lambda: "Download predictions.csv" in browser.get(job_path).text, timeout=300, message="the job to complete"
    )
    assert "Completed" in browser.get("/endpoints/iris-demo/runs/").text
    csv = browser.get(f"{job_path}download/predictions.csv").text.splitlines()
    assert csv[0] == "row,prediction,file_name" and len(csv) == 1 + 150

    # Ctrl-C stops the web server and every worker
    assert len(_processes_of(home)) >= 3  # make's shell and run_studio, gunicorn, the qcluster and its workers
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    wait_for(lambda: not _processes_of(home), timeout=30, message="every process of make run to stop")
    assert not _answers(base + "/accounts/login/")
    assert "Stopping the web server and the workers" in text()
    assert "No directory at" not in text()
