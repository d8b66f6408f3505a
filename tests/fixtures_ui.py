"""Fixtures and helpers of the UI tests (the lead owns conftest.py)."""

from pathlib import Path

import pytest

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

DEPLOYMENT_DEFAULTS = {
    "name": "blue", "description": "", "output_action": "append_row", "output_file_name": "predictions.csv",
    "mini_batch_size": 10, "max_concurrency_per_instance": 1, "max_retries": 3, "timeout": 30,
    "error_threshold": -1, "logging_level": "info", "environment_variables": "",
}


def wizard_post(client, step, data, **extra):
    return client.post(f"/endpoints/create/{step}/", {**data, **extra})


def run_wizard(client, start_url, steps):
    """Start a wizard at start_url, post each (step, data) in turn, then Create on the Review step."""
    response = client.get(start_url)
    for step, data in steps:
        response = wizard_post(client, step, data)
        assert response.status_code == 302, response.content.decode()[:3000]
    return client.post("/endpoints/create/review/")


def screenshot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def second_deployment(endpoint, demo_model):
    from endpoints.models import BatchDeployment

    return BatchDeployment.objects.create(endpoint=endpoint, name="green", model_name=demo_model.name,
                                          model_version=demo_model.version)
