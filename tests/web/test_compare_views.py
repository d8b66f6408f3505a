"""jobs/web/compare.py: Compare deployments from the endpoint page, and the report page (progress while the
jobs run, the report once computed, Update default deployment)."""

import pytest
from django.utils import timezone

from jobs.models import BatchJob, Comparison, Status

pytestmark = pytest.mark.django_db
INPUT = {"input_type": "datastore", "input_datastore": "workspaceblobstore", "input_path": "demo/iris"}


def test_the_endpoint_page_links_to_compare_deployments(signed_in, endpoint):
    page = signed_in.get(f"/endpoints/{endpoint.name}/").content.decode()
    assert f'href="/endpoints/{endpoint.name}/compare/"' in page and "Compare deployments" in page


def test_compare_needs_another_deployment(signed_in, endpoint):
    page = signed_in.get(f"/endpoints/{endpoint.name}/compare/").content.decode()
    assert "needs a deployment other than the default" in page


def test_the_form_offers_the_input_choices_and_the_other_deployments(signed_in, endpoint, second_deployment):
    page = signed_in.get(f"/endpoints/{endpoint.name}/compare/").content.decode()
    for text in (
        "Candidate deployment",
        '<option value="green"',
        "Input data type",
        "Registered dataset",
        "Input path",
        "Public URL",
        "compared with those of the default deployment, blue",
    ):
        assert text in page, text
    assert '<option value="blue"' not in page


def test_compare_submits_two_jobs_and_shows_their_progress(signed_in, endpoint, demo_data, second_deployment):
    response = signed_in.post(f"/endpoints/{endpoint.name}/compare/", {"candidate": "green", **INPUT})
    found = Comparison.objects.get()
    assert response.status_code == 302 and response.url == f"/endpoints/{endpoint.name}/comparisons/{found.pk}/"
    assert sorted(BatchJob.objects.values_list("deployment_name", flat=True)) == ["blue", "green"]
    page = signed_in.get(response.url).content.decode()
    for text in (
        "Baseline (default)",
        "Candidate",
        found.baseline.name,
        found.candidate.name,
        "Waiting",
        "computed once both jobs complete",
        'hx-trigger="every 2s"',
    ):
        assert text in page, text


def test_compare_refuses_a_missing_input_with_a_reason(signed_in, endpoint, second_deployment):
    page = signed_in.post(f"/endpoints/{endpoint.name}/compare/", {"candidate": "green", **INPUT, "input_path": ""})
    assert "Choose the input data for the job." in page.content.decode()
    page = signed_in.post(f"/endpoints/{endpoint.name}/compare/", {"candidate": "green", **INPUT, "input_path": "nope"})
    assert "&#x27;nope&#x27; does not exist" in page.content.decode()
    assert not Comparison.objects.exists() and not BatchJob.objects.exists()


def _done(endpoint, deployment, name):
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
        finished=timezone.now(),
        settings={"output_file_name": "predictions.csv"},
    )


REPORT = {
    "kind": "classifier",
    "compared": 150,
    "agreed": 144,
    "agreement": 0.96,
    "only_baseline": 0,
    "only_candidate": 0,
    "matrix": {"labels": ["0", "1", "2"], "counts": [[50, 0, 0], [0, 45, 3], [0, 3, 49]]},
    "differences": None,
    "top": [{"file": "iris-3.csv", "row": "7", "baseline": "1", "candidate": "2", "difference": 1.0}],
}


def _completed(endpoint, candidate, report):
    return Comparison.objects.create(
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        input_uri="x",
        baseline=_done(endpoint, endpoint.default_deployment, "base"),
        candidate=_done(endpoint, candidate, "cand"),
        state=Comparison.COMPLETED,
        report=report,
        finished=timezone.now(),
    )


def test_the_compare_page_lists_recent_comparisons(signed_in, endpoint, second_deployment):
    found = _completed(endpoint, second_deployment, REPORT)
    page = signed_in.get(f"/endpoints/{endpoint.name}/compare/").content.decode()
    assert "Recent comparisons" in page and f'href="{found.get_absolute_url()}"' in page and "<td>96%</td>" in page


def test_report_of_a_classifier(signed_in, endpoint, second_deployment):
    found = _completed(endpoint, second_deployment, REPORT)
    response = signed_in.get(found.get_absolute_url(), headers={"HX-Request": "true", "HX-Target": "comparison"})
    assert response.status_code == 286  # finished: the polling stops
    page = response.content.decode()
    for text in (
        "Agreement rate",
        "96.0% — 144 of 150 rows",
        "Confusion matrix",
        "Rows: blue (default) · columns: green",
        '<td class="differ">3</td>',
        '<td class="agree">45</td>',
        "Rows that differ most",
        "iris-3.csv",
        "Update default deployment",
    ):
        assert text in page, text
    assert "Distribution of differences" not in page


def test_rows_in_one_output_only_are_explained_by_rows_set_aside_too(signed_in, endpoint, second_deployment):
    """A row one deployment set aside (a NaN the other's model takes) was said to come from 'files that failed'."""
    page = signed_in.get(_completed(endpoint, second_deployment, {**REPORT, "only_candidate": 1}).get_absolute_url())
    assert (
        "0 only in blue's output, 1 only in green's (rows set aside in errors.csv, or files that failed, in one job "
        "only)"
    ) in page.content.decode()


def test_report_of_a_regressor_draws_the_histogram(signed_in, endpoint, second_deployment):
    report = {
        **REPORT,
        "kind": "regressor",
        "matrix": None,
        "agreed": 0,
        "agreement": 0.0,
        "differences": {
            "mean": 0.1,
            "std": 0.2,
            "mean_abs": 0.15,
            "min": -0.5,
            "max": 0.7,
            "histogram": {"edges": [-0.5, 0.1, 0.7], "counts": [40, 110]},
        },
    }
    page = signed_in.get(_completed(endpoint, second_deployment, report).get_absolute_url()).content.decode()
    for text in (
        "Regressor",
        "Mean absolute difference",
        "0.1500",
        '<title id="hist-title">Distribution of differences</title>',
        "2 bars from -0.5000 to 0.7000: 40, 110",
        '<th scope="col">Difference</th>',
        ">110 rows</text>",
        'class="axis">-0.5000</text>',
        'text-anchor="end">0.7000</text>',
        '<text x="200.0" y="176" class="axis" text-anchor="middle">0</text>',
    ):
        assert text in page, text
    assert "Confusion matrix" not in page


def test_update_default_deployment_from_the_report(signed_in, endpoint, second_deployment):
    found = _completed(endpoint, second_deployment, REPORT)
    response = signed_in.post(f"/endpoints/{endpoint.name}/default/", {"deployment": "green"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.default_deployment == second_deployment
    page = signed_in.get(found.get_absolute_url()).content.decode()
    assert "green is the default deployment now." in page and "Update default deployment</button>" not in page


def test_a_comparison_of_another_endpoint_is_not_found(signed_in, endpoint, second_deployment):
    found = _completed(endpoint, second_deployment, REPORT)
    assert signed_in.get(f"/endpoints/other/comparisons/{found.pk}/").status_code == 404
