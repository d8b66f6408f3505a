import pytest

from endpoints.models import BatchEndpoint


@pytest.fixture
def form_data(demo_model):
    return {"endpoint_name": "iris-batch", "description": "d", "model": demo_model.label, "deployment_name": "blue",
            "compute": "cpu-cluster", "instance_count": 1, "mini_batch_size": 10}


def test_it_creates_an_endpoint_with_a_default_deployment(signed_in, form_data):
    response = signed_in.post("/endpoints/create/", form_data)
    assert response.status_code == 302
    endpoint = BatchEndpoint.objects.get(name="iris-batch")
    assert response["Location"] == "/endpoints/iris-batch/"
    assert endpoint.default_deployment.name == "blue"
    assert endpoint.default_deployment.mini_batch_size == 10
    assert endpoint.default_deployment.timeout == 30


@pytest.mark.parametrize("name,message", [
    ("ab", "3 to 32 characters"),
    ("1abc", "Start with a letter"),
    ("abc-", "end with a letter or digit"),
    ("a" * 33, "at most 32 characters"),
    ("has_underscore", "letters, digits and"),
])
def test_it_refuses_names_outside_azures_rules(signed_in, form_data, name, message):
    form_data["endpoint_name"] = name
    response = signed_in.post("/endpoints/create/", form_data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BatchEndpoint.objects.exists()


def test_names_are_unique(signed_in, form_data, endpoint):
    form_data["endpoint_name"] = endpoint.name
    response = signed_in.post("/endpoints/create/", form_data)
    assert "already exists" in response.content.decode()


def test_the_model_is_preselected_from_the_model_page(signed_in, demo_model):
    response = signed_in.get(f"/endpoints/create/?model={demo_model.label}")
    assert f'<option value="{demo_model.label}" selected>' in response.content.decode()
