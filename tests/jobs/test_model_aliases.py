"""A deployment pinned to an MLflow alias, against a real `mlflow server` process: each job scores with the version
the alias names when the job starts, and records it; moving the alias changes the next job, never an earlier one."""

import uuid

import mlflow
import mlflow.sklearn
import pytest
from django.core.exceptions import ValidationError
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from cli import azure_yaml, yaml_document
from endpoints.models import BatchEndpoint
from jobs.models import Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, output_frame
from workspace import registry

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _log_version(name: str, model) -> str:
    """mlflow.sklearn.log_model(..., registered_model_name=name) as a team's training script does; the version."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    model.fit(X, y)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=name,
            serialization_format="cloudpickle",
            signature=infer_signature(X, model.predict(X)),
            input_example=X.head(3),
        )
    return str(info.registered_model_version)


@pytest.fixture
def on_tracking_server(settings, mlflow_tracking_server):
    """The Studio and this process's MLflow on the tracking server (the settings fixture undoes the Studio's)."""
    settings.MLFLOW_TRACKING_URI = mlflow_tracking_server
    registry.configure()
    return mlflow_tracking_server


def test_the_next_job_follows_the_alias_and_the_old_one_keeps_its_version(
    on_tracking_server, demo_data, signed_in, make_user, client, api
):
    name = f"fraud-{uuid.uuid4().hex[:8]}"
    assert _log_version(name, LogisticRegression(max_iter=500)) == "1"
    assert _log_version(name, DummyClassifier(strategy="constant", constant=2)) == "2"

    # @champion set on the Models page by a Contributor; a Data scientist may not move it.
    contributor = make_user("Contributor", "carol")
    client.force_login(contributor)
    response = client.post(f"/models/{name}/1/aliases/", {"alias": "champion"})
    assert response.status_code == 302
    assert registry.model_aliases(name) == {"champion": "1"}
    client.force_login(make_user("Data scientist", "dave"))
    assert client.post(f"/models/{name}/2/aliases/", {"alias": "champion"}).status_code == 403
    assert registry.model_aliases(name) == {"champion": "1"}

    # The model page shows the alias, the run (linked to the server's UI), the tags, the input example.
    client.force_login(contributor)
    page = client.get(f"/models/{name}/1/").content.decode()
    run_id = registry.find(f"models:/{name}/1").run_id
    assert "@champion" in page and f'href="{on_tracking_server}/#/experiments/' in page and run_id in page
    assert "sepal length (cm)" in page and "Input example" in page and "5.1" in page

    endpoint = BatchEndpoint.objects.create(name="fraud-scoring")
    deployment = azure_yaml.save_deployment(
        yaml_document.loads(
            f"endpoint_name: fraud-scoring\nname: champ\nmodel: models:/{name}@champion\nsettings:\n"
            "  mini_batch_size: 5\n"
        ),
        create=True,
    )
    endpoint.refresh_from_db()  # the first deployment became its default
    assert (deployment.model_alias, deployment.model_version, deployment.model_display) == (
        "champion",
        "1",
        f"{name}@champion",
    )

    first = drive(submit_job(endpoint, input_uri=demo_data))
    assert first.status == Status.COMPLETED, first.error
    assert (first.model_uri, first.model_alias) == (f"models:/{name}/1", "champion")
    assert set(output_frame(first)["prediction"]) == {0, 1, 2}  # the logistic regression

    # The alias moves to version 2 (on the page, as the Contributor): the next job uses it.
    assert client.post(f"/models/{name}/2/aliases/", {"alias": "champion"}).status_code == 302
    detail = client.get(f"/endpoints/{endpoint.name}/").content.decode()
    assert "@champion" in detail and "2 <small" in detail  # the deployment page: the version it names now

    second = drive(submit_job(endpoint, input_uri=demo_data))
    assert second.status == Status.COMPLETED, second.error
    assert second.model_uri == f"models:/{name}/2"
    assert set(output_frame(second)["prediction"]) == {2}  # the constant model: version 2 scored it

    first.refresh_from_db()
    assert first.model_uri == f"models:/{name}/1" and first.model_display == f"{name}:1 (via @champion)"
    assert f"model {name}:1 (via @champion)" in client.get(f"/jobs/{first.name}/").content.decode()
    assert f"model {name}:2 (via @champion)" in client.get(f"/jobs/{second.name}/").content.decode()
    runs = client.get(f"/endpoints/{endpoint.name}/runs/").content.decode()  # which version each job started with
    assert f"{name}:1 (via @champion)" in runs and f"{name}:2 (via @champion)" in runs
    for job, version in ((first, "1"), (second, "2")):
        model = api.get(f"/api/v1/jobs/{job.name}").json()["model"]
        assert model == {"name": name, "version": version, "alias": "champion", "uri": f"models:/{name}/{version}"}


def test_a_removed_alias_refuses_the_next_job_saying_which(on_tracking_server, demo_data, signed_in):
    name = f"gone-{uuid.uuid4().hex[:8]}"
    _log_version(name, LogisticRegression(max_iter=500))
    registry.set_alias(name, "champion", "1")
    endpoint = BatchEndpoint.objects.create(name="gone-scoring")
    deployment = endpoint.deployments.model.objects.create(endpoint=endpoint, name="champ", model_name=name)
    deployment.set_model(f"azureml:{name}@champion")
    deployment.save()
    endpoint.set_default(deployment)
    assert signed_in.post(f"/models/{name}/1/aliases/", {"alias": "champion", "remove": "1"}).status_code == 302
    assert registry.model_aliases(name) == {}
    with pytest.raises(ValidationError) as err:
        submit_job(endpoint, input_uri=demo_data)
    assert err.value.code == "unknown_alias"
    assert err.value.messages == [
        f"Deployment 'champ' cannot run jobs: Model '{name}' has no alias 'champion'. It has no aliases."
    ]
    page = signed_in.get(f"/endpoints/{endpoint.name}/").content.decode()
    assert f"Model &#x27;{name}&#x27; has no alias &#x27;champion&#x27;" in page
