"""Azure's heart-classifier-mlflow and custom-outputs-parquet `deploy-and-run.sh` run to the end with only `az ml` replaced by
`python manage.py` (and once as it is, through Batch Studio's `az` entry point, tools/bin/az), against a real
qcluster and MLflow registry; its outputs are checked row by row against the model called directly.

The script below is the published one's sequence of commands (Azure/azureml-examples,
cli/endpoints/batch/deploy-models/heart-classifier-mlflow/deploy-and-run.sh), every command and flag in its
order, re-typed. Where it differs (each marked `# Batch Studio:`):
- the published `JOB_NAME = $(...)` has spaces around `=`, which bash runs as a command named JOB_NAME (the
  script stops there under `set -e`, on Azure too); here it is an assignment;
- the second invoke's input is a public URL (Azure's mnist sample, which is not heart data either); there is no
  internet here, so it is the local `data` folder;
- the model is a scikit-learn pipeline trained in the test on data of the heart schema (the published model is
  an xgboost one); the custom deployment's conda file names scikit-learn for xgboost, and its scoring script
  is written for this test (it predicts and also writes one Parquet file per input, as Azure's
  custom-outputs-parquet example does, so that `job download` must bring the script's own files);
- lines marked `# test only` keep the first job's downloads aside and note the job names for the checks.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, QCluster, _qcluster_env

SCRIPT = r"""
set -e

ENDPOINT_SUFIX=$(cat /dev/urandom | tr -dc 'a-zA-Z0-9' | fold -w ${1:-5} | head -n 1)
ENDPOINT_NAME="heart-classifier-$ENDPOINT_SUFIX"

MODEL_NAME='heart-classifier-mlflow'
az ml model create --name $MODEL_NAME --type "mlflow_model" --path "model"

az ml data create -f heart-dataset-unlabeled.yml

echo "Creating compute"
az ml compute create -n batch-cluster --type amlcompute --min-instances 0 --max-instances 5

echo "Creating batch endpoint $ENDPOINT_NAME"
az ml batch-endpoint create -n $ENDPOINT_NAME -f endpoint.yml

echo "Creating batch deployment $DEPLOYMENT_NAME for endpoint $ENDPOINT_NAME"
az ml batch-deployment create --file deployment-simple/deployment.yml --endpoint-name $ENDPOINT_NAME --set-default

echo "Update the batch deployment as default for the endpoint"
DEPLOYMENT_NAME="classifier-xgboost-mlflow"
az ml batch-endpoint update --name $ENDPOINT_NAME --set defaults.deployment_name=$DEPLOYMENT_NAME

echo "Showing details of the batch endpoint"
az ml batch-endpoint show --name $ENDPOINT_NAME

echo "Showing details of the batch deployment"
az ml batch-deployment show --name $DEPLOYMENT_NAME --endpoint-name $ENDPOINT_NAME

echo "Invoking batch endpoint"
# Batch Studio: an assignment (the published line has spaces around '=').
JOB_NAME=$(az ml batch-endpoint invoke --name $ENDPOINT_NAME --input azureml:heart-dataset-unlabeled@latest | jq -r '.name')
echo "$JOB_NAME" >> jobs.txt  # test only

echo "Showing job detail"
az ml job show -n $JOB_NAME --web

echo "List all jobs under the batch deployment"
az ml batch-deployment list-jobs --name $DEPLOYMENT_NAME --endpoint-name $ENDPOINT_NAME --query [].name

echo "Stream job logs to console"
az ml job stream -n $JOB_NAME

STATUS=$(az ml job show -n $JOB_NAME --query status -o tsv)
echo $STATUS
if [[ $STATUS == "Completed" ]]
then
  echo "Job completed"
elif [[ $STATUS ==  "Failed" ]]
then
  echo "Job failed"
  exit 1
else
  echo "Job status not failed or completed"
  exit 2
fi

echo "Download scores to local path"
az ml job download --name $JOB_NAME --output-name score --download-path ./
mv named-outputs simple-named-outputs  # test only

echo "Create a new batch deployment with custom logic"
az ml batch-deployment create --file deployment-custom/deployment.yml --endpoint-name $ENDPOINT_NAME

