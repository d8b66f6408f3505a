"""One parser for every way a deployment names a model (workspace.registry.parse_model_uri), resolved against a real
MLflow registry (the session's embedded one) with a coded error for each thing that is not there."""

import tempfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from workspace import demo, registry
from workspace.registry import ModelReference


@pytest.mark.parametrize(
    "text,expected",
    [
        ("models:/iris/1", ModelReference("iris", "1")),
        ("models:/iris/latest", ModelReference("iris", "latest")),
        ("models:/iris@champion", ModelReference("iris", alias="champion")),
        ("models:/iris@latest", ModelReference("iris", "latest")),
        ("azureml:iris:2", ModelReference("iris", "2")),
        ("azureml:iris@champion", ModelReference("iris", alias="champion")),
        ("azureml:iris@latest", ModelReference("iris", "latest")),
        ("iris:2", ModelReference("iris", "2")),
        ("iris@challenger-2", ModelReference("iris", alias="challenger-2")),
        ("  models:/my.model_v-2/10  ", ModelReference("my.model_v-2", "10")),
    ],
)
def test_each_form_names_the_model_and_its_version_or_alias(text, expected):
    assert registry.parse_model_uri(text) == expected


@pytest.mark.parametrize(
    "text,why",
    [
        ("models:/iris", "no version or alias after the name"),
        ("iris", "no version or alias after the name"),
        ("models:/iris/one", "'one' is not a version number"),
        ("models:/iris/1/MLmodel", "'1/MLmodel' is not a version number"),
        ("azureml:iris:", "no version"),
        ("azureml::1", "no model name"),
        ("models:/@champion", "no model name"),
        ("azureml:iris@bad alias", "'bad alias' is not an alias"),
        ("azureml:iris@v2", "reserved by MLflow"),
        ("azureml://registries/azureml/models/iris/versions/1", "registry and workspace asset ids"),
        ("", "no version or alias"),
    ],
)
def test_a_bad_reference_is_refused_saying_why_and_the_forms(text, why):
    with pytest.raises(ValidationError) as err:
        registry.parse_model_uri(text)
    assert err.value.code == "invalid_model_uri"
    assert why in err.value.messages[0]
    assert "models:/<name>@<alias>" in err.value.messages[0]


def test_labels_and_uris_say_what_was_named():
    assert ModelReference("iris", "2").label == "iris:2" and ModelReference("iris", "2").uri == "models:/iris/2"
    pinned = ModelReference("iris", alias="champion")
    assert pinned.label == "iris@champion" and pinned.uri == "models:/iris@champion"


@pytest.fixture(scope="module")
def two_versions(studio_home):
    """'refs-iris' with versions 1 and 2 in the session's registry, @champion on 1."""
    with tempfile.TemporaryDirectory() as tmp:
        demo.train_iris(Path(tmp) / "one")
        demo.train_iris(Path(tmp) / "two", kind="forest")
        registry.register_folder("refs-iris", Path(tmp) / "one", tags={"team": "fraud"})
        registry.register_folder("refs-iris", Path(tmp) / "two")
    registry.set_alias("refs-iris", "champion", "1")
    return "refs-iris"


@pytest.mark.parametrize(
    "text,version,alias",
    [
        ("models:/refs-iris/1", "1", ""),
        ("azureml:refs-iris:2", "2", ""),
        ("models:/refs-iris@champion", "1", "champion"),
        ("azureml:refs-iris@champion", "1", "champion"),
        ("azureml:refs-iris@latest", "2", ""),
        ("models:/refs-iris/latest", "2", ""),
    ],
)
def test_a_reference_resolves_to_the_version_it_names_now(two_versions, text, version, alias):
    assert registry.resolve_version(text) == ModelReference("refs-iris", version, alias)


@pytest.mark.parametrize(
    "text,code,message",
    [
        ("models:/nope/1", "unknown_model", "There is no model 'nope' in the registry."),
        (
            "models:/refs-iris@gold",
            "unknown_alias",
            "Model 'refs-iris' has no alias 'gold'. Its aliases: champion.",
        ),
        ("azureml:refs-iris:7", "unknown_version", "Model 'refs-iris' has no version 7. Its versions: 1, 2."),
    ],
)
def test_what_is_not_in_the_registry_is_refused_with_its_code(two_versions, text, code, message):
    with pytest.raises(ValidationError) as err:
        registry.resolve_version(text)
    assert (err.value.code, err.value.messages) == (code, [message])


def test_an_alias_is_set_moved_and_removed(two_versions):
    registry.set_alias(two_versions, "staging", "1")
    assert registry.model_aliases(two_versions) == {"champion": "1", "staging": "1"}
    registry.set_alias(two_versions, "staging", "2")
    assert registry.resolve_version("models:/refs-iris@staging").version == "2"
    assert registry.find("models:/refs-iris/2").aliases == ["staging"]
    registry.delete_alias(two_versions, "staging")
    assert registry.model_aliases(two_versions) == {"champion": "1"}
    with pytest.raises(ValidationError) as err:
        registry.delete_alias(two_versions, "staging")
    assert err.value.code == "unknown_alias"


@pytest.mark.parametrize(
    "alias,version,code",
    [
        ("latest", "1", "reserved_alias"),
        ("v3", "1", "reserved_alias"),
        ("a b", "1", "invalid_alias"),
        ("ok", "9", "unknown_version"),
    ],
)
def test_a_bad_alias_or_version_is_refused(two_versions, alias, version, code):
    with pytest.raises(ValidationError) as err:
        registry.set_alias(two_versions, alias, version)
    assert err.value.code == code


def test_a_version_shows_its_tags_run_and_no_link_without_a_tracking_ui(two_versions):
    found = registry.find("models:/refs-iris@champion")
    assert (found.version, found.alias, found.aliases) == ("1", "champion", ["champion"])
    assert found.tags == {"team": "fraud"}  # the Studio's own model_type tag is not shown as the user's
    assert found.run_id and registry.run_url(found.run_id) == ""  # an embedded SQLite store has no UI
