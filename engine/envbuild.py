"""Building isolated Python environments for scoring hosts: one venv per content hash, reused.

An environment is layered over the workers' own packages (a .pth file appends the Studio's site-packages
after the environment's own): whatever the requirements pin is installed into the environment and wins,
everything else (pandas, mlflow, the engine's own needs) comes from the Studio, so a model's usual
requirements build in seconds and offline when the Studio already has them.
"""

import hashlib
import os
import shutil
import site
import subprocess
import sys
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


def pip_section(conda_yaml: str) -> str:
    """The pip requirements of a conda environment YAML (its `dependencies: - pip: [...]`)."""
    import yaml

    data = yaml.safe_load(conda_yaml) or {}
    for dep in data.get("dependencies", []):
        if isinstance(dep, dict) and "pip" in dep:
            return "\n".join(dep["pip"])
    return ""


def _run(cmd: list[str], log: list[str]) -> bool:
    log.append("$ " + " ".join(cmd))
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
    except subprocess.TimeoutExpired:
        log.append(f"timed out after {BUILD_TIMEOUT} s")
        return False
    log.extend(part for part in (done.stdout.strip(), done.stderr.strip()) if part)
    return done.returncode == 0


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


def build(root: Path, requirements: str) -> BuildResult:
    """The environment for these requirements under root/<hash>, built now unless it already is."""
    target = Path(root) / content_hash(requirements)
    if python_of(target).exists():
        return BuildResult(True, python_of(target), f"Reused the environment built at {target}.")
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    log: list[str] = []
    lines = normalise(requirements)
    ok = _run([sys.executable, "-m", "venv", "--without-pip", str(tmp)], log)
    if ok:
        _layer_over_studio(tmp)
        (tmp / "requirements.txt").write_text("\n".join(lines) + "\n")
    if ok and lines:
        ok = _run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(python_of(tmp)),
                "install",
                "--no-input",
                "-r",
                str(tmp / "requirements.txt"),
            ],
            log,
        )
    if not ok:
        shutil.rmtree(tmp, ignore_errors=True)
        return BuildResult(False, None, "\n".join(log))
    try:
        tmp.rename(target)
    except OSError:  # another worker built the same hash meanwhile: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
    log.append(f"Built {target}.")
    return BuildResult(True, python_of(target), "\n".join(log))
