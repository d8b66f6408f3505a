"""No-code MLflow deployments run in the environment their model's own requirements describe (Azure's generated
environment): the workers' own when it satisfies them (nothing built), else one built once per content hash from
requirements.txt; a python pin this machine cannot satisfy is refused; a failed build says what failed and where
its log is. Only one test really runs pip (marked integration), with a wheel built in the test: no network."""

import base64
import hashlib
import io
import json
import platform
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from endpoints.models import BatchDeployment, BatchEndpoint
from engine import envbuild
from jobs.models import Environment, Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, output_frame, write_inputs
from tests.fixtures.ui import DEPLOYMENT_DEFAULTS, run_wizard, wizard_post
from workspace import registry

pytestmark = pytest.mark.django_db
RUNNING = platform.python_version()
MINOR = ".".join(RUNNING.split(".")[:2])
OTHER = "3.8" if MINOR != "3.8" else "3.9"

DEPLOYMENT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
endpoint_name: {endpoint}
name: {name}
type: model
model: azureml:{model}:{version}
compute: azureml:cpu-cluster
resources:
  instance_count: 1
settings:
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
"""

TINY_PACKAGE = '''
"""A model flavor the workers do not have (as xgboost would be): MLflow loads the model through it."""


class TripleModel:
    def predict(self, model_input, params=None):
        return model_input["x"] * 3 + 1


def _load_pyfunc(path):
    return TripleModel()
'''


def tiny_wheel(folder: Path) -> Path:
    """A wheel of the package bs-tinydep 1.0, written by hand: no build backend, no network."""
    files = {
        "bs_tinydep/__init__.py": TINY_PACKAGE,
        "bs_tinydep-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: bs-tinydep\nVersion: 1.0\n",
        "bs_tinydep-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files["bs_tinydep-1.0.dist-info/RECORD"] = "\n".join([*record, "bs_tinydep-1.0.dist-info/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "bs_tinydep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return wheel


def tiny_model(tmp_path: Path, name: str, wheel: Path):
    """An MLflow model loaded through bs_tinydep, which the workers lack: its requirements.txt names the wheel."""
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "note.txt").write_text("no weights: the flavor computes 3x + 1")
    folder = tmp_path / name
    mlflow.pyfunc.save_model(
        str(folder),
        loader_module="bs_tinydep",
        data_path=str(tmp_path / "data"),
        pip_requirements=[f"mlflow=={mlflow.__version__}", f"bs-tinydep @ {wheel.as_uri()}"],
        signature=infer_signature(frame, frame["x"] * 3),
    )
    return registry.register_folder(name, folder)


def iris_with_conda(tmp_path: Path, name: str, edit):
    """The demo iris model, its conda.yaml edited (edit(text) -> text), registered as `name`."""
    from workspace import demo

    folder = demo.train_iris(tmp_path / name)
    conda = folder / "conda.yaml"
    conda.write_text(edit(conda.read_text()))
    return registry.register_folder(name, folder)


def create_deployment(tmp_path, endpoint, model, name="gen") -> str:
    """`batch_deployment create -f` of a deployment of model; what it printed on stderr (a build's progress)."""
    path = tmp_path / f"{name}.yml"
    path.write_text(DEPLOYMENT_YML.format(endpoint=endpoint.name, name=name, model=model.name, version=model.version))
    out, err = io.StringIO(), io.StringIO()
    call_command("batch_deployment", "create", "-f", str(path), stdout=out, stderr=err)
    assert json.loads(out.getvalue())["name"] == name
    endpoint.refresh_from_db()  # its first deployment became its default
    return err.getvalue()


@pytest.fixture
def empty_endpoint(db):
    return BatchEndpoint.objects.create(name="gen-endpoint")


def test_a_model_whose_requirements_the_workers_satisfy_runs_in_their_environment_without_a_build(
    tmp_path, empty_endpoint, demo_model, demo_data
):
    requirements = (registry.model_dir(demo_model.name, demo_model.version) / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "mlflow==" in requirements  # pinned, as MLflow logs them
    stderr = create_deployment(tmp_path, empty_endpoint, demo_model)
    deployment = BatchDeployment.objects.get(name="gen")
    assert deployment.environment == "" and deployment.provisioning_state == "Succeeded"
    assert not Environment.objects.exclude(name=Environment.STUDIO).exists()
    assert "Building environment" not in stderr
    job = drive(submit_job(empty_endpoint, input_uri=demo_data))
    assert job.status == Status.COMPLETED and len(output_frame(job)) == 150


@pytest.mark.integration
def test_a_model_needing_a_package_the_workers_lack_gets_an_environment_built_before_its_first_job(
    tmp_path, empty_endpoint, client, user
):
    # the wheel the model names is not there (yet): pip cannot install it, and the deployment is refused
    missing = tiny_model(tmp_path, "needs-missing", tmp_path / "wheels" / "bs_tinydep-1.0-py3-none-any.whl")
    with pytest.raises(CommandError) as refused:
        create_deployment(tmp_path, empty_endpoint, missing, name="broken")
    env = Environment.objects.get(name="mlflow-needs-missing")
    message = str(refused.value)
    assert env.state == Environment.FAILED and "bs_tinydep-1.0-py3-none-any.whl" in message
    assert str(env.build_log_file) in message and env.get_absolute_url() in message
    assert env.build_log_file.read_text().strip() == env.build_log.strip()
    assert not BatchDeployment.objects.filter(name="broken").exists()

    wheel = tiny_wheel(tmp_path / "wheels")
    model = tiny_model(tmp_path, "needs-tinydep", wheel)
    shown = create_deployment(tmp_path, empty_endpoint, model)
    env = Environment.objects.get(name="mlflow-needs-tinydep")
    assert env.state == Environment.READY, env.build_log
    deployment = BatchDeployment.objects.get(name="gen")
    assert deployment.environment == env.label == f"mlflow-needs-tinydep:{model.version}"
    # progress on stderr while it built: what is installed, pip's own lines, the outcome
    assert f"Building environment {env.label}: pip installs" in shown
    assert "Successfully installed bs-tinydep-1.0" in shown and f"Environment {env.label}: Ready" in shown

    job = drive(submit_job(empty_endpoint, input_uri=write_inputs("tiny", files=3, rows=3)))
    assert job.status == Status.COMPLETED, job.error
    out = output_frame(job)
    flavor = {}
    exec(TINY_PACKAGE, flavor)  # the model called directly, here (the workers cannot import it)
    inputs = pd.DataFrame({"x": [float(i * 100 + r) for i in range(3) for r in range(3)]})
    assert out["prediction"].tolist() == flavor["_load_pyfunc"]("").predict(inputs).tolist()
    client.force_login(user)
    page = client.get(env.get_absolute_url()).content.decode()
    assert "Successfully installed bs-tinydep-1.0" in page


def test_a_model_pinning_a_python_this_machine_cannot_provide_is_refused(tmp_path, empty_endpoint):
    model = iris_with_conda(tmp_path, "iris-py38", lambda text: text.replace(f"python={RUNNING}", f"python={OTHER}.10"))
    with pytest.raises(CommandError) as refused:
        create_deployment(tmp_path, empty_endpoint, model)
    message = str(refused.value)
    assert f"Model iris-py38:{model.version}'s conda.yaml pins python={OTHER}.10" in message
    assert f"Python {RUNNING}" in message and f"Pin python={MINOR}" in message
    assert not BatchDeployment.objects.exists() and not Environment.objects.exclude(name="studio").exists()


def test_a_model_whose_conda_yaml_asks_for_a_conda_channel_is_refused_by_line(tmp_path, empty_endpoint):
    from workspace import demo

    folder = demo.train_iris(tmp_path / "iris-channel")
    (folder / "requirements.txt").unlink()  # conda.yaml alone says what the model needs
    conda = folder / "conda.yaml"
    lines = conda.read_text().splitlines()
    at = lines.index("dependencies:") + 2  # the line after the python pin
    conda.write_text("\n".join([*lines[:at], "- conda-forge::lightgbm", *lines[at:]]) + "\n")
    model = registry.register_folder("iris-channel", folder)
    with pytest.raises(CommandError) as refused:
        create_deployment(tmp_path, empty_endpoint, model)
    assert f"Model iris-channel:{model.version}'s conda.yaml, line {at + 1}: 'conda-forge::lightgbm' asks" in str(
        refused.value
    )
    assert not BatchDeployment.objects.exists() and not Environment.objects.exclude(name="studio").exists()


def test_a_conda_file_pinning_a_python_this_machine_cannot_provide_is_refused(tmp_path):
    (tmp_path / "conda.yaml").write_text(f"name: old\ndependencies:\n  - python={OTHER}\n  - pip:\n    - six\n")
    (tmp_path / "env.yml").write_text(
        "name: old-python\nimage: mcr.microsoft.com/azureml/minimal\nconda_file: conda.yaml\n"
    )
    with pytest.raises(CommandError) as refused:
        call_command("environment", "create", "-f", str(tmp_path / "env.yml"), stdout=io.StringIO())
    assert f"pins python={OTHER}" in str(refused.value) and f"Python {RUNNING}" in str(refused.value)
    assert not Environment.objects.filter(name="old-python").exists()


@pytest.mark.parametrize(
    "pin,ok",
    [
        (None, True),
        ("", True),
        (f"={MINOR}", True),
        (f"={RUNNING}", True),
        (f"={MINOR}.0", True),  # another patch release of the same Python: read as the same minor version
        (f"=={MINOR}.0", True),
        (f"={MINOR}.*", True),
        (f"{MINOR}", True),
        (f">={MINOR}", True),
        (f">=3.6,<{MINOR}", False),
        (f"={OTHER}", False),
        (f"=={OTHER}.10", False),
        ("=2.7", False),
        ("~banana", False),
    ],
)
def test_which_python_pins_this_machine_satisfies(pin, ok):
    problem = envbuild.python_problem(pin)
    assert (problem == "") is ok, problem
    if not ok:
        assert "The conda file pins python" in problem


@pytest.mark.parametrize(
    "conda,pin",
    [
        ("dependencies:\n  - python=3.8\n  - pip\n", "=3.8"),
        ("dependencies:\n  - python==3.11.4\n", "==3.11.4"),
        ("dependencies:\n  - python >=3.9\n", ">=3.9"),
        ("dependencies:\n  - python\n", ""),
        ("dependencies:\n  - python-dateutil=2.8\n  - pip:\n    - python-slugify\n", None),
        ("name: x\n", None),
    ],
)
def test_the_python_pin_of_a_conda_file(conda, pin):
    assert envbuild.conda_python(conda) == pin


@pytest.mark.parametrize(
    "line,missing",
    [
        ("pandas", False),
        (f"pandas=={pd.__version__}", False),
        (f"mlflow>={__import__('mlflow').__version__}", False),
        ("pandas<1", True),
        ('pandas<1; python_version < "3"', False),  # not for this Python
        ("this-package-is-not-installed-xyz", True),
        ("bs-tinydep @ file:///wheels/bs_tinydep-1.0-py3-none-any.whl", True),
        ("--extra-index-url https://example.org/simple", True),
        ("# only a comment", False),
    ],
)
def test_which_requirements_the_workers_satisfy(line, missing):
    assert envbuild.unsatisfied(line) == ([line] if missing else [])


# pip 26's output for a package whose setup.py fails (recorded from a real run): the error is above its last line.
PIP_FAILURE = """\
Processing ./broken
  Installing build dependencies: started
  Installing build dependencies: finished with status 'done'
  Getting requirements to build wheel: started
  Getting requirements to build wheel: finished with status 'error'
  error: subprocess-exited-with-error

  × Getting requirements to build wheel did not run successfully.
  │ exit code: 1
  ╰─> [4 lines of output]
      Traceback (most recent call last):
        File "<string>", line 2, in <module>
      RuntimeError: bs-broken needs the libfoo headers (apt-get install libfoo-dev)
      [end of output]

  note: This error originates from a subprocess, and is likely not a problem with pip.
ERROR: Failed to build 'file:///tmp/hx/broken' when getting requirements to build wheel
"""


@pytest.mark.parametrize(
    "log,says",
    [
        (PIP_FAILURE, "RuntimeError: bs-broken needs the libfoo headers (apt-get install libfoo-dev)"),
        (PIP_FAILURE, "ERROR: Failed to build 'file:///tmp/hx/broken'"),
        (
            "Collecting nope-zz==1\nERROR: Could not find a version that satisfies the requirement nope-zz==1\n"
            "ERROR: No matching distribution found for nope-zz==1\n",
            "ERROR: No matching distribution found for nope-zz==1",
        ),
        ("$ python -m venv x\nError: [Errno 28] No space left on device\n", "No space left on device"),
    ],
)
def test_a_failed_builds_summary_shows_the_error_itself(log, says):
    assert says in envbuild.failure_summary(log)


def test_in_the_studio_a_model_needing_a_build_is_creating_until_its_queued_build_ends(
    tmp_path, signed_in, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    model = tiny_model(tmp_path, "wizard-tinydep", tiny_wheel(tmp_path / "wheels"))
    steps = [
        ("endpoint", {"endpoint_name": "tiny-batch", "description": ""}),
        ("model", {"model": model.label}),
        ("deployment", DEPLOYMENT_DEFAULTS),
        ("compute", {"compute": "cpu-cluster", "instance_count": 1}),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = run_wizard(signed_in, "/endpoints/create/", steps)
    deployment = BatchDeployment.objects.get(endpoint__name="tiny-batch")
    env = Environment.objects.get(name="mlflow-wizard-tinydep")
    assert deployment.environment == env.label and env.state == Environment.BUILDING
    assert [task.name() for task in OrmQ.objects.all()] == [f"build environment {env.label}"]
    page = signed_in.get(response["Location"]).content.decode()
    assert "Creating" in page and f'aria-label="Environment {env.label}: Building, build log"' in page


def test_in_the_studio_a_model_pinning_another_python_is_refused_at_the_model_step(tmp_path, signed_in):
    model = iris_with_conda(tmp_path, "iris-py-old", lambda text: text.replace(f"python={RUNNING}", f"python={OTHER}"))
    signed_in.get("/endpoints/create/")
    wizard_post(signed_in, "endpoint", {"endpoint_name": "old-python", "description": ""})
    page = wizard_post(signed_in, "model", {"model": model.label}).content.decode()
    assert f"conda.yaml pins python={OTHER}, but this machine cannot provide it" in page
