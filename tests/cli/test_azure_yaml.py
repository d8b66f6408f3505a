"""Azure's YAML files create the same objects as the Studio's wizard; bad files are refused by key and line."""

import textwrap

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict

from api.serializers import deployment_json
from cli import azure_assets, azure_yaml, yaml_document
from endpoints.models import BatchDeployment, BatchEndpoint
from jobs.models import Environment
from tests.fixtures.api import DEPLOYMENT_YML, ENDPOINT_YML, SCORE_PY, write_custom_project
from tests.fixtures.ui import run_wizard
from workspace import demo, registry

SAME_AS_WIZARD_EXCLUDES = ("id", "endpoint", "created", "updated")


def _deployment_fields(deployment):
    return {k: v for k, v in model_to_dict(deployment).items() if k not in SAME_AS_WIZARD_EXCLUDES}


def _from_yaml(tmp_path, text, name="file.yml", **kwargs):
    path = tmp_path / name
    path.write_text(text)
    return yaml_document.load(path, **kwargs)


@pytest.mark.django_db
def test_endpoint_and_deployment_files_make_what_the_wizard_makes(signed_in, demo_model, tmp_path):
    run_wizard(
        signed_in,
        "/endpoints/create/",
        [
            ("endpoint", {"endpoint_name": "by-wizard", "description": "Iris scoring"}),
            ("model", {"model": demo_model.label}),
            (
                "deployment",
                {
                    "name": "blue",
                    "description": "",
                    "output_action": "append_row",
                    "output_file_name": "predictions.csv",
                    "mini_batch_size": 2,
                    "max_concurrency_per_instance": 1,
                    "max_retries": 1,
                    "timeout": 60,
                    "error_threshold": 5,
                    "logging_level": "debug",
                    "environment_variables": "A=1\nB=two",
                    "output_header": "on",  # the step's checkbox, checked by default
                },
            ),
            ("compute", {"compute": "cpu-cluster", "instance_count": 2}),
        ],
    )
    wizard = BatchEndpoint.objects.get(name="by-wizard")

    endpoint = azure_yaml.save_endpoint(_from_yaml(tmp_path, ENDPOINT_YML.format(name="by-yaml")), create=True)
    deployment = azure_yaml.save_deployment(
        _from_yaml(tmp_path, DEPLOYMENT_YML.format(endpoint="by-yaml", model=demo_model.name)), create=True
    )

    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.auth_mode) == (wizard.description, wizard.auth_mode)
    assert endpoint.default_deployment == deployment
    assert _deployment_fields(deployment) == _deployment_fields(wizard.default_deployment)
    assert (deployment.max_retries, deployment.timeout, deployment.error_threshold) == (1, 60, 5)


@pytest.mark.django_db
def test_a_custom_script_deployment_makes_what_the_wizard_makes(
    signed_in, endpoint, unpicklable_custom_model, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    project = write_custom_project(
        tmp_path, endpoint.name, unpicklable_custom_model.name, unpicklable_custom_model.version
    )
    deployment = azure_yaml.save_deployment(yaml_document.load(project), create=True)
    environment = Environment.objects.get(name="sklearn-env")
    assert deployment.environment == environment.label == "sklearn-env:1"
    assert environment.requirements.split() == ["scikit-learn", "pandas"]

    signed_in.get(f"/endpoints/create/?endpoint={endpoint.name}")
    run_wizard(
        signed_in,
        f"/endpoints/create/?model={unpicklable_custom_model.label}",
        [
            ("endpoint", {"endpoint_mode": "existing", "existing_endpoint": endpoint.name}),
            (
                "deployment",
                {
                    "name": "custom-wizard",
                    "description": "",
                    "output_action": "append_row",
                    "output_file_name": "predictions.csv",
                    "mini_batch_size": 10,
                    "max_concurrency_per_instance": 1,
                    "max_retries": 3,
                    "timeout": 30,
                    "error_threshold": -1,
                    "logging_level": "info",
                    "environment_variables": "",
                    "output_header": "on",
                },
            ),
            (
                "code",
                {
                    "scoring_script": SimpleUploadedFile("score.py", SCORE_PY),
                    "environment_mode": "existing",
                    "environment": "sklearn-env:1",
                },
            ),
            ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
        ],
    )
    wizard = endpoint.deployments.get(name="custom-wizard")
    assert _deployment_fields(deployment) | {"name": "x"} == _deployment_fields(wizard) | {"name": "x"}
    assert deployment.is_custom and deployment.code_path == wizard.code_path
    assert endpoint.default_deployment.name == "blue"  # an endpoint's default stays unless asked


@pytest.mark.django_db
def test_root_level_settings_of_older_files_mean_the_same(endpoint, demo_model, tmp_path):
    head, settings = DEPLOYMENT_YML.split("\nsettings:\n")
    older = (head + "\n" + textwrap.dedent(settings)).replace("blue", "older")
    assert "\nmini_batch_size: 2" in older and "\nretry_settings:\n  max_retries: 1" in older
    newer = azure_yaml.save_deployment(
        _from_yaml(
            tmp_path, DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name).replace("blue", "newer")
        ),
        create=True,
    )
    old = azure_yaml.save_deployment(
        _from_yaml(tmp_path, older.format(endpoint=endpoint.name, model=demo_model.name)), create=True
    )
    assert _deployment_fields(old) | {"name": ""} == _deployment_fields(newer) | {"name": ""}