echo "Invoke batch endpoint with public data"
DEPLOYMENT_NAME="classifier-xgboost-custom"
# Batch Studio: a local folder for the public URL (no internet here).
JOB_NAME=$(az ml batch-endpoint invoke --name $ENDPOINT_NAME --deployment-name $DEPLOYMENT_NAME --input data --input-type uri_folder --query name -o tsv)
echo "$JOB_NAME" >> jobs.txt  # test only

echo "Show job detail"
az ml job show -n $JOB_NAME --web

echo "Stream job logs to console"
az ml job stream -n $JOB_NAME

STATUS=$(az ml job show -n $JOB_NAME --query status -o tsv)
echo $STATUS
if [[ $STATUS == "Completed" ]]
then
  echo "Job completed"
elif [[ $STATUS ==  "Failed" ]]
then
  echo "Job failed"
  exit 1
else
  echo "Job status not failed or completed"
  exit 2
fi

echo "Download scores to local path"
az ml job download --name $JOB_NAME --output-name score --download-path ./

echo "Delete resources"
az ml batch-endpoint delete --name $ENDPOINT_NAME --yes
"""

ENDPOINT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
name: heart-classifier-batch
description: A heart condition classifier for batch inference
auth_mode: aad_token
"""

DATA_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json
name: heart-dataset-unlabeled
description: An unlabeled dataset for heart classification.
type: uri_folder
path: data
"""

SETTINGS = """\
compute: azureml:batch-cluster
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 300
  error_threshold: -1
  logging_level: info
"""

SIMPLE_DEPLOYMENT_YML = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
endpoint_name: heart-classifier-batch
name: classifier-xgboost-mlflow
type: model
model: azureml:heart-classifier-mlflow@latest
{SETTINGS}"""

CUSTOM_DEPLOYMENT_YML = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
endpoint_name: heart-classifier-batch
name: classifier-xgboost-custom
type: model
model: azureml:heart-classifier-mlflow@latest
environment:
  name: batch-mlflow-xgboost
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
  conda_file: environment/conda.yaml
code_configuration:
  code: code
  scoring_script: batch_driver.py
{SETTINGS}"""

# Batch Studio: scikit-learn where Azure's names xgboost (the model here is a scikit-learn one).
CONDA_YML = """\
name: mlflow-env
channels: [conda-forge]
dependencies:
  - python=3.11
  - pip
  - pip:
    - mlflow
    - scikit-learn
    - pandas
    - pyarrow
"""

# Written for this test: predictions per row, and one Parquet file per input beside them (the script's own files).
BATCH_DRIVER = """\
import glob
import os
from pathlib import Path

import mlflow
import pandas as pd


def init():
    global model, output_path
    model = mlflow.pyfunc.load_model(glob.glob(os.environ["AZUREML_MODEL_DIR"] + "/*/")[0])
    output_path = os.environ["AZUREML_BI_OUTPUT_PATH"]


def run(mini_batch):
    results = []
    for file_path in mini_batch:
        data = pd.read_csv(file_path)
        predictions = model.predict(data)
        data.assign(prediction=predictions).to_parquet(os.path.join(output_path, Path(file_path).stem + ".parquet"))
        results.append(pd.DataFrame({"file": Path(file_path).name, "prediction": predictions}))
    return pd.concat(results)
