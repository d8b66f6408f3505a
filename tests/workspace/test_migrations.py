"""Data migrations, run forward from the state before them on rows as earlier versions stored them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from workspace.secrets import decrypt

BEFORE = ("jobs", "0008_input_sas_encrypted")
TYPED = "https://acct.blob.core.windows.net/scoring/march/?sv=2024-01-01&sp=rl&sig=S3cr3tSignature%3D"
FILE = "https://acct.blob.core.windows.net/scoring/march/a.csv"


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_sas_token_typed_before_it_was_encrypted_is_encrypted_and_kept_out_of_names():
    old = _migrate([BEFORE])
    job = old.get_model("jobs", "BatchJob").objects.create(
        name="old-job",
        endpoint_name="e",
        deployment_name="blue",
        input_uri=TYPED,
        output_datastore="workspaceblobstore",
    )
    old.get_model("jobs", "MiniBatch").objects.create(
        job=job, index=0, files=[f"{FILE}?sv=2024-01-01&sp=rl&sig=S3cr3tSignature%3D"]
    )
    plain = old.get_model("jobs", "BatchJob").objects.create(
        name="plain-job",
        endpoint_name="e",
        deployment_name="blue",
        input_uri=FILE + "?download=1",
        output_datastore="x",
    )

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from jobs.models import BatchJob, MiniBatch

    job = BatchJob.objects.get(name="old-job")
    assert "S3cr3tSignature" not in job.input_uri and "sig=REDACTED" in job.input_uri
    assert decrypt(job.input_sas_encrypted) == "sv=2024-01-01&sp=rl&sig=S3cr3tSignature%3D"  # the engine's copy
    assert MiniBatch.objects.get(job=job).files == [FILE]
    plain = BatchJob.objects.get(name="plain-job")  # a query that is no credential stays as it was
    assert (plain.input_uri, plain.input_sas_encrypted) == (FILE + "?download=1", "")


@pytest.mark.django_db(transaction=True)
def test_a_job_failed_on_its_threshold_before_the_field_still_offers_its_errors_file():
    old = _migrate([("jobs", "0010_input_skipped")])
    jobs = old.get_model("jobs", "BatchJob").objects
    fields = {
        "endpoint_name": "e",
        "deployment_name": "blue",
        "input_uri": FILE,
        "output_datastore": "x",
        "status": "Failed",
        "rows_failed": 2,
    }
    jobs.create(
        name="threshold",
        error="1 file with rows set aside, above the error threshold of 0. See errors.csv "
        "and logs/error_summary.csv for what failed.",
        **fields,
    )
    jobs.create(name="other", error="The output could not be written: OSError: disk full", **fields)

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from jobs.models import BatchJob

    assert BatchJob.objects.get(name="threshold").has_errors_file
    assert not BatchJob.objects.get(name="other").has_errors_file


@pytest.mark.django_db(transaction=True)
def test_integer_dataset_versions_become_the_same_strings_and_latest_stays_the_newest():
    old = _migrate([("studio", "0005_datastore_s3")])
    store = old.get_model("studio", "Datastore").objects.create(name="old-store", kind="local")
    datasets = old.get_model("studio", "Dataset").objects
    for version in (1, 2, 10):
        datasets.create(name="iris", version=version, datastore=store, path=f"v{version}")

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from workspace.models import Dataset

    assert sorted(Dataset.objects.values_list("version", flat=True)) == ["1", "10", "2"]
    assert Dataset.lookup("iris", "10").path == "v10" and Dataset.lookup("iris", "latest").version == "10"
    assert Dataset.next_version("iris") == "11"