@pytest.mark.django_db
def test_set_overrides_the_file_and_update_keeps_what_is_not_named(endpoint, demo_model, tmp_path):
    text = DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name).replace("blue", "green")
    deployment = azure_yaml.save_deployment(
        _from_yaml(tmp_path, text, sets=["settings.mini_batch_size=7"]), create=True, set_default=True
    )
    endpoint.refresh_from_db()
    assert deployment.mini_batch_size == 7 and endpoint.default_deployment == deployment
    update = f"endpoint_name: {endpoint.name}\nname: green\nsettings:\n  retry_settings:\n    timeout: 600\n"
    azure_yaml.save_deployment(_from_yaml(tmp_path, update), create=False)
    deployment.refresh_from_db()
    assert (deployment.timeout, deployment.mini_batch_size, deployment.max_retries) == (600, 7, 1)


@pytest.mark.django_db
def test_a_model_reference_names_a_version_or_the_latest(endpoint, demo_model, tmp_path):
    for reference in (
        f"azureml:{demo_model.name}:{demo_model.version}",
        f"azureml:{demo_model.name}@latest",
        f"{demo_model.name}:{demo_model.version}",
        f"models:/{demo_model.name}/{demo_model.version}",  # MLflow's: it read as a model named 'models'
        f"models:/{demo_model.name}/latest",
    ):
        doc = yaml_document.loads(f"endpoint_name: {endpoint.name}\nname: blue\nmodel: {reference}\n")
        deployment = azure_yaml.save_deployment(doc, create=False)
        assert deployment.model_label == demo_model.label and deployment.model_alias == ""