"""

COLUMNS = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang", "oldpeak", "slope", "ca"]
THAL = ["normal", "fixed", "reversible"]
FILES = 5
ROWS = 12


def heart_frame(rng, rows: int) -> pd.DataFrame:
    """Rows of the heart dataset's schema (Azure's heart-unlabeled-*.csv), with its value ranges."""
    frame = pd.DataFrame(
        {
            "age": rng.integers(29, 78, rows),
            "sex": rng.integers(0, 2, rows),
            "cp": rng.integers(0, 5, rows),
            "trestbps": rng.integers(94, 201, rows),
            "chol": rng.integers(126, 565, rows),
            "fbs": rng.integers(0, 2, rows),
            "restecg": rng.integers(0, 3, rows),
            "thalach": rng.integers(71, 203, rows),
            "exang": rng.integers(0, 2, rows),
            "oldpeak": rng.integers(0, 63, rows) / 10,
            "slope": rng.integers(0, 4, rows),
            "ca": rng.integers(0, 4, rows),
            "thal": rng.choice(THAL, rows),
        }
    )
    frame.loc[0, "thal"] = "normal"  # every file has a text value, so that the column reads as text everywhere
    return frame


def train_heart_model(folder: Path, rng):
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    X = heart_frame(rng, 300)
    y = ((X["age"] > 55) & (X["chol"] > 240) | (X["thal"] == "reversible")).astype(int)
    model = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [("thal", OneHotEncoder(handle_unknown="ignore"), ["thal"])], remainder="passthrough"
                ),
            ),
            ("classify", RandomForestClassifier(n_estimators=30, random_state=0)),
        ]
    ).fit(X, y)
    mlflow.sklearn.save_model(
        model, str(folder), signature=infer_signature(X, model.predict(X)), serialization_format="cloudpickle"
    )


@pytest.fixture
def heart_project(tmp_path):
    """The example's folder: endpoint.yml, the two deployments, the dataset YAML, data/ and model/."""
    rng = np.random.default_rng(7)
    train_heart_model(tmp_path / "model", rng)
    (tmp_path / "data").mkdir()
    for i in range(FILES):
        heart_frame(rng, ROWS).to_csv(tmp_path / "data" / f"heart-unlabeled-{i}.csv", index=False)
    (tmp_path / "endpoint.yml").write_text(ENDPOINT_YML)
    (tmp_path / "heart-dataset-unlabeled.yml").write_text(DATA_YML)
    (tmp_path / "deployment-simple").mkdir()
    (tmp_path / "deployment-simple" / "deployment.yml").write_text(SIMPLE_DEPLOYMENT_YML)
    custom = tmp_path / "deployment-custom"
    (custom / "code").mkdir(parents=True)
    (custom / "environment").mkdir()
    (custom / "deployment.yml").write_text(CUSTOM_DEPLOYMENT_YML)
    (custom / "code" / "batch_driver.py").write_text(BATCH_DRIVER)
    (custom / "environment" / "conda.yaml").write_text(CONDA_YML)
    return tmp_path


@pytest.fixture
def batch_cluster(transactional_db):
    """A real qcluster serving the deployments' `compute: azureml:batch-cluster` (Q_CLUSTER_NAME=batch-cluster)."""
    from workspace.models import Datastore

    Datastore.get_default().client().delete("datasets")  # uploads persist across tests; the dataset is made anew
    cluster = QCluster(cluster="batch-cluster")
    yield cluster
    cluster.stop()


