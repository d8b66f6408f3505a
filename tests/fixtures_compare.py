"""Fixtures of the Compare deployments tests: a second registered model, different from the demo one."""

import tempfile
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def forest_model(studio_home):
    """A random forest on the iris data (the demo model is a logistic regression): registered in the real registry."""
    from studio import demo, registry

    with tempfile.TemporaryDirectory() as tmp:
        demo.train_iris(Path(tmp) / "model", kind="forest")
        return registry.register_folder("iris-forest", Path(tmp) / "model")


@pytest.fixture
def forest_deployment(endpoint, forest_model):
    from endpoints.models import BatchDeployment

    return BatchDeployment.objects.create(endpoint=endpoint, name="green", model_name=forest_model.name,
                                          model_version=forest_model.version, mini_batch_size=5)
