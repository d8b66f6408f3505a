"""The scoring host's child side: `python -m engine.hostmain`, run in the deployment's environment.

It reads requests from stdin and answers on a duplicate of its original stdout; fd 1 itself is pointed at
stderr so that nothing model code prints can corrupt the protocol. Python-level print and logging output
during init() and run() is captured and sent back with each answer, for the mini-batch's log.
"""

import csv
import importlib.util
import io
import logging
import os
import pickle
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from engine.host import HEADER

PROGRESS_SECONDS = 1.0
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class Capture(logging.Handler):
    """Collects (level, line) pairs from logging, print (info) and stderr (warning)."""

    def __init__(self, level: str):
        super().__init__(LEVELS.get(level, logging.INFO))
        self.lines: list[tuple[str, str]] = []
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record):
        level = "error" if record.levelno >= logging.ERROR else record.levelname.lower()
        self.lines.append((level, self.format(record)))

    def add(self, level: str, text: str):
        if LEVELS.get(level, logging.INFO) >= self.level:
            self.lines.extend((level, line) for line in text.splitlines() if line.strip())


class _Stream(io.TextIOBase):
    def __init__(self, capture: Capture, level: str):
        self.capture, self.level, self.pending = capture, level, ""

    def writable(self):
        return True

    def write(self, text):
        self.pending += text
        if "\n" in self.pending:
            done, self.pending = self.pending.rsplit("\n", 1)
            self.capture.add(self.level, done)
        return len(text)

    def flush(self):
        if self.pending:
            self.capture.add(self.level, self.pending)
            self.pending = ""


@contextmanager
def capturing(capture: Capture):
    root = logging.getLogger()
    saved = sys.stdout, sys.stderr, root.level
    sys.stdout, sys.stderr = _Stream(capture, "info"), _Stream(capture, "warning")
    root.addHandler(capture)
    root.setLevel(min(capture.level, logging.INFO))
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        root.removeHandler(capture)
        sys.stdout, sys.stderr, level = saved
        root.setLevel(level)


def _file_errors(result):
    return [{"file": f.name, "type": f.error.kind, "message": f.error.message} for f in result.failed]


class MlflowScorer:
    """Azure's no-code MLflow deployment: each file read, checked against the signature, predicted."""

    def __init__(self, model_dir: str):
        from engine import loader

        self.model = loader.load(model_dir)

    def run(self, request: dict, log, progress=lambda rows: None) -> dict:
        from engine import formats, scoring

        files = [(name, Path(path)) for name, path in request["files"]]  # Parquet is streamed from its path
        # Bad-record isolation stops at half the timeout: a file too dirty to isolate in time fails alone.
        until = time.monotonic() + request["timeout"] / 2 if request.get("timeout") else None
        result = scoring.score_batch(
            files,
            self.model.predict,
            self.model.inputs,
            self.model.output_names,
            log=log,
            tensor=self.model.tensor,
            passthrough=request.get("passthrough", ()),
            isolate_until=until,
            progress=progress,
        )
        part = (
            formats.encode(result.frame, request.get("output_format", "csv"))
            if request["output_action"] == "append_row"
            else b""
        )
        return {
            "part": part,
            "rows_out": result.rows_out,
            "file_errors": _file_errors(result),
            "row_errors": result.row_errors,
        }


class ScriptScorer:
    """Azure's custom scoring script contract: init() once, run(list of file paths) per mini-batch."""

    def __init__(self, code_path: str, scoring_script: str):
        path = Path(code_path) / scoring_script
        # As on Azure: the script imports its helper modules from the code folder (and from its own folder, when
        # it is in a subfolder such as src/score.py).
        sys.path[:0] = [str(path.parent)] + ([code_path] if path.parent != Path(code_path) else [])
        spec = importlib.util.spec_from_file_location(path.stem, path)
        self.module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = self.module
        spec.loader.exec_module(self.module)
        if not callable(getattr(self.module, "run", None)):
            raise TypeError(f"{scoring_script} defines no run(mini_batch) function.")
        if callable(getattr(self.module, "init", None)):
            self.module.init()

    def run(self, request: dict, log, progress=lambda rows: None) -> dict:
        result = self.module.run([path for _, path in request["files"]])
        if result is None:
            raise TypeError("run(mini_batch) returned None; return a list or a pandas DataFrame.")
        rows = len(result)
        part = _encode(result, request.get("output_format", "csv")) if request["output_action"] == "append_row" else b""
        return {"part": part, "rows_out": rows, "file_errors": []}


def _encode(result, fmt: str) -> bytes:
    from engine import formats

    return to_csv(result) if fmt == formats.CSV else formats.encode(formats.as_frame(result), fmt)


def to_csv(result) -> bytes:
    """A DataFrame as it is; a list as rows: dicts give columns, other values one 'result' column."""
    if hasattr(result, "to_csv"):
        from engine import formats

        return formats.csv_bytes(result) if len(result) else b""
    items = list(result)
    if not items:
        return b""
    buffer = io.StringIO()
    if all(isinstance(item, dict) for item in items):
        columns = list(dict.fromkeys(key for item in items for key in item))
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(items)
    else:
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["result"])
        writer.writerows([item] for item in items)
    return buffer.getvalue().encode()


def _read(stream):
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    return pickle.loads(stream.read(HEADER.unpack(header)[0]))


def _write(stream, message: dict):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def _make_scorer(request: dict):
    if request["kind"] == "script":
        return ScriptScorer(request["code_path"], request["scoring_script"])
    return MlflowScorer(request["model_dir"])


class Progress:
    """Rows scored so far in the mini-batch, sent to the worker as {"op": "progress", "rows": n} before the reply,
    at most every PROGRESS_SECONDS (the worker writes it to the mini-batch with its heartbeat)."""

    def __init__(self, send):
        self.send, self.last = send, 0.0

    def __call__(self, rows: int):
        if time.monotonic() - self.last >= PROGRESS_SECONDS:
            self.last = time.monotonic()
            self.send({"op": "progress", "rows": rows})


def handle(request: dict, state: dict, send=lambda message: None) -> dict:
    capture = Capture(request.get("level", "info"))
    started = time.perf_counter()
    with capturing(capture):
        try:
            if request["op"] == "init":
                state["scorer"] = _make_scorer(request)
                reply = {"ok": True}
            else:
                reply = {"ok": True, **state["scorer"].run(request, capture.add, Progress(send))}
        except Exception as exc:  # the script's own error: the attempt fails, the traceback goes to the log
            capture.add("error", traceback.format_exc())
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    reply["log"] = capture.lines
    reply["seconds"] = time.perf_counter() - started
    return reply


def main():
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    state: dict = {}
    while (request := _read(requests)) is not None:
        _write(replies, handle(request, state, lambda message: _write(replies, message)))


if __name__ == "__main__":
    main()
