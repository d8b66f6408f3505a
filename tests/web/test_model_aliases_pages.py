"""The model page's aliases: shown, set and removed by a Contributor or an Owner (a Data scientist or a Reader is
refused), deployed from the wizard as name@alias; and the model page's tags, run and input example."""

import tempfile
from pathlib import Path

import mlflow.sklearn
import pytest
from django.test import Client
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from endpoints.models import BatchEndpoint
from tests.fixtures.ui import run_wizard
from workspace import demo, registry

pytestmark = pytest.mark.django_db
NAME = "paged-iris"


@pytest.fixture(scope="module")
def two_versions(studio_home):
    """paged-iris 1 and 2 in the session's registry, version 1 tagged; no alias."""
    with tempfile.TemporaryDirectory() as tmp:
        demo.train_iris(Path(tmp) / "one")
        registry.register_folder(NAME, Path(tmp) / "one", "Iris, for the alias pages.", tags={"owner": "risk-team"})
        registry.register_folder(NAME, Path(tmp) / "one")
    return NAME


@pytest.fixture
def no_aliases(two_versions):
    for alias in registry.model_aliases(NAME):
        registry.delete_alias(NAME, alias)
    return two_versions


def _as(client, make_user, role):
    client.force_login(make_user(role, role.lower().replace(" ", "-")))
    return client


@pytest.mark.parametrize("role", ["Owner", "Contributor"])
def test_it_sets_moves_and_removes_an_alias(client, make_user, no_aliases, role):
    _as(client, make_user, role)
    response = client.post(f"/models/{NAME}/1/aliases/", {"alias": "champion"})
    assert response.status_code == 302 and response["Location"] == f"/models/{NAME}/1/"
    assert registry.model_aliases(NAME) == {"champion": "1"}
    page = client.get(response["Location"]).content.decode()
    assert f"@champion now names {NAME}:1" in page and 'aria-label="Remove alias @champion"' in page

    client.post(f"/models/{NAME}/2/aliases/", {"alias": "champion"})
    assert registry.model_aliases(NAME) == {"champion": "2"}
    listing = client.get("/models/").content.decode()
    assert "@champion</a> → 2" in listing

    client.post(f"/models/{NAME}/2/aliases/", {"alias": "champion", "remove": "1"})
    assert registry.model_aliases(NAME) == {}
    assert f"{NAME} has no aliases." in client.get(f"/models/{NAME}/2/").content.decode()


@pytest.mark.parametrize("role", ["Data scientist", "Reader"])
def test_who_does_not_manage_deployments_may_not_move_an_alias(client, make_user, no_aliases, role):
    registry.set_alias(NAME, "champion", "1")
    _as(client, make_user, role)
    assert client.post(f"/models/{NAME}/2/aliases/", {"alias": "champion"}).status_code == 403
    assert client.post(f"/models/{NAME}/1/aliases/", {"alias": "champion", "remove": "1"}).status_code == 403
    assert registry.model_aliases(NAME) == {"champion": "1"}
    page = client.get(f"/models/{NAME}/1/").content.decode()
    assert "@champion" in page and "Set alias" not in page and "Remove alias" not in page


def test_a_post_without_the_csrf_token_is_refused(make_user, no_aliases):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("Owner", "olga"))
    assert browser.post(f"/models/{NAME}/1/aliases/", {"alias": "champion"}).status_code == 403
    assert registry.model_aliases(NAME) == {}


@pytest.mark.parametrize(
    "data,message",
    [
        ({"alias": "latest"}, "&#x27;latest&#x27; is reserved by MLflow"),
        ({"alias": "two words"}, "&#x27;two words&#x27; is not an alias"),
        ({"alias": "gold", "remove": "1"}, f"Model &#x27;{NAME}&#x27; has no alias &#x27;gold&#x27;"),
    ],
)
def test_a_bad_alias_is_refused_on_the_page(signed_in, no_aliases, data, message):
    response = signed_in.post(f"/models/{NAME}/1/aliases/", data, follow=True)
    assert message in response.content.decode()
    assert registry.model_aliases(NAME) == {}


def test_a_visit_to_the_button_address_changes_nothing(signed_in, no_aliases):
    response = signed_in.get(f"/models/{NAME}/1/aliases/", follow=True)
    assert "Nothing was done: press Set alias" in response.content.decode()


def test_the_page_shows_tags_description_and_the_run(signed_in, two_versions):
    page = signed_in.get(f"/models/{NAME}/1/").content.decode()
    run_id = registry.find(f"{NAME}:1").run_id
    assert "risk-team" in page and "Iris, for the alias pages." in page and run_id in page
    assert "model_type" not in page  # the Studio's own tag
    assert "This model was logged without an input example." in page


def test_the_wizard_deploys_an_alias_and_the_deployment_page_shows_its_version_now(signed_in, no_aliases):
    registry.set_alias(NAME, "champion", "2")
    start = signed_in.get(f"/models/{NAME}/2/").content.decode()
    assert f"?model={NAME}%40champion" in start  # Deploy @champion
    run_wizard(
        signed_in,
        f"/endpoints/create/?model={NAME}%40champion",
        [
            ("endpoint", {"endpoint_mode": "new", "endpoint_name": "alias-wizard", "description": ""}),
            ("model", {"model": f"{NAME}@champion"}),
            (
                "deployment",
                {
                    "name": "blue",
                    "output_action": "append_row",
                    "output_file_name": "predictions.csv",
                    "mini_batch_size": 2,
                    "max_concurrency_per_instance": 1,
                    "max_retries": 1,
                    "timeout": 60,
                    "error_threshold": -1,
                    "logging_level": "info",
                    "output_header": "on",
                },
            ),
            ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
        ],
    )
    deployment = BatchEndpoint.objects.get(name="alias-wizard").deployments.get()
    assert (deployment.model_name, deployment.model_version, deployment.model_alias) == (NAME, "2", "champion")
    registry.set_alias(NAME, "champion", "1")
    page = signed_in.get("/endpoints/alias-wizard/").content.decode()
    assert "@champion" in page and "1 <small" in page  # what the alias names now, not when it was deployed


@pytest.mark.parametrize("version", ["9", "abc"])
def test_a_version_that_is_not_there_is_not_found(signed_in, two_versions, version):
    assert signed_in.get(f"/models/{NAME}/{version}/").status_code == 404


def test_latest_is_the_newest_version_with_its_input_example(signed_in, two_versions, tmp_path):
    X, y = load_iris(return_X_y=True, as_frame=True)
    mlflow.sklearn.save_model(LogisticRegression(max_iter=300).fit(X, y), str(tmp_path / "m"), input_example=X.head(2))
    version = registry.register_folder(NAME, tmp_path / "m").version
    page = signed_in.get(f"/models/{NAME}/latest/").content.decode()
    assert f"version {version}" in page and "sepal length (cm)" in page and "5.1" in page
