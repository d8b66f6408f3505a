import io
import zipfile
from pathlib import Path

from workspace import demo


def _zip_model(tmp_path) -> io.BytesIO:
    folder = demo.train_iris(tmp_path / "model")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in Path(folder).rglob("*"):
            archive.write(file, Path("model") / file.relative_to(folder))
    buffer.seek(0)
    buffer.name = "model.zip"
    return buffer


def test_models_page_lists_registered_models(signed_in, demo_model):
    response = signed_in.get("/models/")
    assert demo_model.name in response.content.decode()


def test_model_detail_shows_flavor_signature_and_deploy(signed_in, demo_model):
    response = signed_in.get(f"/models/{demo_model.name}/{demo_model.version}/")
    body = response.content.decode()
    assert "MLflow" in body and "sepal length (cm)" in body and "Deploy to batch endpoint" in body


def test_it_registers_an_uploaded_zip(signed_in, tmp_path, studio_home):
    response = signed_in.post("/models/register/", {"name": "uploaded-iris", "model_zip": _zip_model(tmp_path)})
    assert response.status_code == 302
    assert response["Location"].startswith("/models/uploaded-iris/")
    assert "sepal width (cm)" in signed_in.get(response["Location"]).content.decode()


def test_it_refuses_zip_slip(signed_in):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil/MLmodel", "x")
    buffer.seek(0)
    buffer.name = "evil.zip"
    response = signed_in.post("/models/register/", {"name": "evil", "model_zip": buffer})
    assert "points outside the model folder" in response.content.decode()


def test_it_refuses_a_zip_without_mlmodel(signed_in):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model/readme.txt", "x")
    buffer.seek(0)
    buffer.name = "x.zip"
    response = signed_in.post("/models/register/", {"name": "nomodel", "model_zip": buffer})
    assert "no MLmodel file" in response.content.decode()


def test_it_registers_a_custom_model_file(signed_in, tmp_path):
    from tests.fixtures.ui import joblib_model_file

    path = joblib_model_file(tmp_path)
    with open(path, "rb") as fh:
        response = signed_in.post("/models/register/", {"name": "joblib-iris", "model_type": "custom", "model_zip": fh})
    assert response["Location"] == "/models/joblib-iris/1/"
    body = signed_in.get(response["Location"]).content.decode()
    assert "<dt>Type</dt><dd>Custom</dd>" in body
    assert "<dt>Flavors</dt><dd>—</dd>" in body  # none: not a blank value
    from workspace import registry

    folder = registry.download("joblib-iris", "1", tmp_path / "download")
    assert (folder / "model.joblib").read_bytes() == path.read_bytes()


def test_a_custom_model_zip_is_unpacked(signed_in, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("weights/model.pkl", b"not really a pickle")
    buffer.seek(0)
    buffer.name = "folder.zip"
    response = signed_in.post(
        "/models/register/", {"name": "zipped-custom", "model_type": "custom", "model_zip": buffer}
    )
    assert response.status_code == 302
    from workspace import registry

    assert (registry.download("zipped-custom", "1", tmp_path / "dl") / "weights" / "model.pkl").is_file()


def test_an_mlflow_model_must_be_a_zip(signed_in):
    upload = io.BytesIO(b"x")
    upload.name = "model.pkl"
    response = signed_in.post("/models/register/", {"name": "loose", "model_type": "mlflow", "model_zip": upload})
    assert "For a single model file choose Model type Custom" in response.content.decode()


def test_the_models_list_has_a_type_column(signed_in, demo_model, tmp_path):
    from tests.fixtures.ui import joblib_model_file

    with open(joblib_model_file(tmp_path), "rb") as fh:
        signed_in.post("/models/register/", {"name": "joblib-list", "model_type": "custom", "model_zip": fh})
    page = signed_in.get("/models/").content.decode()
    assert "<th>Type</th>" in page
    assert f"{demo_model.name}</a></td><td>MLflow</td>" in page
    assert "joblib-list</a></td><td>Custom</td>" in page