def run_script(script: str, folder: Path, path_first: str) -> subprocess.CompletedProcess:
    env = _qcluster_env()
    env["PATH"] = f"{path_first}:{env['PATH']}"
    env.pop("DISPLAY", None)  # --web prints the URL; no browser is opened
    return subprocess.run(
        ["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def expected_predictions(project: Path) -> dict[str, list]:
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(str(project / "model"))
    return {f.name: list(model.predict(pd.read_csv(f))) for f in sorted((project / "data").glob("*.csv"))}


@pytest.mark.integration
@pytest.mark.parametrize("entry", ["manage.py", "az"])
def test_azures_heart_classifier_script_runs_to_the_end(heart_project, batch_cluster, entry):
    if entry == "manage.py":
        script, path_first = SCRIPT.replace("az ml ", f"python {ROOT}/manage.py "), str(Path(sys.executable).parent)
    else:
        script, path_first = SCRIPT, f"{ROOT}/tools/bin:{Path(sys.executable).parent}"
    done = run_script(script, heart_project, path_first)
    log = f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}\nqcluster:\n{batch_cluster.output()[-3000:]}"
    assert done.returncode == 0, log
    assert done.stdout.count("Job completed") == 2, log
    simple_job, custom_job = (heart_project / "jobs.txt").read_text().split()
    # --web: the Studio page of each job; list-jobs --query [].name: the deployment's one job.
    assert f"Studio: http://127.0.0.1:8000/jobs/{simple_job}/" in done.stderr
    assert f'[\n  "{simple_job}"\n]' in done.stdout
    expected = expected_predictions(heart_project)

    # The MLflow deployment: predictions.csv under named-outputs/score/, row by row as the model predicts.
    scores = pd.read_csv(heart_project / "simple-named-outputs" / "score" / "predictions.csv")
    assert len(scores) == FILES * ROWS
    for file_name, rows in scores.groupby("file_name"):
        assert rows.sort_values("row")["prediction"].tolist() == expected[file_name], file_name

    # The custom deployment: its returned rows, and the Parquet files the script wrote itself, all downloaded.
    score = heart_project / "named-outputs" / "score"
    returned = pd.read_csv(score / "predictions.csv")
    for file_name, rows in returned.groupby("file"):
        assert rows["prediction"].tolist() == expected[file_name], file_name
    for i in range(FILES):
        written = pd.read_parquet(score / f"heart-unlabeled-{i}.parquet")
        assert written["prediction"].tolist() == expected[f"heart-unlabeled-{i}.csv"]
    assert not (score / "logs").exists()  # logs are not part of the named output
    # The endpoint is gone (--yes); the jobs are kept.
    assert "Deleted batch endpoint heart-classifier-" in done.stderr


# Azure's custom-outputs-parquet example (cli/endpoints/batch/deploy-models/custom-outputs-parquet/deploy-and-run.sh):
# a Custom model (a pickled scikit-learn pipeline), a scoring script that writes one Parquet file per input into
# the job's output folder itself, and `output_action: summary_only`. Its commands in their order, re-typed; the
# differences, as above, are the `JOB_NAME = $(...)` assignment and the public-URL input (a local folder here).
PARQUET_SCRIPT = r"""
set -e

ENDPOINT_SUFIX=$(cat /dev/urandom | tr -dc 'a-zA-Z0-9' | fold -w ${1:-5} | head -n 1)
ENDPOINT_NAME="heart-classifier-$ENDPOINT_SUFIX"

MODEL_NAME='heart-classifier-sklpipe'
az ml model create --name $MODEL_NAME --type "custom_model" --path "model"

echo "Creating compute"
az ml compute create -n batch-cluster --type amlcompute --min-instances 0 --max-instances 5

echo "Creating batch endpoint $ENDPOINT_NAME"
az ml batch-endpoint create -n $ENDPOINT_NAME -f endpoint.yml

echo "Creating batch deployment $DEPLOYMENT_NAME for endpoint $ENDPOINT_NAME"
az ml batch-deployment create --file deployment.yml --endpoint-name $ENDPOINT_NAME --set-default

echo "Update the batch deployment as default for the endpoint"
DEPLOYMENT_NAME="classifier-xgboost-custom"
az ml batch-endpoint update --name $ENDPOINT_NAME --set defaults.deployment_name=$DEPLOYMENT_NAME

echo "Showing details of the batch endpoint"
az ml batch-endpoint show --name $ENDPOINT_NAME

echo "Showing details of the batch deployment"
az ml batch-deployment show --name $DEPLOYMENT_NAME --endpoint-name $ENDPOINT_NAME

echo "Invoking batch endpoint"
# Batch Studio: an assignment, and the local data folder for the public URL.
JOB_NAME=$(az ml batch-endpoint invoke --name $ENDPOINT_NAME --input data | jq -r '.name')
echo "$JOB_NAME" >> jobs.txt  # test only

echo "Showing job detail"
az ml job show -n $JOB_NAME --web

echo "List all jobs under the batch deployment"
az ml batch-deployment list-jobs --name $DEPLOYMENT_NAME --endpoint-name $ENDPOINT_NAME --query [].name

echo "Stream job logs to console"
az ml job stream -n $JOB_NAME

STATUS=$(az ml job show -n $JOB_NAME --query status -o tsv)
echo $STATUS
if [[ $STATUS == "Completed" ]]
then
  echo "Job completed"
elif [[ $STATUS ==  "Failed" ]]
then
  echo "Job failed"
  exit 1
else
  echo "Job status not failed or completed"
  exit 2
fi

echo "Download scores to local path"
az ml job download --name $JOB_NAME --output-name score --download-path ./

echo "Delete resources"
az ml batch-endpoint delete --name $ENDPOINT_NAME --yes
"""

PARQUET_DEPLOYMENT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
endpoint_name: heart-classifier-batch
name: classifier-xgboost-custom
type: model
model: azureml:heart-classifier-sklpipe@latest
environment:
  name: batch-mlflow-xgboost
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
  conda_file: environment/conda.yaml
code_configuration:
  code: code
  scoring_script: batch_driver.py
compute: azureml:batch-cluster
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: summary_only
  retry_settings:
    max_retries: 3
    timeout: 300
  error_threshold: -1
  logging_level: info
"""

# Written for this test, to the example's contract: the pickled model found under AZUREML_MODEL_DIR, one Parquet
# file of each input with its predictions, in AZUREML_BI_OUTPUT_PATH; run() returns the files it did.
PARQUET_DRIVER = """\
import glob
import os
import pickle
from pathlib import Path

import pandas as pd


def init():
    global model, output_path
    output_path = os.environ["AZUREML_BI_OUTPUT_PATH"]
    with open(sorted(glob.glob(os.environ["AZUREML_MODEL_DIR"] + "/*/*.pkl"))[-1], "rb") as fh:
        model = pickle.load(fh)


def run(mini_batch):
    for file_path in mini_batch:
        data = pd.read_csv(file_path)
        data["prediction"] = model.predict(data)
        data.to_parquet(os.path.join(output_path, Path(file_path).stem + ".parquet"))
    return mini_batch
"""


@pytest.fixture
def parquet_project(tmp_path):
    """custom-outputs-parquet's folder: endpoint.yml, deployment.yml, code/, environment/, data/ and model/model.pkl
    (a scikit-learn pipeline, pickled), and the pipeline itself to check against."""
    import pickle

    rng = np.random.default_rng(11)
    train_heart_model(tmp_path / "mlflow-model", rng)
    import mlflow.sklearn

    pipeline = mlflow.sklearn.load_model(str(tmp_path / "mlflow-model"))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.pkl").write_bytes(pickle.dumps(pipeline))
    (tmp_path / "data").mkdir()
    for i in range(FILES):
        heart_frame(rng, ROWS).to_csv(tmp_path / "data" / f"heart-unlabeled-{i}.csv", index=False)
    (tmp_path / "endpoint.yml").write_text(ENDPOINT_YML)
    (tmp_path / "deployment.yml").write_text(PARQUET_DEPLOYMENT_YML)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "batch_driver.py").write_text(PARQUET_DRIVER)
    (tmp_path / "environment").mkdir()
    (tmp_path / "environment" / "conda.yaml").write_text(CONDA_YML)
    return tmp_path, pipeline


@pytest.mark.integration
def test_azures_custom_outputs_parquet_script_runs_to_the_end(parquet_project, batch_cluster):
    project, pipeline = parquet_project
    script = PARQUET_SCRIPT.replace("az ml ", f"python {ROOT}/manage.py ")
    done = run_script(script, project, str(Path(sys.executable).parent))
    log = f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}\nqcluster:\n{batch_cluster.output()[-3000:]}"
    assert done.returncode == 0, log
    assert done.stdout.count("Job completed") == 1, log
    (job,) = (project / "jobs.txt").read_text().split()
    assert f'[\n  "{job}"\n]' in done.stdout  # list-jobs --query [].name

    # summary_only: no predictions file; the script's own Parquet files are the named output, row by row right.
    score = project / "named-outputs" / "score"
    assert not (score / "predictions.csv").exists()
    assert sorted(p.name for p in score.glob("*.parquet")) == [f"heart-unlabeled-{i}.parquet" for i in range(FILES)]
    for i in range(FILES):
        source = pd.read_csv(project / "data" / f"heart-unlabeled-{i}.csv")
        written = pd.read_parquet(score / f"heart-unlabeled-{i}.parquet")
        assert len(written) == ROWS
        assert written["prediction"].tolist() == list(pipeline.predict(source))
        pd.testing.assert_frame_equal(written.drop(columns="prediction"), source)
    assert "Deleted batch endpoint heart-classifier-" in done.stderr
