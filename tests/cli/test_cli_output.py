"""`-o` and `--query` as Azure's CLI prints them, and the behaviours Azure's scripts lean on: create-or-update,
Azure's download layout with the scoring script's own files, clear refusals."""

import json

import pytest
from django.core.management.base import CommandError

from cli import output
from jobs.models import BatchJob, Status
from jobs.submit import submit_job
from tests.fixtures.api import DEPLOYMENT_YML, invoke, run, run_both
from workspace.compute.models import ComputeCluster
from workspace.models import Datastore


def test_tsv_prints_scalars_plain_and_a_list_one_item_a_line():
    assert output.render("Completed", "tsv") == "Completed\n"
    assert output.render(["a", "b"], "tsv") == "a\nb\n"
    assert output.render([{"b": 2, "a": "x", "c": {"d": 1}, "e": [1, 2], "f": True}], "tsv") == "x\t2\t\t2\ttrue\n"
    assert output.render({"status": "Completed", "name": "j"}, "tsv", "status") == "Completed\n"
    assert output.render({"a": 1}, "none") == ""


def test_table_and_yaml():
    assert output.render([{"name": "a", "status": "Completed"}], "table").splitlines() == [
        "Name  Status",
        "----  ---------",
        "a     Completed",
    ]
    assert output.render({"name": "a"}, "yaml") == "name: a\n"


def test_a_bad_query_is_refused_in_azures_words():
    with pytest.raises(CommandError, match="argument --query: invalid jmespath_type value"):
        output.render({}, "json", "[?")


@pytest.mark.django_db
def test_show_answers_query_and_tsv(endpoint):
    assert run("batch-endpoint", "show", "-n", endpoint.name, "--query", "defaults.deployment_name", "-o", "tsv") == (
        "blue\n"
    )
    shown = json.loads(run("batch-endpoint", "show", "-n", endpoint.name))
    assert shown["id"].endswith("/workspaces/batch-studio/batchEndpoints/iris-endpoint")
    assert shown["auth_mode"] == "aad_token" and shown["provisioning_state"] == "Succeeded"


@pytest.mark.django_db
def test_deployment_create_twice_updates(endpoint, demo_model, tmp_path):
    path = tmp_path / "deployment.yml"
    path.write_text(DEPLOYMENT_YML.format(endpoint=endpoint.name, model=demo_model.name))
    run("batch-deployment", "create", "-f", str(path))
    run("batch-deployment", "create", "-f", str(path), "--set", "settings.mini_batch_size=7")
    assert endpoint.deployments.get(name="blue").mini_batch_size == 7 and endpoint.deployments.count() == 1


@pytest.mark.django_db
def test_a_pipeline_deployment_is_refused_honestly(endpoint, tmp_path):
    path = tmp_path / "deployment.yml"
    path.write_text(
        f"name: hello\nendpoint_name: {endpoint.name}\ntype: pipeline\ncomponent: ./hello-component/hello.yml\n"
    )
    with pytest.raises(CommandError, match=r"deployment.yml, line 3: pipeline component deployments .* not supported"):
        run("batch-deployment", "create", "-f", str(path))


@pytest.mark.django_db
def test_download_with_output_name_uses_azures_layout_and_brings_the_scripts_own_files(endpoint, demo_data, tmp_path):
    job = submit_job(endpoint, input_uri=demo_data)
    store = Datastore.get_default().client()
    for name in ("predictions.csv", "custom/heart-0.parquet", "logs/job_result.txt", ".staging/0.part"):
        store.write(f"{job.output_path}/{name}", b"x")
    BatchJob.objects.filter(pk=job.pk).update(status=Status.COMPLETED)
    run("job", "download", "-n", job.name, "--output-name", "score", "--download-path", str(tmp_path))
    got = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert got == ["named-outputs/score/custom/heart-0.parquet", "named-outputs/score/predictions.csv"]
    run("job", "download", "-n", job.name, "--all", "--download-path", str(tmp_path / "all"))
    assert (tmp_path / "all" / "artifacts" / "logs" / "job_result.txt").exists()


@pytest.mark.django_db
def test_invoke_refuses_a_folder_given_as_uri_file(endpoint, tmp_path):
    with pytest.raises(CommandError, match="--input-type uri_file needs a file"):
        invoke("-n", endpoint.name, "--input", str(tmp_path), "--input-type", "uri_file")


@pytest.mark.django_db
def test_invoke_set_overrides_a_setting_and_refuses_an_unknown_one(endpoint, demo_data):
    name = invoke("-n", endpoint.name, "--input", demo_data, "--set", "settings.mini_batch_size=1")
    assert BatchJob.objects.get(name=name).mini_batches_total == 5
    with pytest.raises(CommandError, match="Unknown setting 'mini_batch_sise'"):
        invoke("-n", endpoint.name, "--input", demo_data, "--set", "mini_batch_sise=1")


@pytest.mark.django_db
def test_compute_create_is_create_or_update_and_checks_the_range():
    run(
        "compute",
        "create",
        "-n",
        "batch-cluster",
        "--type",
        "amlcompute",
        "--min-instances",
        "0",
        "--max-instances",
        "5",
    )
    run("compute", "create", "-n", "batch-cluster", "--max-instances", "2")
    assert ComputeCluster.objects.get().max_instances == 2
    with pytest.raises(CommandError, match=r"min_instances \(3\) is more than max_instances \(2\)"):
        run("compute", "update", "-n", "batch-cluster", "--min-instances", "3")
    out, err = run_both("compute", "delete", "-n", "batch-cluster", "--yes")
    assert out == "" and "Deleted compute batch-cluster." in err and not ComputeCluster.objects.exists()
