"""`make bench-peers`'s parts that need no peer: the spec the Ray and Spark runners read (checked before either is
imported, so these run without Ray or PySpark), the measuring loop they share, and the side-by-side table. The run
itself needs the peers' venv and the whole machine: `make bench-peers` (docs/PERFORMANCE.md, "Peers")."""

import json

import pytest

import bench
from bench import Scale
from bench.peers import SpecError, count_rows, load_spec, measure, parse_output, parse_spec, ray_run, spark_run
from bench.peers.__main__ import parse_args
from bench.peers.report import peers_report, record


@pytest.fixture
def spec_data(tmp_path):
    files = []
    for i in range(3):
        path = tmp_path / "data" / f"part-{i}.csv"
        path.parent.mkdir(exist_ok=True)
        path.write_text("f0,f1\n" + "".join(f"{i}.0,{r}.5\n" for r in range(4)))
        files.append(str(path))
    models = {}
    for key in ("rf", "lr"):
        folder = tmp_path / "models" / key
        folder.mkdir(parents=True)
        (folder / "MLmodel").write_text("flavors: {}\n")
        models[key] = str(folder)
    return {
        "peer": "ray",
        "processes": 2,
        "rounds": 2,
        "columns": ["f0", "f1"],
        "files": files,
        "warm_files": files[:1],
        "rows": 12,
        "out": str(tmp_path / "out"),
        "models": models,
    }


def test_a_good_spec_is_read_whole(spec_data, tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec_data))
    spec = load_spec(str(path))
    assert (spec.peer, spec.processes, spec.rounds, spec.rows) == ("ray", 2, 2, 12)
    assert spec.files == spec_data["files"] and spec.warm_files == spec_data["files"][:1]
    assert spec.models == spec_data["models"] and str(spec.out) == spec_data["out"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"peer": "dask"}, "peer: one of ray, spark"),
        ({"processes": 0}, "processes: a whole number of at least 1"),
        ({"rounds": "3"}, "rounds: a whole number"),
        ({"rows": True}, "rows: a whole number"),
        ({"columns": []}, "columns: a non-empty list"),
        ({"files": []}, "files: a non-empty list of paths"),
        ({"files": ["/nowhere/part-0.csv"]}, "files: 1 not found, the first /nowhere/part-0.csv"),
        ({"models": {"rf": "/nowhere"}}, "models.rf: /nowhere is no MLflow model folder"),
        ({"out": ""}, "out: the folder"),
    ],
)
def test_a_bad_spec_names_its_field(spec_data, change, message):
    with pytest.raises(SpecError, match=message.replace(".", r"\.")):
        parse_spec({**spec_data, **change})


@pytest.mark.parametrize("runner, name", [(ray_run, "ray_run"), (spark_run, "spark_run")])
def test_each_runner_refuses_a_bad_spec_before_it_needs_its_peer(runner, name, spec_data, tmp_path, capsys):
    """The product's venv has neither Ray nor PySpark: a runner reads and checks its spec first, and says what is
    wrong with it, whatever the venv."""
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**spec_data, "processes": -1}))
    assert runner.main([str(path)]) == 2
    assert capsys.readouterr().err.strip() == f"{name}: processes: a whole number of at least 1, not -1"
    (tmp_path / "broken.json").write_text("{")
    assert runner.main([str(tmp_path / "broken.json")]) == 2
    assert f"{name}: cannot read the spec" in capsys.readouterr().err
    assert runner.main([]) == 2
    assert f"usage: python -m bench.peers.{name} SPEC.json" in capsys.readouterr().err


