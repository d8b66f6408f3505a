"""Building isolated Python environments for scoring hosts: one venv per content hash, reused.

An environment is layered over the workers' own packages (a .pth file appends the Studio's site-packages
after the environment's own): whatever the requirements pin is installed into the environment and wins,
everything else (pandas, mlflow, the engine's own needs) comes from the Studio, so a model's usual
requirements build in seconds and offline when the Studio already has them.
"""

import hashlib
import os
import platform
import re
import shutil
import site
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BUILD_TIMEOUT = 1800


@dataclass
class BuildResult:
    ok: bool
    python: Path | None
    log: str


def normalise(requirements: str) -> list[str]:
    """The requirement lines that matter: comments, blanks and the conda-only 'python' pin dropped."""
    lines = []
    for raw in (requirements or "").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.lower().startswith("python=") and not line.lower().startswith("python "):
            lines.append(line)
    return lines


def content_hash(requirements: str) -> str:
    text = "\n".join(sorted(normalise(requirements)))
    stamp = f"{sys.version_info.major}.{sys.version_info.minor}\n{text}"
    return hashlib.sha256(stamp.encode()).hexdigest()[:20]


def python_of(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def log_path(root: Path, requirements: str) -> Path:
    """Where the build log of these requirements is written (and stays, when the build fails)."""
    return Path(root) / f"{content_hash(requirements)}.build.log"


# --- what a conda file or a requirements list asks of this machine --------------------------------------------


def pip_section(conda_yaml: str) -> str:
    """The pip requirements of a conda environment YAML (its `dependencies: - pip: [...]`)."""
    for dep in _conda_dependencies(conda_yaml):
        if isinstance(dep, dict) and "pip" in dep:
            return "\n".join(dep["pip"])
    return ""


def _conda_dependencies(conda_yaml: str) -> list:
    import yaml

    data = yaml.safe_load(conda_yaml) or {}
    return (data.get("dependencies") if isinstance(data, dict) else None) or []


_PYTHON_DEP = re.compile(r"^python(?![\w.-])\s*(?P<spec>.*)$", re.IGNORECASE)


def conda_python(conda_yaml: str) -> str | None:
    """The python pin of a conda file's dependencies ("=3.8" of `- python=3.8`, "" of a bare `- python`); None
    without one."""
    for dep in _conda_dependencies(conda_yaml):
        match = _PYTHON_DEP.match(dep.strip()) if isinstance(dep, str) else None
        if match:
            return match["spec"].strip()
    return None


def python_problem(pin: str | None, where: str = "The conda file") -> str:
    """Why this machine cannot give an environment the Python a pin asks for; "" when it can. Environments are
    venvs of the workers' own Python (layered over its packages), so the pin must hold for that Python. Conda's
    `python=3.8` means 3.8.*; a full `3.11.4` is read as 3.11 (a patch release changes no package); `>=3.9,<3.12`
    and the like are read as specifiers."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    spec = (pin or "").replace(" ", "").removesuffix(".*")
    if not spec:
        return ""
    running = platform.python_version()
    shown = f"python{pin}" if pin[:1] in "=<>!~" else f"python {pin}"
    if spec.lstrip("=")[:1].isdigit() and not spec.startswith("=="):
        wanted = spec.lstrip("=").split(".")[:2]
        if running.split(".")[: len(wanted)] == wanted:
            return ""
    else:
        try:
            if Version(running) in SpecifierSet(spec.replace("=<", "<=").replace("=>", ">=")):
                return ""
        except InvalidSpecifier:
            return f"{where} pins {shown}, which is not a Python version or version range."
        if spec.startswith("==") and running.split(".")[:2] == spec[2:].split(".")[:2]:
            return ""  # ==3.11.4 on 3.11.7: the same minor version
    minor = ".".join(running.split(".")[:2])
    return (
        f"{where} pins {shown}, but this machine cannot provide it: environments are built on the workers' own "
        f"Python {running} (a venv over their packages), and no other Python is installed for them. "
        f"Pin python={minor}, or remove the pin."
    )


def unsatisfied(requirements: str) -> list[str]:
    """The requirement lines the running Python's own packages do not satisfy; every line naming a file or URL,
    carrying pip options or not readable as a requirement. Empty: nothing would be installed, no build is needed."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    missing = []
    for line in normalise(requirements):
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            missing.append(line)
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            installed = None
        if requirement.url or installed is None or not requirement.specifier.contains(installed, prereleases=True):
            missing.append(line)
    return missing


_SUBPROCESS_OUTPUT = re.compile(r"╰─> \[\d+ lines? of output\]\n(?P<body>.*?)\n\s*\[end of output\]", re.DOTALL)


def failure_summary(log: str, limit: int = 1500) -> str:
    """What went wrong, from a build log: the last lines of each failed subprocess's output (what pip's "See above
    for details" points at: a setup.py's or a compiler's error), then pip's own ERROR lines; else the log's end."""
    found = []
    for match in _SUBPROCESS_OUTPUT.finditer(log or ""):
        found += [line.strip() for line in match["body"].splitlines() if line.strip()][-3:]
    found += [line.strip() for line in (log or "").splitlines() if line.startswith("ERROR")]
    text = " ".join(dict.fromkeys(found)) or " ".join((log or "").strip().splitlines()[-3:])
    return text if len(text) <= limit else "…" + text[-limit:]


# --- building -------------------------------------------------------------------------------------------------


def _run(cmd: list[str], log: list[str], on_line: Callable[[str], None]) -> bool:
    """Run cmd; its output (stdout and stderr as they interleave) goes to log, and to on_line, line by line."""
    log.append("$ " + " ".join(cmd))
    on_line(log[-1])
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"},
    )
    timed_out = threading.Event()
    timer = threading.Timer(BUILD_TIMEOUT, lambda: (timed_out.set(), proc.kill()))
    timer.start()
    try:
        for line in proc.stdout:
            log.append(line.rstrip("\n"))
            on_line(log[-1])
        proc.wait()
    finally:
        timer.cancel()
    if timed_out.is_set():
        log.append(f"timed out after {BUILD_TIMEOUT} s")
    return proc.returncode == 0


def _layer_over_studio(env_dir: Path):
    python = python_of(env_dir)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    paths = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(purelib, "_batch_studio_base.pth").write_text("\n".join(paths) + "\n")


def build(root: Path, requirements: str, on_line: Callable[[str], None] | None = None) -> BuildResult:
    """The environment for these requirements under root/<hash>, built now unless it already is. on_line(line) gets
    each line of the build's output as it comes (progress); the whole log is also kept in log_path(root, ...)."""
    target = Path(root) / content_hash(requirements)
    if python_of(target).exists():
        return BuildResult(True, python_of(target), f"Reused the environment built at {target}.")
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    Path(root).mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    on_line = on_line or (lambda line: None)
    lines = normalise(requirements)
    ok = _run([sys.executable, "-m", "venv", "--without-pip", str(tmp)], log, on_line)
    if ok:
        _layer_over_studio(tmp)
        (tmp / "requirements.txt").write_text("\n".join(lines) + "\n")
    if ok and lines:
        pip = [sys.executable, "-m", "pip", "--python", str(python_of(tmp)), "install", "--no-input"]
        ok = _run([*pip, "-r", str(tmp / "requirements.txt")], log, on_line)
    if ok:
        try:
            tmp.rename(target)
        except OSError:  # another worker built the same hash meanwhile: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
        log.append(f"Built {target}.")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(log)
    log_path(root, requirements).write_text(text + "\n")
    return BuildResult(ok, python_of(target) if ok else None, text)