@pytest.mark.django_db
def test_a_model_reference_to_an_alias_pins_the_deployment_to_it(endpoint, tmp_path):
    demo.train_iris(tmp_path / "model")
    version = registry.register_folder("yaml-iris", tmp_path / "model")
    registry.set_alias("yaml-iris", "champion", version.version)
    for reference in ("azureml:yaml-iris@champion", "models:/yaml-iris@champion"):
        doc = yaml_document.loads(f"endpoint_name: {endpoint.name}\nname: blue\nmodel: {reference}\n")
        deployment = azure_yaml.save_deployment(doc, create=False)
        assert (deployment.model_name, deployment.model_version, deployment.model_alias) == (
            "yaml-iris",
            version.version,
            "champion",
        )
        assert deployment_json(deployment)["model"] == "azureml:yaml-iris@champion"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change,code,message",
    [
        (
            ("  mini_batch_size: 2", "  mini_batch_sise: 2"),
            "unknown_key",
            "file.yml, line 12: unknown key 'settings.mini_batch_sise'. Did you mean 'mini_batch_size'?",
        ),
        (
            ("    timeout: 60", "    timeout: a minute"),
            "wrong_type",
            "file.yml, line 17: 'settings.retry_settings.timeout' must be an integer.",
        ),
        (
            ("  instance_count: 2", "  instance_count: true"),
            "wrong_type",
            "file.yml, line 9: 'resources.instance_count' must be an integer.",
        ),
        (
            ("resources:", "mini_batch_size: 3\nresources:"),
            "duplicate_setting",
            "file.yml, line 8: 'mini_batch_size' is given both under settings: and at the root.",
        ),
        (("compute:", "name: again\ncompute:"), "duplicate_key", "file.yml, line 7: 'name' is given twice."),
        (
            ("type: model", "type: pipeline"),
            "unsupported_type",
            "file.yml, line 5: pipeline component deployments (type: pipeline) are not supported yet",
        ),
        (
            ("type: model", "type: batch"),
            "unsupported_type",
            "file.yml, line 5: only model deployments are supported",
        ),
        (
            ("@latest", "@production"),
            "unknown_alias",
            "file.yml, line 6: Model 'iris-classifier' has no alias 'production'. It has no aliases.",
        ),
        (
            ("iris-classifier@latest", "nope:1"),
            "unknown_model",
            "file.yml, line 6: There is no model 'nope' in the registry.",
        ),
        (
            ("iris-classifier@latest", "iris-classifier:99"),
            "unknown_version",
            "file.yml, line 6: Model 'iris-classifier' has no version 99. Its versions: 1",
        ),
        (
            ("azureml:iris-classifier@latest", "models:/iris-classifier"),
            "invalid_model_uri",
            "file.yml, line 6: 'models:/iris-classifier' is not a model reference (no version or alias after the name)",
        ),
        (
            ("output_action: append_row", "output_action: overwrite"),
            "invalid_choice",
            "file.yml, line 13: output_action",
        ),
        (
            ("  mini_batch_size: 2", "  mini_batch_size: 0"),
            "min_value",
            "file.yml, line 12: 'settings.mini_batch_size': Ensure this value is greater than or equal to 1.",
        ),
        (
            ("endpoint_name: iris-endpoint", "endpoint_name: elsewhere"),
            "unknown_endpoint",
            "file.yml, line 2: there is no endpoint named 'elsewhere'.",
        ),
        (
            ("  max_retries: 1", "  max_retries: [1]"),
            "wrong_type",
            "line 16: 'settings.retry_settings.max_retries' must be",
        ),
        (("tags", "tags"), "invalid_yaml", "file.yml, line 23: this is not valid YAML"),
        (
            ("azureml:cpu-cluster", "azureml:../cpu cluster"),
            "invalid_compute_name",
            "file.yml, line 7: 'compute': A compute cluster's name is 2 to 64 characters: start with a letter",
        ),
    ],
)
def test_bad_deployment_files_are_refused_by_key_and_line(endpoint, demo_model, tmp_path, change, code, message):
    text = DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name).replace("blue", "green")
    text = text.replace(*change) + ("  : broken: [\n" if code == "invalid_yaml" else "")
    with pytest.raises(ValidationError) as err:
        azure_yaml.save_deployment(_from_yaml(tmp_path, text), create=True)
    assert err.value.code == code
    assert message in err.value.messages[0]
    assert not BatchDeployment.objects.filter(name="green").exists()


@pytest.mark.django_db
def test_errors_in_set_values_name_the_option(endpoint, demo_model, tmp_path):
    text = DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name).replace("blue", "green")
    with pytest.raises(ValidationError) as err:
        azure_yaml.save_deployment(
            _from_yaml(tmp_path, text, sets=["settings.retry_settings.timeout=soon"]), create=True
        )
    assert (
        err.value.messages[0]
        == "--set settings.retry_settings.timeout: 'settings.retry_settings.timeout' must be an integer."
    )


@pytest.mark.django_db
def test_a_list_given_plainly_in_set_says_how_to_write_it(endpoint, demo_model, tmp_path):
    """--set settings.passthrough_columns=id said only 'must be a list', not how to write one on the command line."""
    text = DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name).replace("blue", "green")
    with pytest.raises(ValidationError) as err:
        azure_yaml.save_deployment(_from_yaml(tmp_path, text, sets=["settings.passthrough_columns=id"]), create=True)
    assert err.value.messages[0] == (
        "--set settings.passthrough_columns: 'settings.passthrough_columns' must be a list. "
        "On the command line a list goes in brackets: --set settings.passthrough_columns=[a,b]."
    )
    deployment = azure_yaml.save_deployment(
        _from_yaml(tmp_path, text, sets=["settings.passthrough_columns=[id,region]"]), create=True
    )
    assert deployment.passthrough_columns == ["id", "region"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text,code,message",
    [
        ("name: ab\n", "endpoint_name_length", "line 1: 'name': The name must be 3 to 32 characters long."),
        ("name: fresh-one\nauth_mode: magic\n", "invalid_choice", "line 2: auth_mode must be one of"),
        (
            "name: fresh-one\ndefaults:\n  deployment: blue\n",
            "unknown_key",
            "line 3: unknown key 'defaults.deployment'",
        ),
        ("description: no name\n", "required", "'name' is required."),
        ("- a list\n", "wrong_type", "the file must be a mapping"),
    ],
)
def test_bad_endpoint_files_are_refused(endpoint, tmp_path, text, code, message):
    with pytest.raises(ValidationError) as err:
        azure_yaml.save_endpoint(_from_yaml(tmp_path, text), create=True)
    assert err.value.code == code
    assert message in err.value.messages[0]


