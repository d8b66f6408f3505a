"""The scoring host on its own: a child process per spec, init once, timeouts, crashes, logs, variables."""

import sys

import pandas as pd
import pytest

from engine import hostmain
from engine.host import Aborted, HostCrashed, HostPool, HostSpec, HostTimeout, ScriptError
from tests.fixtures.engine import write_script

SCRIPT = """
import ctypes, logging, os, time
calls = 0

def init():
    global calls
    calls += 1
    print("init ran")

def run(mini_batch):
    mode = os.environ.get("MODE", "")
    logging.getLogger("user").debug("a debug line")
    logging.getLogger("user").info("an info line")
    print("scoring", len(mini_batch), "files")
    if mode == "sleep":
        time.sleep(30)
    if mode == "exit":
        os._exit(3)
    if mode == "segfault":
        ctypes.string_at(0)
    if mode == "raise":
        raise ValueError("bad input")
    return [{"file": os.path.basename(p), "pid": os.getpid(), "calls": calls,
             "model_dir": os.environ["AZUREML_MODEL_DIR"], "color": os.environ.get("COLOR", "")} for p in mini_batch]
"""


@pytest.fixture
def pool():
    hosts = HostPool(size=2)
    yield hosts
    hosts.close()


def spec(tmp_path, **env):
    folder = write_script(tmp_path / "code", SCRIPT)
    return HostSpec.build(sys.executable, tmp_path / "models" / "m" / "model", folder, "score.py", env)


def run(host, level="info", timeout=10, on_wait=lambda: None):
    return host.run(
        [("in/a.csv", "/data/a.csv"), ("in/b.csv", "/data/b.csv")],
        output_action="append_row",
        level=level,
        timeout=timeout,
        on_wait=on_wait,
    )


def rows(reply):
    import io

    return pd.read_csv(io.BytesIO(reply["part"]))


def test_init_runs_once_per_host_and_the_host_is_reused(pool, tmp_path):
    host, started = pool.get(spec(tmp_path))
    assert started and host.init_log == [("info", "init ran")]
    first = rows(run(host))
    again, started_again = pool.get(spec(tmp_path))
    second = rows(run(again))
    assert again is host and not started_again
    assert first["pid"].tolist() == second["pid"].tolist() and set(second["calls"]) == {1}
    assert second["file"].tolist() == ["a.csv", "b.csv"]


def test_the_script_sees_the_deployment_variables_and_the_model_dir(pool, tmp_path):
    host, _ = pool.get(spec(tmp_path, COLOR="blue"))
    out = rows(run(host))
    assert set(out["color"]) == {"blue"}
    assert set(out["model_dir"]) == {str(tmp_path / "models" / "m")}


def test_different_variables_get_different_hosts(pool, tmp_path):
    blue, _ = pool.get(spec(tmp_path, COLOR="blue"))
    red, _ = pool.get(spec(tmp_path, COLOR="red"))
    assert blue is not red and blue.proc.pid != red.proc.pid


@pytest.mark.parametrize(
    "level,expected",
    [
        ("debug", ["user: a debug line", "user: an info line", "scoring 2 files"]),
        ("info", ["user: an info line", "scoring 2 files"]),
        ("warning", []),
    ],
)
def test_print_and_logging_are_captured_at_the_level(pool, tmp_path, level, expected):
    host, _ = pool.get(spec(tmp_path))
    assert [line for _, line in run(host, level=level)["log"]] == expected


def test_a_mini_batch_past_its_timeout_stops_the_host_and_the_next_one_starts_fresh(pool, tmp_path):
    host, _ = pool.get(spec(tmp_path, MODE="sleep"))
    with pytest.raises(HostTimeout, match="did not finish within the timeout of 1 s"):
        run(host, timeout=1)
    assert not host.alive
    fresh, started = pool.get(spec(tmp_path, MODE="sleep"))
    assert started and fresh.alive


@pytest.mark.parametrize(
    "mode,message",
    [
        ("exit", "exited with code 3"),
        ("segfault", "was killed by SIGSEGV"),
    ],
)
def test_a_crashing_script_fails_the_attempt_only(pool, tmp_path, mode, message):
    host, _ = pool.get(spec(tmp_path, MODE=mode))
    with pytest.raises(HostCrashed, match=message):
        run(host)
    assert not host.alive


def test_an_exception_in_run_carries_its_traceback_in_the_log(pool, tmp_path):
    host, _ = pool.get(spec(tmp_path, MODE="raise"))
    with pytest.raises(ScriptError, match="ValueError: bad input") as err:
        run(host)
    assert any("Traceback" in line for _, line in err.value.log)
    assert host.alive  # the script's own error does not cost it its init


def test_init_failures_are_script_errors(pool, tmp_path):
    folder = write_script(
        tmp_path / "broken", "def init():\n    raise RuntimeError('no model')\ndef run(b):\n    return b\n"
    )
    with pytest.raises(ScriptError, match="RuntimeError: no model"):
        pool.get(HostSpec.build(sys.executable, tmp_path / "m" / "model", folder, "score.py"))
    assert not pool.hosts


def test_the_caller_can_stop_waiting(pool, tmp_path):
    host, _ = pool.get(spec(tmp_path, MODE="sleep"))

    def cancel():
        raise Aborted("canceled")

    with pytest.raises(Aborted):
        run(host, on_wait=cancel)
    assert not host.alive


def test_an_mlflow_model_scores_files_in_the_host(pool, tmp_path):
    from workspace import demo

    model = demo.train_iris(tmp_path / "iris" / "model")
    data = tmp_path / "iris.csv"
    from sklearn.datasets import load_iris

    load_iris(as_frame=True).data.iloc[:7].to_csv(data, index=False)
    (tmp_path / "bad.csv").write_text("nothing,useful\n1,2\n")
    host, _ = pool.get(HostSpec.build(sys.executable, model))
    reply = host.run(
        [("d/iris.csv", str(data)), ("d/bad.csv", str(tmp_path / "bad.csv"))],
        output_action="append_row",
        level="info",
        timeout=30,
    )
    out = rows(reply)
    assert list(out.columns) == ["row", "prediction", "file_name"] and len(out) == 7
    assert [e["file"] for e in reply["file_errors"]] == ["d/bad.csv"]


@pytest.mark.parametrize(
    "result,csv",
    [
        ([1, 2], "result\n1\n2\n"),
        ([{"a": 1}, {"a": 2, "b": 3}], "a,b\n1,\n2,3\n"),
        (pd.DataFrame({"p": [0.5]}), "p\n0.5\n"),
        ([], ""),
    ],
)
def test_run_results_become_csv_rows(result, csv):
    assert hostmain.to_csv(result).decode() == csv


def test_an_mlflow_mini_batch_reports_its_rows_scored_so_far(pool, tmp_path):
    """Progress inside a mini-batch: the host tells the worker the rows scored so far before its reply (the first
    file's at once, then at most once a second)."""
    from sklearn.datasets import load_iris

    from workspace import demo

    model = demo.train_iris(tmp_path / "iris" / "model")
    files = []
    for i in range(3):
        path = tmp_path / f"iris-{i}.csv"
        load_iris(as_frame=True).data.iloc[: 10 * (i + 1)].to_csv(path, index=False)
        files.append((f"d/iris-{i}.csv", str(path)))
    heard = []
    host, _ = pool.get(HostSpec.build(sys.executable, model))
    reply = host.run(files, output_action="append_row", level="info", timeout=30, on_progress=heard.append)
    assert reply["rows_out"] == 60
    assert heard[0] == 10 and heard == sorted(heard) and heard[-1] <= 60
