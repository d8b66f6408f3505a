"""Azure's paging ($top, nextLink with $skiptoken) on the lists that page, and jobs in Azure's resource shape beside
today's flat fields (Completed with errors: Azure's Completed, with completedWithErrors); checked against openapi.yaml."""

from urllib.parse import parse_qs, urlsplit

import pytest

from jobs.models import BatchJob, Status
from tests.fixtures.api import check_response
from workspace.models import Dataset, Datastore

pytestmark = pytest.mark.django_db


def _jobs(endpoint, n, **fields):
    return [
        BatchJob.objects.create(
            endpoint=endpoint,
            endpoint_name=endpoint.name,
            deployment_name="blue",
            output_datastore="workspaceblobstore",
            output_path=f"jobs/{i}",
            **fields,
        )
        for i in range(n)
    ]


def _follow(api, url) -> tuple[list[str], int]:
    names, pages = [], 0
    while url:
        data = check_response(api.get(url)).json()
        names += [item["name"] for item in data["value"]]
        pages, url = pages + 1, data.get("nextLink")
    return names, pages


def test_following_next_link_to_the_end_gives_every_job_once(api, endpoint):
    made = _jobs(endpoint, 7)
    first = check_response(api.get(f"/api/v1/endpoints/{endpoint.name}/jobs?$top=3")).json()
    assert len(first["value"]) == 3
    link = urlsplit(first["nextLink"])
    assert link.scheme == "http" and link.netloc == "testserver"  # absolute, as Azure's
    assert parse_qs(link.query) == {"$top": ["3"], "$skiptoken": ["3"]}

    names, pages = _follow(api, f"/api/v1/endpoints/{endpoint.name}/jobs?$top=3")
    assert pages == 3 and sorted(names) == sorted(j.name for j in made) and len(set(names)) == 7
    assert names == [j.name for j in sorted(made, key=lambda j: (j.created, j.pk), reverse=True)]  # newest first


def test_a_list_that_fits_has_no_next_link_and_the_old_parameters_still_page(api, endpoint):
    _jobs(endpoint, 3)
    whole = check_response(api.get(f"/api/v1/endpoints/{endpoint.name}/jobs")).json()
    assert len(whole["value"]) == 3 and "nextLink" not in whole
    old = check_response(api.get(f"/api/v1/endpoints/{endpoint.name}/jobs?top=2&skip=2")).json()
    assert len(old["value"]) == 1 and "nextLink" not in old


@pytest.mark.parametrize("query", ["$top=many", "$skiptoken=abc", "top=x"])
def test_paging_parameters_must_be_integers(api, endpoint, query):
    response = check_response(api.get(f"/api/v1/endpoints/{endpoint.name}/jobs?{query}"))
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_paging")


def test_data_assets_page_the_same_way(api):
    store = Datastore.get_default()
    for i in range(5):
        Dataset.objects.create(name=f"set-{i}", version=1, datastore=store, path=f"data/{i}")
    names, pages = _follow(api, "/api/v1/datasets?$top=2")
    assert pages == 3 and sorted(names) == [f"set-{i}" for i in range(5)]


def test_a_job_answers_in_azures_shape_beside_its_flat_fields(api, endpoint):
    (job,) = _jobs(endpoint, 1, status=Status.RUNNING)
    data = check_response(api.get(f"/api/v1/jobs/{job.name}")).json()
    assert data["id"].endswith(f"/providers/Microsoft.MachineLearningServices/workspaces/batch-studio/jobs/{job.name}")
    assert data["type"] == "Microsoft.MachineLearningServices/workspaces/jobs"
    props = data["properties"]
    assert (props["status"], props["completedWithErrors"], props["displayName"], props["experimentName"]) == (
        "Running",
        False,
        job.name,
        "iris-endpoint",
    )
    assert props["creationTimeUtc"] == data["timings"]["created"] and props["endTimeUtc"] is None
    assert data["status"] == "Running" and data["name"] == job.name  # the flat fields clients rely on


def test_completed_with_errors_is_completed_for_azure_clients(api, endpoint):
    (job,) = _jobs(endpoint, 1, status=Status.COMPLETED_WITH_ERRORS)
    listed = check_response(api.get(f"/api/v1/endpoints/{endpoint.name}/jobs")).json()["value"][0]
    shown = check_response(api.get(f"/api/v1/jobs/{job.name}")).json()
    for data in (listed, shown):
        assert data["properties"]["status"] == "Completed" and data["properties"]["completedWithErrors"] is True
        assert data["status"] == "CompletedWithErrors"
