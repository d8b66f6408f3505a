"""Secrets never show up in HTML: API tokens are stored as digests and shown once; the Django secret key never."""

import pytest
from django.conf import settings

from api.models import AccessToken

PAGES = ["/", "/models/", "/endpoints/", "/jobs/", "/data/", "/compute/"]


@pytest.mark.django_db
def test_an_api_token_is_stored_as_a_digest_and_never_rendered(signed_in, user):
    token, secret = AccessToken.issue(user, "ci")
    token.refresh_from_db()
    assert secret not in token.digest and len(token.digest) == 64
    for url in PAGES + ["/account/tokens/"]:
        response = signed_in.get(url)
        if response.status_code == 404:
            continue
        assert secret.encode() not in response.content, url
        assert settings.SECRET_KEY.encode() not in response.content, url


@pytest.mark.django_db
def test_the_secret_key_is_not_in_any_page(signed_in, endpoint):
    for url in PAGES + [f"/endpoints/{endpoint.name}/"]:
        assert settings.SECRET_KEY.encode() not in signed_in.get(url).content, url


# --- datastore credentials: account keys, SAS tokens, connection strings ---------------------------------------------

import logging  # noqa: E402
import uuid  # noqa: E402

from jobs.models import FINISHED, LOG_FILES, BatchJob, Status  # noqa: E402
from tests.conftest import QCluster, wait_for  # noqa: E402
from tests.fixtures.azurite import ACCOUNT, KEY  # noqa: E402
from tests.fixtures.azurite import container_sas as _sas  # noqa: E402
from workspace import blob, demo  # noqa: E402
from workspace.models import Datastore  # noqa: E402

# A key of the right shape that no account has: what a user who pasted the wrong one would send.
OTHER_KEY = "QW5vdGhlcktleVRoYXRJc05vdFRoZUFjY291bnRzS2V5QW5vdGhlcktleVRoYXRJc05vdA=="


def _connection_string(account_url, key=KEY):
    return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};BlobEndpoint={account_url};"


def _secrets_of(*values):
    """Each secret, and the parts that identify it on their own (a SAS token's signature, a key inside a string)."""
    found = set()
    for value in values:
        found.add(value)
        found.update(
            p.split("=", 1)[1] for p in value.replace(";", "&").split("&") if p.startswith(("sig=", "AccountKey="))
        )
    return {s for s in found if len(s) >= 16}


def _leaks(text, secrets):
    from urllib.parse import quote

    return sorted(s for s in secrets if s in text or quote(s, safe="") in text)


def _form(account_url, container, credential_type, secret, name="lake"):
    return {
        "name": name,
        "description": "",
        "kind": "azure_blob",
        "root": "",
        "container": container,
        "account_url": "" if credential_type == "connection_string" else account_url,
        "credential_type": credential_type,
        "secret": secret,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("credential_type", ["account_key", "sas", "connection_string"])
def test_a_failing_connection_test_never_echoes_the_secret(signed_in, azurite, caplog, credential_type):
    caplog.set_level(logging.DEBUG)  # the storage SDK's request logging included
    container = f"c{uuid.uuid4().hex[:12]}"
    azurite.container(container)
    unreachable = f"http://127.0.0.1:9/{ACCOUNT}"
    attempts = {  # (account URL, container, secret): unreachable host, missing container, wrong credential
        "account_key": [
            (unreachable, container, KEY),
            (azurite.account_url, "missing", KEY),
            (azurite.account_url, container, OTHER_KEY),
        ],
        "sas": [
            (unreachable, container, _sas(container)),
            (azurite.account_url, "missing", _sas("missing")),
            (azurite.account_url, container, _sas(container).replace("sig=", "sig=x")),
        ],
        "connection_string": [
            (None, container, _connection_string(unreachable)),
            (None, "missing", _connection_string(azurite.account_url)),
            (None, container, _connection_string(azurite.account_url, OTHER_KEY)),
        ],
    }[credential_type]
    for account_url, name, secret in attempts:
        response = signed_in.post("/data/datastores/register/", _form(account_url, name, credential_type, secret))
        page = response.content.decode()
        assert response.status_code == 200 and "Connection test failed" in page, page[-2000:]
        assert _leaks(page, _secrets_of(secret)) == [], (credential_type, account_url, name)
        assert _leaks(caplog.text, _secrets_of(secret)) == [], caplog.text[-3000:]
    assert not Datastore.objects.filter(name="lake").exists()


def _iris_container(azurite):
    name = f"c{uuid.uuid4().hex[:12]}"
    azurite.container(name)
    demo.write_demo_files(blob.BlobStore(azurite.account_url, name, "account_key", KEY), folder="iris")
    return name


def _everything_shown(client, api, jobs):
    """Every page, htmx fragment, API answer and job log a user can reach about these datastores and jobs."""
    urls = [
        "/",
        "/data/",
        "/jobs/",
        "/compute/",
        "/models/",
        "/endpoints/",
        "/account/tokens/",
        "/endpoints/iris-endpoint/",
        "/endpoints/iris-endpoint/runs/",
        "/endpoints/iris-endpoint/jobs/create/",
    ]
    for store in Datastore.objects.all():
        urls += [
            f"/data/datastores/{store.name}/",
            f"/data/datastores/{store.name}/edit/",
            f"/data/datastores/{store.name}/browse/?path=iris",
        ]
    for job in jobs:
        urls += [f"/jobs/{job.name}/", *[f"/jobs/{job.name}/logs/{f}" for f in LOG_FILES]]
    shown = {url: client.get(url) for url in urls}
    texts = {url: r.content.decode(errors="replace") for url, r in shown.items() if r.status_code != 404}
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api}"}
    for path in [
        "endpoints",
        "endpoints/iris-endpoint/jobs",
        "datasets",
        "models",
        *[f"jobs/{job.name}" for job in jobs],
        *[f"jobs/{job.name}/outputs/{f}" for job in jobs for f in LOG_FILES],
    ]:
        r = client.get(f"/api/v1/{path}", **headers)
        texts[f"/api/v1/{path}"] = (
            b"".join(r.streaming_content).decode(errors="replace")
            if r.streaming
            else r.content.decode(errors="replace")
        )
    return texts


