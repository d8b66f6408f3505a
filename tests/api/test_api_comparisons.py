"""Compare deployments through the REST API: POST /endpoints/{name}/comparisons, GET /comparisons/{id}; every
response checked against openapi.yaml."""

import pytest
from django.utils import timezone

from jobs.models import BatchJob, Comparison, Status
from tests.fixtures.api import check_response

pytestmark = pytest.mark.django_db


def _post(api, endpoint, body):
    return check_response(
        api.post(f"/api/v1/endpoints/{endpoint.name}/comparisons", body, content_type="application/json")
    )


def test_start_a_comparison_and_follow_it(api, endpoint, demo_data, second_deployment):
    response = _post(api, endpoint, {"deployment": "green", "input": demo_data})
    assert response.status_code == 201
    data = response.json()
    assert data["state"] == "Waiting" and data["report"] is None
    assert (data["baseline"]["deployment_name"], data["candidate"]["deployment_name"]) == ("blue", "green")
    assert BatchJob.objects.count() == 2
    followed = check_response(api.get(data["urls"]["status"].removeprefix("http://testserver")))
    assert followed.json()["id"] == data["id"]

    BatchJob.objects.filter(name=data["candidate"]["job"]).update(status=Status.CANCELED, finished=timezone.now())
    failed = check_response(api.get(f"/api/v1/comparisons/{data['id']}")).json()
    assert failed["state"] == "Failed" and "The job on green ended Canceled" in failed["error"]


@pytest.mark.parametrize(
    "body,code",
    [
        ({"input": "azureml://datastores/workspaceblobstore/paths/demo/iris"}, "candidate_required"),
        ({"deployment": "green"}, "input_required"),
        (
            {"deployment": "blue", "input": "azureml://datastores/workspaceblobstore/paths/demo/iris"},
            "candidate_is_default",
        ),
        (
            {"deployment": "nope", "input": "azureml://datastores/workspaceblobstore/paths/demo/iris"},
            "unknown_deployment",
        ),
    ],
)
def test_bad_requests_say_what_to_fix(api, endpoint, demo_data, second_deployment, body, code):
    response = _post(api, endpoint, body)
    assert response.status_code in (400, 404) and response.json()["error"]["code"] == code
    assert not Comparison.objects.exists()


def test_a_completed_report_matches_the_schema(api, endpoint, second_deployment):
    def job(name, deployment):
        return BatchJob.objects.create(
            name=name,
            endpoint=endpoint,
            deployment=deployment,
            endpoint_name=endpoint.name,
            deployment_name=deployment.name,
            input_uri="x",
            output_datastore="workspaceblobstore",
            output_path=f"jobs/{name}",
            status=Status.COMPLETED,
        )

    report = {
        "kind": "regressor",
        "compared": 2,
        "agreed": 1,
        "agreement": 0.5,
        "only_baseline": 0,
        "only_candidate": 0,
        "matrix": None,
        "differences": {
            "mean": 0.5,
            "std": 0.5,
            "mean_abs": 0.5,
            "min": 0.0,
            "max": 1.0,
            "histogram": {"edges": [0.0, 1.0], "counts": [2]},
        },
        "top": [{"file": "a.csv", "row": "1", "baseline": "1.0", "candidate": "2.0", "difference": 1.0}],
    }
    found = Comparison.objects.create(
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        input_uri="x",
        baseline=job("b", endpoint.default_deployment),
        candidate=job("c", second_deployment),
        state=Comparison.COMPLETED,
        report=report,
    )
    data = check_response(api.get(f"/api/v1/comparisons/{found.pk}")).json()
    assert data["report"] == report and data["urls"]["studio"].endswith(
        f"/endpoints/{endpoint.name}/comparisons/{found.pk}/"
    )


def test_unknown_comparison_is_404(api):
    assert check_response(api.get("/api/v1/comparisons/999")).status_code == 404
