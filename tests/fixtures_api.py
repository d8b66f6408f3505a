"""API fixtures: a token-carrying client, and a check of real responses against the served OpenAPI file."""

import re
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

OPENAPI = Path(__file__).resolve().parent.parent / "api" / "openapi.yaml"
API_ROOT = "/api/v1"


@pytest.fixture
def token(user):
    from api.models import AccessToken

    _, secret = AccessToken.issue(user, "tests")
    return secret


@pytest.fixture
def api(client, token):
    """Django's test client sending the bearer token with every request (and no session)."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@cache
def spec() -> dict:
    return yaml.safe_load(OPENAPI.read_text())


def _operation(path: str, method: str) -> dict:
    relative = path.removeprefix(API_ROOT)
    for template, item in spec()["paths"].items():
        pattern = "^" + re.sub(r"\\\{(file)\\\}", r".+", re.escape(template))
        pattern = re.sub(r"\\\{\w+\\\}", r"[^/]+", pattern) + "$"
        if re.match(pattern, relative) and method.lower() in item:
            return item[method.lower()]
    raise AssertionError(f"{method} {path} is not in openapi.yaml")


def check_response(response):
    """Validate a real response against the operation's documented schema for its status code."""
    request = response.wsgi_request
    operation = _operation(request.path, request.method)
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{request.method} {request.path} answered {response.status_code}, not documented"
    if "$ref" in documented:
        documented = spec()["components"]["responses"][documented["$ref"].rsplit("/", 1)[-1]]
    content = documented.get("content", {})
    if "application/json" in content:
        schema = {**content["application/json"]["schema"], "components": spec()["components"]}
        jsonschema.validate(
            response.json(),
            schema,
            cls=jsonschema.Draft202012Validator,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
    return response


def invoke_body(input_uri: str, output_uri: str | None = None, output_type: str = "UriFile", **settings) -> dict:
    properties = {"InputData": {"input_data": {"JobInputType": "UriFolder", "Uri": input_uri}}}
    if output_uri:
        properties["OutputData"] = {"score": {"JobOutputType": output_type, "Uri": output_uri}}
    if settings:
        properties["settings"] = settings
    return {"properties": properties}


ENDPOINT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
name: {name}
description: Iris scoring
tags:
  team: risk
auth_mode: aad_token
"""

DEPLOYMENT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
endpoint_name: {endpoint}
name: blue
description: ''
type: model
model: azureml:{model}@latest
compute: azureml:cpu-cluster
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 1
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 1
    timeout: 60
  error_threshold: 5
  logging_level: debug
  environment_variables:
    A: 1
    B: two
"""

CUSTOM_DEPLOYMENT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: custom
endpoint_name: {endpoint}
type: model
model: azureml:{model}:{version}
code_configuration:
  code: code
  scoring_script: score.py
environment:
  name: sklearn-env
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
  conda_file: environment/conda.yaml
compute: azureml:cpu-cluster
resources:
  instance_count: 1
settings:
  max_concurrency_per_instance: 1
  mini_batch_size: 10
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 30
  error_threshold: -1
  logging_level: info
"""

CONDA_YML = """\
name: sklearn-env
channels: [conda-forge]
dependencies:
  - python=3.11
  - pip
  - pip:
    - scikit-learn
    - pandas
"""

SCORE_PY = b"def init():\n    pass\n\n\ndef run(mini_batch):\n    return mini_batch\n"


def write_custom_project(folder: Path, endpoint: str, model: str, version: str) -> Path:
    """Azure's usual custom-script layout: deployment.yml, code/score.py, environment/conda.yaml."""
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "score.py").write_bytes(SCORE_PY)
    (folder / "environment").mkdir()
    (folder / "environment" / "conda.yaml").write_text(CONDA_YML)
    path = folder / "deployment.yml"
    path.write_text(CUSTOM_DEPLOYMENT_YML.format(endpoint=endpoint, model=model, version=version))
    return path


@pytest.fixture
def custom_model(db, studio_home, tmp_path_factory):
    """A real non-MLflow model (no python_function flavor): it needs a scoring script."""
    from workspace import registry

    folder = tmp_path_factory.mktemp("custom-model")
    (folder / "MLmodel").write_text("flavors:\n  custom_pickle:\n    data: model.pkl\n")
    (folder / "model.pkl").write_bytes(b"not really a pickle")
    return registry.register_folder("iris-custom", folder)


def run_both(*args) -> tuple[str, str]:
    """A management command's standard output and standard error."""
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run(*args) -> str:
    """A management command's standard output, as a script would read it."""
    return run_both(*args)[0]


def invoke(*args) -> str:
    """`batch-endpoint invoke ... --query name -o tsv`: the new job's name, as Azure's scripts read it."""
    return run("batch-endpoint", "invoke", *args, "--query", "name", "-o", "tsv").strip()