@pytest.mark.django_db
def test_create_of_an_existing_endpoint_updates_it_as_azures_does(endpoint, tmp_path):
    azure_yaml.save_endpoint(_from_yaml(tmp_path, "name: iris-endpoint\ndescription: re-run\n"), create=True)
    endpoint.refresh_from_db()
    assert endpoint.description == "re-run" and endpoint.deployments.count() == 1


@pytest.mark.django_db
def test_an_endpoint_update_sets_the_default_deployment(endpoint, demo_model, tmp_path):
    BatchDeployment.objects.create(
        endpoint=endpoint, name="green", model_name=demo_model.name, model_version=demo_model.version
    )
    text = "name: iris-endpoint\ndescription: new words\ndefaults:\n  deployment_name: green\n"
    azure_yaml.save_endpoint(_from_yaml(tmp_path, text), create=False)
    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.default_deployment.name) == ("new words", "green")
    with pytest.raises(ValidationError) as err:
        azure_yaml.save_endpoint(
            _from_yaml(tmp_path, "name: iris-endpoint\ndefaults:\n  deployment_name: red\n"), create=False
        )
    assert err.value.code == "unknown_deployment" and "line 3" in err.value.messages[0]


@pytest.mark.django_db
def test_an_environment_is_reused_for_the_same_requirements_and_immutable(tmp_path):
    (tmp_path / "conda.yaml").write_text("dependencies:\n  - pip:\n    - scikit-learn\n")
    first = azure_assets.register_environment(_from_yaml(tmp_path, "name: env-a\nconda_file: conda.yaml\n"))
    again = azure_assets.register_environment(_from_yaml(tmp_path, "name: env-a\nconda_file: conda.yaml\n"))
    inline = azure_assets.register_environment(
        _from_yaml(tmp_path, "name: env-a\nconda_file:\n  dependencies:\n    - pip:\n      - pandas\n")
    )
    assert (first.label, again.label, inline.label) == ("env-a:1", "env-a:1", "env-a:2")
    with pytest.raises(ValidationError) as err:
        azure_assets.register_environment(
            _from_yaml(tmp_path, "name: env-a\nversion: 1\nconda_file:\n  dependencies: [six]\n")
        )
    assert err.value.code == "environment_exists" and "line 2" in err.value.messages[0]


@pytest.mark.django_db
def test_an_inline_conda_file_names_the_line_of_the_dependency_it_refuses(tmp_path):
    text = (
        "name: inline\n"
        "conda_file:\n"
        "  channels: [conda-forge]\n"
        "  dependencies:\n"
        "    - python=3.11\n"
        "    - conda-forge::lightgbm\n"
    )
    with pytest.raises(ValidationError) as err:
        azure_assets.register_environment(_from_yaml(tmp_path, text))
    assert err.value.code == "conda_dependency_unsupported"
    assert err.value.messages[0].startswith("file.yml, line 6: 'conda-forge::lightgbm' asks for conda channel")
    mapped = azure_assets.register_environment(_from_yaml(tmp_path, text.replace("conda-forge::lightgbm", "six=1.16")))
    assert mapped.requirements == "six==1.16.*  # from conda: six=1.16"
    with pytest.raises(ValidationError) as err:
        azure_assets.register_environment(_from_yaml(tmp_path, "name: inline\nconda_file:\n  dependencies: [python]\n"))
    assert err.value.code == "no_packages" and err.value.messages[0].startswith("file.yml, line 2: ")
    assert list(Environment.objects.filter(name="inline")) == [mapped]
