"""`make run`'s seed (manage.py seed_demo): the demo model goes into the embedded registry only; a team's own tracking
server gets no model and no experiment unless asked (--into-tracking-server, STUDIO_SEED_EXTERNAL=1)."""

import pytest
from mlflow.tracking import MlflowClient

from tests.fixtures.api import run
from workspace import demo, registry

pytestmark = pytest.mark.django_db


def _on_server(url):
    c = MlflowClient(tracking_uri=url, registry_uri=url)
    return (
        [m.name for m in c.search_registered_models(filter_string=f"name='{demo.DEMO_MODEL}'")],
        c.get_experiment_by_name(registry.UPLOAD_EXPERIMENT) is not None,
    )


def test_the_embedded_registry_gets_the_demo(demo_model):
    out = run("seed_demo")
    assert f"Demo model {demo.DEMO_MODEL} already registered." in out and "Skipped" not in out


@pytest.mark.integration
def test_an_external_tracking_server_gets_nothing_unless_asked(settings, mlflow_tracking_server):
    settings.MLFLOW_TRACKING_URI = mlflow_tracking_server
    out = run("seed_demo")
    assert f"Skipped the demo model {demo.DEMO_MODEL} and its experiment {registry.UPLOAD_EXPERIMENT}" in out
    assert f"the tracking server at {mlflow_tracking_server}" in out
    assert "manage.py seed_demo --into-tracking-server (or STUDIO_SEED_EXTERNAL=1 make run)" in out
    assert _on_server(mlflow_tracking_server) == ([], False)
    assert demo.data_ready()  # the demo data still goes to the default datastore

    settings.STUDIO_SEED_EXTERNAL = True
    assert f"Registered demo model {demo.DEMO_MODEL}:1." in run("seed_demo")
    assert _on_server(mlflow_tracking_server) == ([demo.DEMO_MODEL], True)
    settings.STUDIO_SEED_EXTERNAL = False
    assert "already registered" in run("seed_demo", "--into-tracking-server")
