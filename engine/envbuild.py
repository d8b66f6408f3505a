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

import yaml

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


class CondaFileError(ValueError):
    """A conda file whose dependencies cannot become pip requirements. line: the 1-based line of the dependency in
    the file (None when unknown); index: its place in `dependencies:` (for a file inline in another YAML)."""

    def __init__(self, reason: str, line: int | None = None, index: int | None = None):
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.reason, self.line, self.index = reason, line, index


# Conda packages whose pip name differs (conda-forge's names for the same project).
CONDA_TO_PIP_NAMES = {"pytorch": "torch", "py-xgboost": "xgboost", "py-lightgbm": "lightgbm"}
CONDA_NOTE = "# from conda: "  # how a requirement mapped from a conda dependency says so (build logs show it)
_CONDA_NAME = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<spec>.*)$")
_CONDA_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+!_-]*?(?:\.?\*)?$")
_PIP_DEP = re.compile(r"^pip(?![\w.-])", re.IGNORECASE)


def conda_to_pip(dependency: str) -> str:
    """The pip requirement a conda dependency means: `numpy` → `numpy`, `numpy=1.26` (conda's "1.26.*") →
    `numpy==1.26.*`, `numpy==1.26.4` and `numpy>=1.2,<2` as they are, `pytorch=2.1` → `torch==2.1.*`.
    ValueError (the reason) for what pip cannot install: a channel (`conda-forge::x`), a build string
    (`numpy=1.26=py39_0`), conda's `name version` or bracket forms, alternatives (`|`)."""
    from packaging.requirements import InvalidRequirement, Requirement

    text = dependency.strip()
    if "::" in text:
        channel, _, package = text.partition("::")
        raise ValueError(
            f"'{text}' asks for conda channel {channel}: Batch Studio installs packages with pip from the "
            f"package index, not from conda channels. List it under pip: (e.g. - pip: [{package.split('=')[0]}]), "
            f"or remove it."
        )
    match = _CONDA_NAME.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a conda package name.")
    name, spec = CONDA_TO_PIP_NAMES.get(match["name"].lower(), match["name"]), match["spec"].strip()
    how = f"write it as {match['name']}=<version> or list its pip requirement under pip:"
    if any(c in spec for c in "[]|") or (spec and spec[0] not in "=<>!~"):
        raise ValueError(f"'{text}' uses a conda-only version form pip cannot read: {how}.")
    if spec.startswith("=") and not spec.startswith("=="):
        version = spec[1:].strip()
        if "=" in version:
            raise ValueError(f"'{text}' pins a conda build string, which pip does not know: {how}.")
        if not _CONDA_VERSION.match(version):
            raise ValueError(f"'{text}' is not a version pip can read: {how}.")
        spec = f"=={version.removesuffix('*').removesuffix('.')}.*"
    requirement = f"{name}{spec.replace(' ', '')}"
    try:
        Requirement(requirement)
    except InvalidRequirement as exc:
        raise ValueError(f"'{text}' is not a version pip can read ({exc}): {how}.") from exc
    return requirement


@dataclass
class CondaPackages:
    """What a conda file asks for: its pip requirements (those mapped from conda dependencies first, each noted
    with the conda line it came from), its python pin, and the (conda dependency, pip requirement) pairs."""

    lines: list[str]
    python: str | None
    mapped: list[tuple[str, str]]

    @property
    def requirements(self) -> str:
        return "\n".join(self.lines)


def conda_packages(conda_yaml: str) -> CondaPackages:
    """Read a conda environment file. Its pip section is kept as is; `python` is the pin (python_problem checks
    it) and `pip` the builder's own; every other dependency is mapped to pip (conda_to_pip) or refused
    (CondaFileError, with its line). yaml.YAMLError for a file that is not YAML."""
    node = yaml.compose(conda_yaml or "", Loader=yaml.SafeLoader)
    data = yaml.safe_load(conda_yaml or "")
    if data is None:
        return CondaPackages([], None, [])
    if not isinstance(data, dict):
        raise CondaFileError("a conda file is a mapping (name:, channels:, dependencies:), not a list or a value.")
    items = data.get("dependencies") or []
    if not isinstance(items, list):
        raise CondaFileError("'dependencies' must be a list.", _line_of(node))
    lines_of = _item_lines(node)
    conda, pip, mapped, python = [], [], [], None
    for index, dep in enumerate(items):
        line = lines_of[index] if index < len(lines_of) else None
        if isinstance(dep, dict) and set(dep) == {"pip"} and isinstance(dep["pip"], list | type(None)):
            pip += [str(requirement) for requirement in dep["pip"] or []]
            continue
        if not isinstance(dep, str | int | float) or isinstance(dep, bool):
            raise CondaFileError(
                f"each dependency is a package (numpy=1.26) or the pip: list, not {dep!r}.",
                line,
                index,
            )
        dep = str(dep).strip()
        if (found := _PYTHON_DEP.match(dep)) and python is None:
            python = found["spec"].strip()
        elif not _PIP_DEP.match(dep):
            try:
                requirement = conda_to_pip(dep)
            except ValueError as exc:
                raise CondaFileError(str(exc), line, index) from exc
            mapped.append((dep, requirement))
            conda.append(f"{requirement}  {CONDA_NOTE}{dep}")
    return CondaPackages(conda + pip, python, mapped)


def _dependencies_node(node):
    """The key and value nodes of a conda file's `dependencies:` (None, None without one)."""
    for key_node, value_node in node.value if isinstance(node, yaml.MappingNode) else []:
        if key_node.value == "dependencies":
            return key_node, value_node
    return None, None


def _line_of(node) -> int | None:
    key_node, _ = _dependencies_node(node)
    return key_node.start_mark.line + 1 if key_node is not None else None


def _item_lines(node) -> list[int]:
    """The line of each item of a conda file's `dependencies:` list."""
    _, value_node = _dependencies_node(node)
    return [item.start_mark.line + 1 for item in value_node.value] if isinstance(value_node, yaml.SequenceNode) else []


def pip_section(conda_yaml: str) -> str:
    """The pip requirements a conda environment YAML comes to: its `dependencies: - pip: [...]`, after its other
    dependencies mapped to pip (conda_packages); CondaFileError (a ValueError) for one pip cannot install."""
    return conda_packages(conda_yaml).requirements


def conda_mappings(requirements: str) -> list[tuple[str, str]]:
    """The (conda dependency, pip requirement) pairs noted in requirements made from a conda file."""
    pairs = []
    for raw in (requirements or "").splitlines():
        requirement, sep, conda = raw.partition(CONDA_NOTE)
        if sep:
            pairs.append((conda.strip(), requirement.split("#", 1)[0].strip()))
    return pairs


def _conda_dependencies(conda_yaml: str) -> list:
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
    on_line = on_line or (lambda line: None)
    log = [f"From the conda file: {conda} is installed as pip's {pip}" for conda, pip in conda_mappings(requirements)]
    for line in log:
        on_line(line)
    if python_of(target).exists():
        return BuildResult(True, python_of(target), "\n".join([*log, f"Reused the environment built at {target}."]))
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    Path(root).mkdir(parents=True, exist_ok=True)
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