@pytest.mark.integration
def test_datastore_secrets_appear_in_no_page_api_answer_log_or_error(
    transactional_db, signed_in, user, endpoint, azurite, caplog, monkeypatch
):
    from api.models import AccessToken

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")  # the worker machine logs everything too
    _, api_token = AccessToken.issue(user, "secrets-test")
    by_key, by_sas, by_string, gone = (_iris_container(azurite) for _ in range(4))
    sas, gone_sas = _sas(by_sas), _sas(gone)
    string = _connection_string(azurite.account_url)
    for name, container, credential_type, secret in [
        ("lakekey", by_key, "account_key", KEY),
        ("lakesas", by_sas, "sas", sas),
        ("lakestring", by_string, "connection_string", string),
        ("lakegone", gone, "sas", gone_sas),
    ]:
        r = signed_in.post(
            "/data/datastores/register/", _form(azurite.account_url, container, credential_type, secret, name)
        )
        assert r.status_code == 302, r.content.decode()[-2000:]
    from jobs.submit import submit_job

    jobs = [
        submit_job(endpoint, input_uri="azureml://datastores/lakekey/paths/iris", output_datastore="lakesas"),
        submit_job(endpoint, input_uri="azureml://datastores/lakestring/paths/iris", output_datastore="lakestring"),
        submit_job(endpoint, input_uri="azureml://datastores/lakegone/paths/iris", output_datastore="lakekey"),
        # a SAS token typed inside a public URL: the worker reads the private container with it
        submit_job(endpoint, input_uri=f"{azurite.account_url}/{by_sas}/iris/?{sas}", output_datastore="lakekey"),
    ]
    azurite.service().delete_container(gone)  # its job fails reading its input: the error names the container only
    worker = QCluster()
    try:
        for job in jobs:
            wait_for(
                lambda job=job: BatchJob.objects.get(pk=job.pk).status in FINISHED,
                timeout=300,
                message=lambda: worker.output()[-3000:],
            )
        machine_log = worker.output()
    finally:
        worker.stop()
    jobs = [BatchJob.objects.get(pk=job.pk) for job in jobs]
    assert [jobs[i].status for i in (0, 1, 3)] == [Status.COMPLETED] * 3, [j.error for j in jobs]
    failures = " ".join(f"{mb.error} {mb.file_errors}" for mb in jobs[2].mini_batches.all()) + jobs[2].error
    assert gone in failures, failures  # the failing job says which container is missing

    secrets = _secrets_of(KEY, sas, gone_sas, string, api_token)
    texts = _everything_shown(signed_in, api_token, jobs)
    texts["job errors"] = "\n".join(job.error for job in jobs)
    texts["mini-batch errors"] = "\n".join(
        str(mb.error) + str(mb.file_errors) for job in jobs for mb in job.mini_batches.all()
    )
    texts["worker machine's log"] = machine_log
    texts["this process's log"] = caplog.text
    leaks = {where: _leaks(text, secrets) for where, text in texts.items() if _leaks(text, secrets)}
    assert leaks == {}
    assert len(texts) > 40 and "lakesas" in texts["/data/"]  # the walk really saw the datastores


@pytest.mark.django_db
def test_a_sas_token_typed_in_a_public_input_url_is_shown_nowhere_and_encrypted_at_rest(
    signed_in, user, endpoint, azurite
):
    from api.models import AccessToken
    from tests.fixtures.api import invoke_body

    _, api_token = AccessToken.issue(user, "sas-url")
    container = _iris_container(azurite)  # private: only the SAS token reads it
    sas = _sas(container)
    response = signed_in.post(
        f"/api/v1/endpoints/{endpoint.name}/jobs",
        invoke_body(f"{azurite.account_url}/{container}/iris/?{sas}"),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_token}",
    )
    assert response.status_code == 201, response.content.decode()
    job = BatchJob.objects.get()
    secrets = _secrets_of(sas)
    texts = _everything_shown(signed_in, api_token, [job])
    texts["the API's answer to the submit"] = response.content.decode()
    texts["stored in the clear"] = " ".join([job.input_uri, *(f for mb in job.mini_batches.all() for f in mb.files)])
    assert {where: _leaks(text, secrets) for where, text in texts.items() if _leaks(text, secrets)} == {}
    assert "sig=REDACTED" in texts[f"/jobs/{job.name}/"] and "sig=REDACTED" in texts[f"/api/v1/jobs/{job.name}"]
    assert job.input_source().query == sas  # what the engine reads with
