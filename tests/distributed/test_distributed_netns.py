"""Many machines and no shared disk, with real separation (docs/DEPLOY.md, "Two worker machines, no shared disk").

The test process is the web machine on the host, beside PostgreSQL, Redis, an `mlflow server` (the registry, its
artifacts served by the server itself) and Azurite (the datastore holding inputs and outputs). Each worker machine is
a qcluster in a network namespace of its own (`ip netns`, a veth pair on a host bridge), with its own host name and
its own empty STUDIO_HOME. Inside a namespace 127.0.0.1 is the namespace's own loopback: the host is reachable only
over TCP at the bridge's address, where small forwarders stand in for the services' network listeners (they listen
on 127.0.0.1 only on this machine). So a worker that assumed a shared folder, or a service on its own loopback,
fails here.
"""

import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings as django_settings

from endpoints.models import BatchDeployment, BatchEndpoint
from jobs.models import MiniBatch, Status
from jobs.submit import submit_job
from tests.conftest import DISTRIBUTED, ROOT, QCluster, wait_for
from tests.fixtures.azurite import ACCOUNT, KEY
from tests.fixtures.tracking import running_mlflow_server
from workspace import blob, demo, registry
from workspace.compute.live import live_workers
from workspace.models import Datastore

pytestmark = pytest.mark.integration

BRIDGE, HOST_IP, PREFIX = "br-studio", "10.201.0.1", 24
MACHINES = {"machine-a": "10.201.0.2", "machine-b": "10.201.0.3"}


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _netns_problem():
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("unshare"):
        return "needs root, iproute2 and unshare"
    probe = f"studio-probe-{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    _ip("netns", "del", probe, check=False)
    return None if made.returncode == 0 else f"ip netns add failed: {made.stderr.strip()}"


class Forwarder:
    """A TCP port on the bridge address that relays to a service listening on the host's 127.0.0.1."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.server = socket.create_server((HOST_IP, 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


@pytest.fixture
def network():
    """A host bridge and one namespace per worker machine on it; removed afterwards."""
    if not DISTRIBUTED or django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("the multi-machine mode (PostgreSQL + Redis) is what machines without a shared disk run")
    problem = _netns_problem()
    if problem:
        pytest.skip(problem)
    tag = f"{os.getpid() % 10000}"
    names = {machine: f"studio-{machine[-1]}-{tag}" for machine in MACHINES}
    _ip("link", "del", BRIDGE, check=False)
    _ip("link", "add", BRIDGE, "type", "bridge")
    _ip("addr", "add", f"{HOST_IP}/{PREFIX}", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")
    for machine, address in MACHINES.items():
        ns, host_end, ns_end = names[machine], f"vh{machine[-1]}{tag}", f"vn{machine[-1]}{tag}"
        _ip("netns", "add", ns)
        _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        _ip("link", "set", host_end, "master", BRIDGE)
        _ip("link", "set", host_end, "up")
        _ip("link", "set", ns_end, "netns", ns)
        _ip("-n", ns, "addr", "add", f"{address}/{PREFIX}", "dev", ns_end)
        _ip("-n", ns, "link", "set", ns_end, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
    yield names
    for machine in MACHINES:
        _ip("netns", "del", names[machine], check=False)
        _ip("link", "del", f"vh{machine[-1]}{tag}", check=False)
    _ip("link", "del", BRIDGE, check=False)


@pytest.fixture
def mlflow_server(network, tmp_path):
    """`mlflow server` on the bridge address, its artifacts served by the server (no folder any worker can read)."""
    folder = tmp_path / "mlflow-server"
    folder.mkdir()
    with socket.socket() as s:
        s.bind((HOST_IP, 0))
        port = s.getsockname()[1]
    with running_mlflow_server(folder, HOST_IP, port) as url:
        yield url


def _machine_env(forwarders, tracking_uri, home):
    """What a worker machine knows: the services' addresses on the host, over TCP, and its own data directory."""
    from django.db import connection

    db = connection.settings_dict
    redis_db = django_settings.Q_CLUSTER["redis"].rsplit("/", 1)[-1]
    return {
        "STUDIO_HOME": str(home),
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{HOST_IP}:{forwarders['db'].port}/{db['NAME']}",
        "REDIS_URL": f"redis://{HOST_IP}:{forwarders['redis'].port}/{redis_db}",
        "MLFLOW_TRACKING_URI": tracking_uri,
        "ALLOW_PRIVATE_URLS": "1",
    }


