"""Fixtures of the Compare deployments tests: a second registered model, different from the demo one."""

import tempfile
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def forest_model(studio_home):
    """A random forest on the iris data (the demo model is a logistic regression): registered in the real registry."""
    from workspace import demo, registry

    with tempfile.TemporaryDirectory() as tmp:
        demo.train_iris(Path(tmp) / "model", kind="forest")
        return registry.register_folder("iris-forest", Path(tmp) / "model")


@pytest.fixture
def forest_deployment(endpoint, forest_model):
    from endpoints.models import BatchDeployment

    return BatchDeployment.objects.create(
        endpoint=endpoint,
        name="green",
        model_name=forest_model.name,
        model_version=forest_model.version,
        mini_batch_size=5,
    )


@pytest.fixture(scope="session")
def diabetes_models(studio_home):
    """Two regressors on sklearn's diabetes data (a linear model and a forest), registered in the real registry."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    from workspace import registry

    X, y = load_diabetes(as_frame=True, return_X_y=True)
    registered = []
    forest = RandomForestRegressor(n_estimators=10, random_state=0)
    models = (("diabetes-linear", LinearRegression()), ("diabetes-forest", forest))
    for name, model in models:
        model.fit(X, y)
        with tempfile.TemporaryDirectory() as tmp:
            mlflow.sklearn.save_model(
                model,
                str(Path(tmp) / "model"),
                signature=infer_signature(X, model.predict(X)),
                serialization_format="cloudpickle",
            )
            registered.append(registry.register_folder(name, Path(tmp) / "model"))
    return registered


@pytest.fixture
def regressor_endpoint(db, diabetes_models):
    """Endpoint diabetes-endpoint: linear (default) and forest; its input, the diabetes data in 3 files, diabetes/."""
    from sklearn.datasets import load_diabetes

    from endpoints.models import BatchDeployment, BatchEndpoint
    from workspace.models import Datastore

    linear, forest = diabetes_models
    ep = BatchEndpoint.objects.create(name="diabetes-endpoint")
    default = BatchDeployment.objects.create(
        endpoint=ep, name="linear", model_name=linear.name, model_version=linear.version, mini_batch_size=2
    )
    BatchDeployment.objects.create(
        endpoint=ep, name="forest", model_name=forest.name, model_version=forest.version, mini_batch_size=2
    )
    ep.set_default(default)
    X = load_diabetes(as_frame=True).data
    store = Datastore.get_default().client()
    for i in range(3):
        store.write(f"diabetes/d{i}.csv", X.iloc[i * 150 : (i + 1) * 150].to_csv(index=False).encode())
    return ep