def test_the_loop_warms_up_then_times_every_round_and_checks_the_rows(spec_data):
    spec = parse_spec(spec_data)
    calls = []

    def pipeline(key, files, out):  # a stand-in peer: copies each file's rows into one part with a header
        calls.append((key, len(files), out.name))
        out.mkdir(parents=True)
        rows = [line for f in files for line in open(f).read().splitlines()[1:]]
        (out / "part-0.csv").write_text("prediction\n" + "\n".join(rows) + "\n")
        (out / "_SUCCESS").write_text("")
        (out / ".part-0.csv.crc").write_text("x\ny\n")

    results = measure(spec, pipeline)
    assert (
        calls == [("rf", 1, "warm-rf"), ("rf", 3, "rf"), ("rf", 3, "rf"), ("lr", 1, "warm-lr")] + [("lr", 3, "lr")] * 2
    )
    assert {key: (len(r["times"]), r["rows"]) for key, r in results.items()} == {"rf": (2, 12), "lr": (2, 12)}
    assert count_rows(spec.out / "warm-rf") == 4

    spec.rows = 13
    with pytest.raises(RuntimeError, match="ray rf: wrote 12 rows, not 13"):
        measure(spec, pipeline)


def test_the_output_line_is_found_among_the_logs():
    out = 'INFO starting\nPEER_JSON {"peer": "ray", "results": {}}\nINFO done\n'
    assert parse_output(out) == {"peer": "ray", "results": {}}
    with pytest.raises(ValueError, match="no PEER_JSON line"):
        parse_output("INFO nothing\n")


def test_the_report_puts_each_peer_beside_the_job_with_the_ratio_against_the_target():
    results = {"job_rf_s": 2.0, "tuned_rf_s": 1.8, "job_lr_s": 0.5, "error_spark": "RuntimeError: exit 1: no Java"}
    record(results, "ray", {"version": "2.60.0", "startup_s": 6.5, "results": {"rf": {"times": [7.0, 6.5]}}})
    record(results, "ray", {"version": "2.60.0", "startup_s": 6.5, "results": {"lr": {"times": [1.0]}}})
    assert results["ray_rf_s"] == 6.5 and results["ray_x_rf"] == 3.25 and results["ray_x_lr"] == 2.0
    scale = Scale(files=4, rows=1000, workers=2, rounds=2)
    text = peers_report(results, scale, ["ray", "spark"], 1.25, 1.5, ["a note"])
    lines = text.splitlines()
    assert lines[0].startswith("Batch Studio against its peers: 4 files x 1,000 rows x 10 float columns (4,000 rows)")
    assert "load average 1.25 before, 1.50 after" in lines[1]
    assert lines[2] == "ray: 2.60.0, " + bench.peers.PEERS["ray"]
    assert lines[3] == "spark: ?, Spark local[2] read.csv -> mlflow.pyfunc.spark_udf -> write.csv"

    def line(label):
        return " ".join(next(row for row in lines if row.startswith(label)).split())

    assert line("(b) Batch Studio job, RandomForest") == (
        "(b) Batch Studio job, RandomForest: real queue, warm workers 2.00 s 2,000 rows/s"
    )
    assert line("Ray Data map_batches, RandomForest") == "Ray Data map_batches, RandomForest 6.50 s 615 rows/s"
    ratios = [" ".join(row.split()) for row in lines if "times faster the job is" in row]
    assert ratios == [
        "Ray / Batch Studio: times faster the job is 3.25x ≥ 3x PASS",
        "Spark / Batch Studio: times faster the job is n/a",
        "Ray / Batch Studio: times faster the job is 2.00x ≥ 3x MISS",
        "Spark / Batch Studio: times faster the job is n/a",
    ]
    assert line("Spark local[2] spark_udf, LogisticRegression") == "Spark local[2] spark_udf, LogisticRegression n/a"
    assert line("Ray start") == "Ray start (not timed above) 6.5 s"
    assert "ERROR spark: RuntimeError: exit 1: no Java" in lines
    assert lines[-1] == "note: a note"


def test_the_command_needs_the_peers_venv_and_known_peers(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--peers-python", str(tmp_path / "bin" / "python")])
    assert "make bench-peers` makes the peers' venv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--peers", "ray,dask"])
    assert "--peers: unknown peer(s) dask" in capsys.readouterr().err
    args, scale = parse_args(["--quick", "--peers", "spark", "--peers-python", "/bin/sh", "--rounds", "2"])
    assert args.peers == ["spark"] and (scale.files, scale.rows, scale.rounds) == (6, 2000, 2)