class Machine(QCluster):
    """A qcluster in its own network namespace, with its own host name (so its workers say which machine they are)."""

    def __init__(self, ns, hostname, env):
        self.log = tempfile.NamedTemporaryFile(prefix=f"{hostname}-", suffix=".log", delete=False)
        from tests.conftest import _qcluster_env

        full = {**_qcluster_env(), **env}
        full.pop("AZURE_STORAGE_CONNECTION_STRING", None)
        command = f"hostname {hostname} && exec {sys.executable} {ROOT / 'manage.py'} qcluster"
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "unshare", "--uts", "sh", "-c", command],
            cwd=ROOT,
            env=full,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peers = []


def test_two_worker_machines_in_their_own_network_namespaces_share_a_job_with_no_shared_disk(
    network, mlflow_server, azurite, transactional_db, settings, tmp_path
):
    forwarders = {
        "db": Forwarder(int(settings.DATABASES["default"]["PORT"] or 5432)),
        "redis": Forwarder(int(settings.Q_CLUSTER["redis"].rsplit(":", 1)[1].split("/")[0])),
        "blob": Forwarder(azurite.port),
    }
    settings.ALLOW_PRIVATE_URLS = True
    settings.MLFLOW_TRACKING_URI = mlflow_server
    try:
        # The web machine registers the model in the tracking server; its artifacts go to the server, over HTTP.
        demo.train_iris(tmp_path / "model")
        version = registry.register_folder("netns-iris", tmp_path / "model")
        assert (
            registry.client()
            .get_model_version("netns-iris", version.version)
            .source.startswith(("models:/", "mlflow-artifacts:"))
        )

        # Inputs and outputs on a Blob datastore, addressed as every machine reaches it: the bridge address.
        account_url = f"http://{HOST_IP}:{forwarders['blob'].port}/{ACCOUNT}"
        lake = f"lake{uuid.uuid4().hex[:8]}"
        azurite.container(lake)
        demo.write_demo_files(blob.BlobStore(account_url, lake, "account_key", KEY), folder="iris")
        store = Datastore(name="lake", kind=Datastore.AZURE_BLOB, account_url=account_url, container=lake)
        store.credential_type = "account_key"
        store.set_secret(KEY)
        store.save()

        ep = BatchEndpoint.objects.create(name="netns-endpoint")
        ep.set_default(
            BatchDeployment.objects.create(
                endpoint=ep,
                name="blue",
                model_name="netns-iris",
                model_version=version.version,
                mini_batch_size=1,
                instance_count=4,
            )
        )

        homes = {machine: tmp_path / machine for machine in MACHINES}
        machines = []
        for machine, home in homes.items():
            home.mkdir()
            machines.append(Machine(network[machine], machine, _machine_env(forwarders, mlflow_server, home)))
        try:
            wait_for(
                lambda: {w.host for w in live_workers(django_settings.DEFAULT_COMPUTE)} >= set(MACHINES),
                timeout=120,
                message=lambda: (
                    "both machines' workers to report; they said:\n" + "\n".join(m.output()[-2500:] for m in machines)
                ),
            )
            job = submit_job(ep, input_uri=store.uri("iris"), output_datastore="lake", output_path="scored/netns")

            def finished():
                job.refresh_from_db()
                return job.is_finished

            wait_for(
                finished,
                timeout=300,
                message=lambda: (
                    "the job to finish; the machines said:\n" + "\n".join(m.output()[-2500:] for m in machines)
                ),
            )
        finally:
            for m in machines:
                m.stop()
        logs = "\n".join(m.output()[-2500:] for m in machines)
        assert job.status == Status.COMPLETED, f"{job.status} {job.error}\n{logs}"

        out = pd.read_csv(io.BytesIO(store.client().read_bytes("scored/netns/predictions.csv")))
        assert len(out) == 150 and not out.duplicated(["file_name", "row"]).any()
        # Row by row, what the model called directly predicts.
        import mlflow

        model = mlflow.pyfunc.load_model(str(tmp_path / "model"))
        for name, rows in out.groupby("file_name"):
            data = pd.read_csv(io.BytesIO(store.client().read_bytes(f"iris/{name}")))
            expected = list(model.predict(data))
            assert list(rows.sort_values("row")["prediction"]) == expected, name

        # Both machines scored, each from its own download of the model, into its own data directory only.
        hosts = {mb.worker.split(":")[0] for mb in MiniBatch.objects.filter(job=job)}
        assert hosts == set(MACHINES), hosts
        for home in homes.values():
            assert (home / "model-cache" / "netns-iris" / version.version / "model" / "MLmodel").is_file()
        assert not (Path(settings.STUDIO_HOME) / "model-cache" / "netns-iris").exists()
    finally:
        for f in forwarders.values():
            f.close()
