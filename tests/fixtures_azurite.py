"""A real Azurite blob server for the tests: started once per session on a free port, in memory, stopped after.

Import the fixtures into a test module: `from tests.fixtures_azurite import azurite, azurite_server  # noqa: F401`.
"""

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass
class Azurite:
    port: int
    account = ACCOUNT
    key = KEY

    @property
    def account_url(self):
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self):
        return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={self.account_url};"

    def service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(self.account_url, credential={"account_name": ACCOUNT, "account_key": KEY})

    def container(self, name, public=False, files=None):
        """Create a container (public: anonymous read and list) holding files {path: bytes}."""
        container = self.service().create_container(name, public_access="container" if public else None)
        for path, data in (files or {}).items():
            container.upload_blob(path, data, overwrite=True)
        return container


def container_sas(container: str) -> str:
    """A SAS token for one container of the Azurite account: read, list and write, for two hours."""
    from datetime import datetime, timedelta

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        expiry=datetime.now(UTC) + timedelta(hours=2),
        permission=ContainerSasPermissions(read=True, add=True, create=True, write=True, delete=True, list=True),
    )


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/{ACCOUNT}?comp=list", timeout=1)
    except urllib.error.HTTPError:
        return True  # any HTTP answer (403 without credentials) means it is up
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def azurite_server():
    if not AZURITE.exists():
        pytest.fail(f"{AZURITE} is missing: run `npm install` in {ROOT}.")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="azurite-")
    log = open(Path(workdir) / "azurite.log", "wb")
    proc = subprocess.Popen(
        [
            str(AZURITE),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not _answers(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Azurite did not start: {(Path(workdir) / 'azurite.log').read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    yield Azurite(port)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


@pytest.fixture
def azurite(azurite_server, settings, monkeypatch):
    """The session's Azurite, with private (loopback) URLs allowed here and in qcluster processes started now."""
    settings.ALLOW_PRIVATE_URLS = True
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "1")
    return azurite_server
