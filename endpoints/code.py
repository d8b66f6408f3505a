"""Scoring code snapshots: a deployment's code folder is copied once, named by its content hash,
so that editing the original later never changes what a deployment runs."""

import hashlib
import shutil
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError


def code_root() -> Path:
    return Path(settings.STUDIO_HOME) / "code"


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(file.relative_to(folder)).encode())
        h.update(file.read_bytes())
    return h.hexdigest()[:16]


def store_code(folder: Path, scoring_script: str) -> str:
    """Snapshot `folder`; returns the snapshot's path. The scoring script must be in it."""
    folder = Path(folder)
    if not (folder / scoring_script).is_file():
        raise ValidationError(
            "The scoring script '%(script)s' is not in the code folder.",
            code="scoring_script_missing",
            params={"script": scoring_script},
        )
    target = code_root() / _digest(folder)
    if not target.exists():
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(folder, tmp, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        tmp.rename(target)
    return str(target)


def store_script(name: str, content: bytes) -> str:
    """Snapshot a single uploaded scoring script (the browser's upload)."""
    import tempfile

    if not name.endswith(".py") or "/" in name or "\\" in name:
        raise ValidationError("Upload a Python file (.py).", code="scoring_script_not_python")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / name).write_bytes(content)
        return store_code(Path(tmp), name)
