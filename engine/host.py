"""The scoring host: a child process that holds a model (or a scoring script after its init()) and scores
mini-batches one by one, so that model code never runs inside the queue worker itself.

One mechanism gives four things: a per-mini-batch timeout (the host is killed and started again), isolation
from model code that crashes (a segfault or os._exit fails one attempt only), a deployment's own Python
environment (the host runs that environment's python), and environment variables per deployment.

The protocol is length-prefixed pickles of plain dicts over the child's stdin and a duplicate of its stdout;
the child points its own fd 1 at stderr, so stray prints can never corrupt the protocol.
"""

import os
import pickle
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HEADER = struct.Struct("!Q")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Secrets of the Studio itself never reach model code.
PRIVATE_ENV = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STUDIO_ADMIN_PASSWORD")


class HostError(Exception):
    """The host could not score a mini-batch: the attempt fails and may be retried."""

    kind = "HostError"

    def __init__(self, message: str, log: list | None = None):
        super().__init__(message)
        self.log = log or []  # (level, line) pairs the script printed or logged before it failed


class HostTimeout(HostError):
    kind = "Timeout"


class HostCrashed(HostError):
    kind = "HostCrashed"


class ScriptError(HostError):
    """init() or run() raised: the message carries the script's traceback."""

    kind = "ScriptError"


class Aborted(Exception):
    """The caller stopped waiting (job canceled, lease lost); the host was killed."""


@dataclass(frozen=True)
class HostSpec:
    """What a host loads. Two mini-batches with equal specs can share one host."""

    python: str
    model_dir: str
    code_path: str = ""
    scoring_script: str = ""
    env: tuple = ()  # sorted (name, value) pairs: hashable, part of the key

    @property
    def kind(self):
        return "script" if self.scoring_script else "mlflow"

    @classmethod
    def build(cls, python, model_dir, code_path="", scoring_script="", env: dict | None = None):
        return cls(
            str(python),
            str(model_dir),
            str(code_path or ""),
            scoring_script or "",
            tuple(sorted((str(k), str(v)) for k, v in (env or {}).items())),
        )


def _die_with_parent():
    """Linux: the host gets SIGKILL when the worker that started it dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


@dataclass
class ScoringHost:
    spec: HostSpec
    init_timeout: float = 600
    proc: subprocess.Popen | None = None
    output_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bi-output-")))
    init_log: list = field(default_factory=list)

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _environ(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in PRIVATE_ENV}
        env.update(dict(self.spec.env))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        env["AZUREML_MODEL_DIR"] = str(Path(self.spec.model_dir).parent)
        env["AZUREML_BI_OUTPUT_PATH"] = str(self.output_dir)
        return env

    def start(self, on_wait: Callable[[], None] = lambda: None, level: str = "info"):
        """Start the child and run its init once; the init's log lines are kept in init_log."""
        self.proc = subprocess.Popen(
            [self.spec.python, "-m", "engine.hostmain"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self._environ(),
            cwd=self.spec.code_path or None,
            preexec_fn=_die_with_parent,
        )
        reply = self._call(
            {
                "op": "init",
                "kind": self.spec.kind,
                "model_dir": self.spec.model_dir,
                "code_path": self.spec.code_path,
                "scoring_script": self.spec.scoring_script,
                "level": level,
            },
            self.init_timeout,
            on_wait,
            "init()",
        )
        self.init_log = reply.get("log", [])

    def run(
        self,
        files: list[tuple[str, str]],
        *,
        output_action: str,
        level: str,
        timeout: float,
        on_wait: Callable[[], None] = lambda: None,
        output_format: str = "csv",
        passthrough=(),
        on_progress: Callable[[int], None] = lambda rows: None,
    ) -> dict:
        """Score one mini-batch of (name, local path) files. Raises HostError: after a timeout or a crash
        the host is gone; after an exception in run() it stays warm, as Azure keeps its process. on_progress(rows)
        hears the rows scored so far, about every second of a long mini-batch (MLflow models)."""
        return self._call(
            {
                "op": "run",
                "files": files,
                "output_action": output_action,
                "level": level,
                "output_format": output_format,
                "passthrough": list(passthrough),
                "timeout": timeout,
            },
            timeout,
            on_wait,
            "the mini-batch",
            on_progress,
        )

    def _call(self, message: dict, timeout: float, on_wait, what: str, on_progress=lambda rows: None) -> dict:
        deadline = time.monotonic() + timeout
        try:
            self._send(message)
            reply = self._receive(deadline, timeout, on_wait, what)
            while reply.get("op") == "progress":
                on_progress(reply["rows"])
                reply = self._receive(deadline, timeout, on_wait, what)
        except BaseException:
            self.stop()
            raise
        if not reply.get("ok"):
            if message["op"] == "init":
                self.stop()  # half-initialised: the next mini-batch starts a clean host
            raise ScriptError(reply.get("error", "the scoring host failed"), reply.get("log"))
        return reply

    def _send(self, message: dict):
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(HEADER.pack(len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise self._crashed() from exc

    def _receive(self, deadline: float, timeout: float, on_wait, what: str) -> dict:
        late = f"{what} did not finish within the timeout of {timeout:g} s; the scoring host was stopped."
        size = HEADER.unpack(self._read_exact(HEADER.size, deadline, on_wait, late))[0]
        return pickle.loads(self._read_exact(size, deadline, on_wait, late))

    def _read_exact(self, size: int, deadline: float, on_wait, late: str) -> bytes:
        fd = self.proc.stdout.fileno()
        chunks, left = [], size
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HostTimeout(late)
            ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
            if not ready:
                on_wait()  # heartbeats; may raise Aborted
                continue
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise self._crashed()
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _crashed(self) -> HostCrashed:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            how = "stopped answering"
        elif code < 0:
            how = f"was killed by {_signal_name(code)}"
        else:
            how = f"exited with code {code}"
        return HostCrashed(
            f"The scoring host {how} (pid {self.proc.pid}): the model or scoring script crashed the process."
        )

    def take_outputs(self) -> list[Path]:
        """Files a script wrote under AZUREML_BI_OUTPUT_PATH since the last call, relative to it."""
        return sorted(p.relative_to(self.output_dir) for p in self.output_dir.rglob("*") if p.is_file())

    def clear_outputs(self):
        for child in self.output_dir.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass

    def close(self):
        self.stop()
        shutil.rmtree(self.output_dir, ignore_errors=True)


class HostPool:
    """The hosts one worker process keeps warm, by spec; the least recently used goes when full."""

    def __init__(self, size: int = 2, init_timeout: float = 600):
        self.size = size
        self.init_timeout = init_timeout
        self.hosts: OrderedDict[HostSpec, ScoringHost] = OrderedDict()

    def get(self, spec: HostSpec, on_wait=lambda: None, level="info") -> tuple[ScoringHost, bool]:
        """The warm host for spec, started (init run) if needed; the flag says whether it was just started."""
        host = self.hosts.pop(spec, None)
        started = False
        if host is None or not host.alive:
            if host is not None:
                host.close()
            while len(self.hosts) >= self.size:
                self.hosts.popitem(last=False)[1].close()
            host = ScoringHost(spec, init_timeout=self.init_timeout)
            try:
                host.start(on_wait, level)
            except BaseException:
                host.close()
                raise
            started = True
        self.hosts[spec] = host
        return host, started

    def close(self):
        while self.hosts:
            self.hosts.popitem()[1].close()
