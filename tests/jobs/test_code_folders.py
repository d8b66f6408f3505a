"""A deployment's code is a folder, as Azure's code_configuration.code: uploaded as a .zip or as several files, the
scoring script chosen inside it, its helper modules imported by the engine; a zip's entries checked first."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from endpoints import code
from endpoints.models import BatchDeployment
from jobs.models import Status
from jobs.submit import submit_job
from tests.fixtures.engine import drive, output_frame

SCORE = b"""import os

import pandas as pd
from labels import name_of  # a helper module of the code folder
from lib.rounding import rounded  # and one in a package of it


def init():
    pass


def run(mini_batch):
    frames = [pd.DataFrame({"file": [os.path.basename(p)], "label": [name_of(rounded(1.2))]}) for p in mini_batch]
    return pd.concat(frames)
"""
LABELS = b'NAMES = {1: "versicolor"}\n\n\ndef name_of(i):\n    return NAMES[i]\n'
ROUNDING = b"def rounded(x):\n    return round(x)\n"


def zipped(entries: dict, folder: str = "") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(folder + name, content)
    return SimpleUploadedFile("code.zip", buffer.getvalue(), content_type="application/zip")


CODE = {"score.py": SCORE, "labels.py": LABELS, "lib/__init__.py": b"", "lib/rounding.py": ROUNDING}


@pytest.mark.django_db
def test_the_engine_imports_the_helper_modules_of_an_uploaded_code_folder(endpoint, demo_data):
    path, script = code.store_upload([zipped(CODE, folder="iris-code/")])  # a zip of one folder is that folder
    assert script == "score.py" and sorted(p.name for p in Path(path).iterdir()) == ["labels.py", "lib", "score.py"]
    default = endpoint.default_deployment
    BatchDeployment.objects.create(
        endpoint=endpoint,
        name="folder",
        model_name=default.model_name,
        model_version=default.model_version,
        code_path=path,
        scoring_script=script,
        mini_batch_size=10,
    )
    job = drive(submit_job(endpoint, input_uri=demo_data, deployment_name="folder"))
    assert job.status == Status.COMPLETED, job.error
    assert set(output_frame(job)["label"]) == {"versicolor"}


def test_several_files_make_a_flat_folder_and_the_script_is_named_in_it(studio_home):
    files = [SimpleUploadedFile("batch_driver.py", SCORE), SimpleUploadedFile("labels.py", LABELS)]
    with pytest.raises(ValidationError, match="Name the scoring script: the code has batch_driver.py, labels.py"):
        code.store_upload(files)
    for f in files:
        f.seek(0)
    path, script = code.store_upload(files, "batch_driver.py")
    assert script == "batch_driver.py" and (Path(path) / "labels.py").read_bytes() == LABELS


def test_a_script_in_a_subfolder_is_found_by_its_path(studio_home):
    _, script = code.store_upload(
        [zipped({"src/score.py": SCORE, "src/labels.py": LABELS, "README.md": b"x"})], "src/score.py"
    )
    assert script == "src/score.py"
    with pytest.raises(ValidationError, match="'src/other.py' is not in the code folder"):
        code.store_upload([zipped({"src/score.py": SCORE})], "src/other.py")


@pytest.mark.parametrize(
    "entry", ["../evil.py", "/etc/cron.d/evil.py", "lib/../../evil.py", "C:/evil.py", "..\\evil.py"]
)
def test_a_zip_entry_outside_the_folder_is_refused_before_anything_is_written(studio_home, tmp_path, entry):
    with pytest.raises(ValidationError, match="points outside the code folder"):
        code.store_upload([zipped({"score.py": SCORE, entry: b"import os"})])
    assert not (tmp_path.parent / "evil.py").exists()


def test_a_zip_that_unpacks_too_big_is_refused(studio_home, settings):
    settings.CODE_UPLOAD_MAX_BYTES = 1024 * 1024
    bomb = zipped({"score.py": SCORE, "weights.bin": b"\0" * (2 * 1024 * 1024)})  # compresses to a few KB
    assert bomb.size < 64 * 1024
    with pytest.raises(ValidationError, match="unpacks to more than 1 MB"):
        code.store_upload([bomb])


def test_a_file_that_is_not_a_zip_is_said_so(studio_home):
    with pytest.raises(ValidationError, match="'code.zip' is not a zip file"):
        code.store_upload([SimpleUploadedFile("code.zip", b"not a zip")])


def test_the_tree_lists_folders_first_and_marks_the_scoring_script(studio_home):
    path, script = code.store_upload([zipped(CODE)])
    lines = [("  " * e.depth) + e.name + (" *" if e.is_script else "") for e in code.tree(path, script)]
    assert lines == ["lib", "  __init__.py", "  rounding.py", "labels.py", "score.py *"]
