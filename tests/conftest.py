"""Shared fixtures: an isolated data directory, the demo model in a real MLflow registry,
a real qcluster process, and headless Chromium.

The suite mirrors the code's layers: tests/<layer>/ (api, browser, cli, distributed, engine, jobs, reliability,
security, tooling, web, workspace, load). The fixture modules under tests/fixtures/ are registered here for every
folder, so no test imports a fixture by hand; a folder's markers are set by FOLDER_MARKERS below."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = "/usr/bin/chromium"
# Distributed mode (PostgreSQL + Redis): the qcluster fixture starts two processes, standing in for two machines.
DISTRIBUTED = bool(os.environ.get("REDIS_URL"))

pytest_plugins = [
    "tests.fixtures.api",
    "tests.fixtures.azurite",
    "tests.fixtures.compare",
    "tests.fixtures.engine",
    "tests.fixtures.resume",
    "tests.fixtures.s3",
    "tests.fixtures.tracking",
    "tests.fixtures.ui",
]

# Markers every test of a folder carries (a test may add more of its own, e.g. integration).
FOLDER_MARKERS = {
    "browser": ("browser",),
    "distributed": ("integration", "distributed"),
}


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).resolve().parent
    for item in items:
        relative = Path(item.fspath).resolve().relative_to(tests)
        for marker in FOLDER_MARKERS.get(relative.parts[0], ()) if len(relative.parts) > 1 else ():
            item.add_marker(marker)


@pytest.fixture(scope="session", autouse=True)
def studio_home():
    """Every test session gets its own data directory (datastores, MLflow registry)."""
    home = Path(tempfile.mkdtemp(prefix="studio-test-"))
    previous = settings.STUDIO_HOME
    settings.STUDIO_HOME = home
    os.environ["STUDIO_HOME"] = str(home)
    yield home
    settings.STUDIO_HOME = previous
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_model(studio_home):
    """The demo iris classifier, registered once per session in the session's MLflow registry."""
    from workspace import demo, registry

    with tempfile.TemporaryDirectory() as tmp:
        demo.train_iris(Path(tmp) / "model")
        return registry.register_folder(demo.DEMO_MODEL, Path(tmp) / "model")


@pytest.fixture
def make_user(django_user_model):
    """make_user(role, name): a user with that role (workspace/roles.py), or no role with role=""."""

    def make(role, username, password="s3cret-pass!"):
        from workspace import roles

        made = django_user_model.objects.create_user(username, password=password)
        if role:
            roles.assign(made, role)
        return made

    return make


@pytest.fixture
def user(make_user):
    """alice, an Owner: the tests that are not about roles act as one who may do everything (tests/test_roles.py and
    tests/test_permission_matrix.py are about the other roles)."""
    return make_user("Owner", "alice")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def demo_data(db):
    from workspace import demo
    from workspace.models import Datastore

    store = Datastore.get_default()
    store.client().delete(demo.DEMO_FOLDER)  # the files persist across tests: no stray file another test left
    demo.write_demo_files(store.client())
    return store.uri(demo.DEMO_FOLDER)


@pytest.fixture
def endpoint(db, demo_model):
    from endpoints.models import BatchDeployment, BatchEndpoint

    ep = BatchEndpoint.objects.create(name="iris-endpoint", description="Iris scoring")
    dep = BatchDeployment.objects.create(
        endpoint=ep, name="blue", model_name=demo_model.name, model_version=demo_model.version, mini_batch_size=2
    )
    ep.set_default(dep)
    return ep


def _qcluster_env(cluster=None):
    from django.db import connection

    env = dict(os.environ)
    env["STUDIO_HOME"] = str(settings.STUDIO_HOME)
    env["SECRET_KEY"] = settings.SECRET_KEY  # django-q2 signs tasks with it
    env.setdefault("Q_LOG_LEVEL", "INFO")
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER'] or ''}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    env["Q_WORKERS"] = env.get("Q_WORKERS", "2")
    if cluster:
        env["Q_CLUSTER_NAME"] = cluster
    return env


class QCluster:
    """A real worker machine serving the test database: `manage.py workers` (django-q2's qcluster under the
    supervisor, as `make run` and docs/DEPLOY.md start it), or with command="qcluster" django-q2's own alone."""

    def __init__(self, cluster=None, command="workers"):
        self.log = tempfile.NamedTemporaryFile(prefix="qcluster-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), command],
            cwd=ROOT,
            env=_qcluster_env(cluster),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peers = []  # the other "machines" of a distributed-mode cluster

    def stop(self):
        """SIGTERM to each qcluster's main process, as systemd's KillMode=mixed does (docs/DEPLOY.md): django-q2 then
        stops its workers itself in well under a second. A SIGTERM to the whole process group hangs it (django-q2
        #346) until the SIGKILL, which cost 8 s per cluster. Whatever is left after the grace is killed."""
        clusters = [*self.peers, self]
        for cluster in clusters:
            if cluster.proc.poll() is None:
                os.kill(cluster.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for cluster in clusters:
            try:
                cluster.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(cluster.proc.pid, signal.SIGKILL)  # a straggler, or a scoring host left in the group
            except ProcessLookupError:
                pass
            cluster.proc.wait()

    def output(self):
        return "".join(Path(c.log.name).read_text(errors="replace") for c in (self, *self.peers))


@pytest.fixture
def qcluster(transactional_db):
    cluster = QCluster()
    cluster.peers = [QCluster() for _ in range(1 if DISTRIBUTED else 0)]
    yield cluster
    cluster.stop()


def wait_for(predicate, timeout=90, interval=0.25, message="condition"):
    """Poll until predicate() is truthy; message may be a callable, evaluated only on failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message() if callable(message) else message}")


def age(path, seconds):
    """Set a file's modification time `seconds` ago."""
    then = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(then, then))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--headless=new",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20000)
    yield pg
    context.close()


def sign_in(page, live_server, username="alice", password="s3cret-pass!"):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Home").wait_for()
