"""Every free-text field a user can fill, rendered on every page that shows it, stays inert."""

import pytest

from endpoints.models import BatchDeployment, BatchEndpoint
from jobs.models import BatchJob, Status
from workspace import registry
from workspace.models import Datastore

PAYLOAD = '"><script>alert("xss")</script><img src=x onerror=alert(1)>'
DANGEROUS = [b"<script>alert", b"<img src=x"]


@pytest.fixture
def poisoned(db, demo_model, user):
    """Endpoint, deployment, datastore, job and model with the payload in every description and free-text field."""
    ep = BatchEndpoint.objects.create(name="xss-endpoint", description=PAYLOAD)
    dep = BatchDeployment.objects.create(
        endpoint=ep, name="blue", description=PAYLOAD, model_name=demo_model.name, model_version=demo_model.version
    )
    ep.set_default(dep)
    Datastore.objects.create(name="xss-store", description=PAYLOAD)
    BatchJob.objects.create(
        name="batchjob-xss",
        endpoint=ep,
        deployment=dep,
        endpoint_name=ep.name,
        deployment_name=dep.name,
        model_uri=f"models:/{demo_model.name}/{demo_model.version}",
        input_uri=PAYLOAD,
        output_datastore="workspaceblobstore",
        output_path=f"jobs/{PAYLOAD}",
        status=Status.FAILED,
        error=PAYLOAD,
        settings={"output_file_name": PAYLOAD},
        overrides={"output_file_name": PAYLOAD},
    )
    c = registry.client()
    previous = (
        c.get_registered_model(demo_model.name).description,
        c.get_model_version(demo_model.name, demo_model.version).description,
    )
    c.update_registered_model(demo_model.name, description=PAYLOAD)
    c.update_model_version(demo_model.name, demo_model.version, description=PAYLOAD)
    yield demo_model
    c.update_registered_model(demo_model.name, description=previous[0] or "")
    c.update_model_version(demo_model.name, demo_model.version, description=previous[1] or "")


PAGES = [
    "/",
    "/models/",
    "/models/{model}/{version}/",
    "/endpoints/",
    "/endpoints/xss-endpoint/",
    "/endpoints/xss-endpoint/runs/",
    "/endpoints/xss-endpoint/jobs/create/",
    "/jobs/",
    "/jobs/batchjob-xss/",
    "/data/",
    "/compute/",
]


@pytest.mark.parametrize("page", PAGES)
def test_the_payload_is_escaped(signed_in, poisoned, page):
    url = page.format(model=poisoned.name, version=poisoned.version)
    response = signed_in.get(url)
    assert response.status_code == 200, url
    for needle in DANGEROUS:
        assert needle not in response.content, (url, needle)


def test_the_payload_is_shown_escaped_somewhere(signed_in, poisoned):
    # Escaped, not dropped: the user still sees what they typed.
    content = signed_in.get("/endpoints/xss-endpoint/").content
    assert b"&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in content


def test_htmx_fragments_escape_too(signed_in, poisoned):
    for url in ("/endpoints/xss-endpoint/runs/", "/jobs/", "/jobs/batchjob-xss/"):
        response = signed_in.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 286), url
        for needle in DANGEROUS:
            assert needle not in response.content, (url, needle)
