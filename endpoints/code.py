"""Scoring code snapshots: a deployment's code folder is copied once, named by its content hash,
so that editing the original later never changes what a deployment runs.

The folder comes from the command line (Azure's `code_configuration.code`, a folder beside the YAML) or from the
browser: the scoring script alone, several files of the folder, or a .zip of it. A zip's entries are checked
before anything is written: no absolute path, no '..', no link, and a size limit on what it unpacks to."""

import hashlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError

IGNORED = ("__pycache__", "*.pyc", "__MACOSX", ".DS_Store")


def code_root() -> Path:
    return Path(settings.STUDIO_HOME) / "code"


def _files(folder: Path):
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for file in _files(folder):
        h.update(str(file.relative_to(folder)).encode())
        h.update(file.read_bytes())
    return h.hexdigest()[:16]


def check_script(folder: Path, scoring_script: str) -> str:
    """The scoring script as a path inside the folder (src/score.py): a .py file that is there."""
    script = scoring_script.strip().replace("\\", "/")
    parts = PurePosixPath(script).parts
    if not script.endswith(".py") or script.startswith("/") or ".." in parts:
        raise ValidationError(
            "The scoring script must be a .py file inside the code folder, such as score.py or src/score.py.",
            code="scoring_script_not_python",
        )
    if not (Path(folder) / script).is_file():
        raise ValidationError(
            "The scoring script '%(script)s' is not in the code folder.",
            code="scoring_script_missing",
            params={"script": script},
        )
    return script


def store_code(folder: Path, scoring_script: str) -> str:
    """Snapshot `folder`; returns the snapshot's path. The scoring script must be in it."""
    folder = Path(folder)
    check_script(folder, scoring_script)
    target = code_root() / _digest(folder)
    if not target.exists():
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(folder, tmp, ignore=shutil.ignore_patterns(*IGNORED))
        tmp.rename(target)
    return str(target)


def _too_big():
    return ValidationError(
        "The code unpacks to more than %(mb)d MB: upload the scoring code only (the model is registered apart).",
        code="code_too_big",
        params={"mb": settings.CODE_UPLOAD_MAX_BYTES // (1024 * 1024)},
    )


def _entry_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or ":" in (path.parts[0] if path.parts else "") or ".." in path.parts:
        raise ValidationError(
            "The zip's entry '%(entry)s' points outside the code folder (an absolute path or '..'): refused.",
            code="zip_entry_outside",
            params={"entry": name},
        )
    return path


def _unzip(upload, root: Path) -> Path:
    """Unpack an uploaded zip into root, entry by entry, checked first; returns the code folder (a zip of one
    folder, as a right-click "Compress" makes it, is that folder)."""
    try:
        archive = zipfile.ZipFile(upload)
    except zipfile.BadZipFile as exc:
        raise ValidationError("'%(name)s' is not a zip file.", code="not_a_zip", params={"name": upload.name}) from exc
    entries = [e for e in archive.infolist() if not e.is_dir() and not e.filename.startswith("__MACOSX/")]
    paths = [_entry_path(e.filename) for e in entries]
    for entry in entries:
        if (entry.external_attr >> 16) & 0o170000 == 0o120000:
            raise ValidationError(
                "The zip's entry '%(entry)s' is a link: refused.",
                code="zip_entry_link",
                params={"entry": entry.filename},
            )
    if len(entries) > settings.CODE_UPLOAD_MAX_FILES:
        raise ValidationError(
            "The zip has %(n)d files; a code folder may have %(max)d.",
            code="code_too_many_files",
            params={"n": len(entries), "max": settings.CODE_UPLOAD_MAX_FILES},
        )
    if sum(e.file_size for e in entries) > settings.CODE_UPLOAD_MAX_BYTES:
        raise _too_big()
    written = 0
    for entry, path in zip(entries, paths):
        target = root.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(entry) as source, open(target, "wb") as sink:
            while chunk := source.read(1024 * 1024):  # the sizes a zip declares can lie: count what comes out
                written += len(chunk)
                if written > settings.CODE_UPLOAD_MAX_BYTES:
                    raise _too_big()
                sink.write(chunk)
    top = [p for p in root.iterdir() if p.name not in IGNORED]
    return top[0] if len(top) == 1 and top[0].is_dir() else root


def _default_script(folder: Path) -> str:
    """The scoring script when none is named: the only .py file at the top of the folder, else score.py."""
    scripts = sorted(p.name for p in folder.glob("*.py"))
    if len(scripts) == 1:
        return scripts[0]
    if "score.py" in scripts:
        return "score.py"
    raise ValidationError(
        "Name the scoring script: the code has %(scripts)s.",
        code="scoring_script_ambiguous",
        params={"scripts": ", ".join(scripts) or "no .py file at its top"},
    )


def store_upload(uploads: list, scoring_script: str = "") -> tuple[str, str]:
    """Snapshot code uploaded in the browser: one .zip of the folder, or files (the scoring script alone, or with
    the modules it imports). Returns (snapshot path, scoring script inside it)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if len(uploads) == 1 and uploads[0].name.lower().endswith(".zip"):
            folder = _unzip(uploads[0], root)
        else:
            if not any(u.name.endswith(".py") for u in uploads):
                raise ValidationError(
                    "Upload a Python file (.py), the files of the code folder, or a .zip of it.",
                    code="scoring_script_not_python",
                )
            folder, written = root, 0
            for upload in uploads:
                name = Path(upload.name).name
                if not name or name in (".", ".."):
                    raise ValidationError("A file without a name cannot be stored.", code="bad_file_name")
                written += upload.size or 0
                if written > settings.CODE_UPLOAD_MAX_BYTES:
                    raise _too_big()
                with open(root / name, "wb") as sink:
                    for chunk in upload.chunks():
                        sink.write(chunk)
        script = check_script(folder, scoring_script) if scoring_script.strip() else _default_script(folder)
        return store_code(folder, script), script


@dataclass(frozen=True)
class Entry:
    """A line of a code folder's tree: a folder or a file, at its depth."""

    path: str
    name: str
    depth: int
    is_folder: bool
    is_script: bool
    size: int


TREE_MAX = 200  # lines a deployment's page shows


def tree(code_path: str, scoring_script: str = "") -> list[Entry]:
    """The code folder's folders and files in order, folders first at each level, for its page."""
    root = Path(code_path) if code_path else None
    if root is None or not root.is_dir():
        return []
    entries = []

    def walk(folder: Path, depth: int):
        children = sorted(
            (p for p in folder.iterdir() if p.name not in ("__pycache__",)), key=lambda p: (p.is_file(), p.name)
        )
        for child in children:
            if len(entries) >= TREE_MAX:
                return
            rel = child.relative_to(root).as_posix()
            entries.append(
                Entry(
                    rel,
                    child.name,
                    depth,
                    child.is_dir(),
                    rel == scoring_script,
                    0 if child.is_dir() else child.stat().st_size,
                )
            )
            if child.is_dir():
                walk(child, depth + 1)

    walk(root, 0)
    return entries
