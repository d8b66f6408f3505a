"""Roles and ownership: who created a job is shown, a Contributor cancels or retries only their own jobs (an Owner
anyone's) from the page, the API and the command line, a Reader sees but has no button to press, tokens act with
their user's role, and roles are assigned with `manage.py role` and in the admin."""

import importlib
import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from api.models import AccessToken
from jobs.models import BatchJob, Status
from workspace import roles

pytestmark = pytest.mark.django_db


def _job(endpoint, name, owner, status=Status.QUEUED):
    return BatchJob.objects.create(
        name=name,
        endpoint=endpoint,
        endpoint_name=endpoint.name,
        deployment=endpoint.default_deployment,
        deployment_name="blue",
        input_uri="azureml:iris:1",
        output_datastore="workspaceblobstore",
        output_path=f"jobs/{name}",
        status=status,
        created_by=owner,
    )


@pytest.fixture
def bob(make_user):
    return make_user(roles.CONTRIBUTOR, "bob")


@pytest.fixture
def alices_job(endpoint, user):
    return _job(endpoint, "alices-job", user)


def _as(client, person):
    client.force_login(person)
    return client


def test_a_contributor_cannot_cancel_another_users_job_on_its_page(client, bob, alices_job):
    response = _as(client, bob).post(f"/jobs/{alices_job.name}/cancel/")
    assert response.status_code == 403
    assert "alices-job was created by alice: as Contributor, you may cancel or retry only your own jobs" in (
        response.content.decode()
    )
    alices_job.refresh_from_db()
    assert alices_job.status == Status.QUEUED
    retry = client.post(f"/jobs/{alices_job.name}/retry/")
    assert retry.status_code == 403 and not BatchJob.objects.filter(retry_of=alices_job).exists()


def test_a_contributor_cancels_their_own_job_and_an_owner_anyones(client, bob, user, endpoint, alices_job):
    bobs = _job(endpoint, "bobs-job", bob)
    assert _as(client, bob).post(f"/jobs/{bobs.name}/cancel/").status_code == 302
    assert _as(client, user).post(f"/jobs/{alices_job.name}/cancel/").status_code == 302
    bobs.refresh_from_db()
    alices_job.refresh_from_db()
    assert bobs.status != Status.QUEUED and alices_job.status != Status.QUEUED  # Canceled (or being canceled)


def test_the_api_refuses_a_contributors_token_another_users_job(client, bob, alices_job):
    _, secret = AccessToken.issue(bob, "ci")
    headers = {"Authorization": f"Bearer {secret}"}
    for action in ("cancel", "retry"):
        response = client.post(f"/api/v1/jobs/{alices_job.name}/{action}", headers=headers)
        assert response.status_code == 403, action
        assert response.json()["error"]["code"] == "forbidden"
        assert "created by alice" in response.json()["error"]["message"]
    alices_job.refresh_from_db()
    assert alices_job.status == Status.QUEUED
    assert client.get(f"/api/v1/jobs/{alices_job.name}", headers=headers).status_code == 200  # seen, not touched


def test_a_command_acts_as_STUDIO_USER_or_else_as_the_operator(monkeypatch, bob, alices_job):
    monkeypatch.setenv("STUDIO_USER", "bob")
    with pytest.raises(CommandError, match="bob: alices-job was created by alice"):
        call_command("job", "cancel", "-n", alices_job.name)
    with pytest.raises(CommandError, match="As Contributor, you may not do this: it needs the Owner role"):
        call_command("role", "assign", "--user", "bob", "--role", "Owner")
    alices_job.refresh_from_db()
    assert alices_job.status == Status.QUEUED
    monkeypatch.setenv("STUDIO_USER", "nobody-here")
    with pytest.raises(CommandError, match="STUDIO_USER=nobody-here: there is no active user of that name"):
        call_command("job", "show", "-n", alices_job.name)
    monkeypatch.delenv("STUDIO_USER")
    call_command("job", "cancel", "-n", alices_job.name)  # the operator: an Owner
    alices_job.refresh_from_db()
    assert alices_job.status != Status.QUEUED


def test_what_a_command_submits_is_created_by_STUDIO_USER(monkeypatch, make_user, endpoint, demo_data):
    make_user(roles.DATA_SCIENTIST, "dora")
    monkeypatch.setenv("STUDIO_USER", "dora")
    call_command("batch_endpoint", "invoke", "-n", endpoint.name, "--input", demo_data)
    assert BatchJob.objects.get().created_by.username == "dora"
    monkeypatch.setenv("STUDIO_USER", "")
    call_command("batch_endpoint", "invoke", "-n", endpoint.name, "--input", demo_data)
    assert BatchJob.objects.filter(created_by=None).count() == 1  # the operator


def test_a_reader_sees_the_job_and_who_created_it_but_no_button_to_press(client, make_user, endpoint, alices_job):
    failed = _job(endpoint, "failed-job", alices_job.created_by, status=Status.FAILED)
    _as(client, make_user(roles.READER, "rita"))
    page = client.get(f"/jobs/{alices_job.name}/").content.decode()
    assert "<dt>Created by</dt><dd>alice</dd>" in page
    assert f'action="/jobs/{alices_job.name}/cancel/"' not in page
    failed_page = client.get(f"/jobs/{failed.name}/").content.decode()
    assert "Retry failed" not in failed_page and "Retry with another error threshold" not in failed_page
    for listing in ("/jobs/", f"/endpoints/{endpoint.name}/runs/", "/"):
        html = client.get(listing).content.decode()
        assert "<th>Created by</th>" in html and "<td>alice</td>" in html, listing
        assert "Retry failed" not in html, listing
    endpoint_page = client.get(f"/endpoints/{endpoint.name}/").content.decode()
    for button in ("+ Create job", "+ Add deployment", "Update default deployment", "Compare deployments", "Delete"):
        assert button not in endpoint_page, button
    assert "+ Register datastore" not in client.get("/data/").content.decode()
    assert "+ Register" not in client.get("/models/").content.decode()
    assert "rita (Reader)" in endpoint_page
    assert client.post(f"/jobs/{alices_job.name}/cancel/").status_code == 403


def test_a_contributor_is_offered_cancel_and_retry_only_on_their_own_jobs(client, bob, endpoint, alices_job):
    bobs = _job(endpoint, "bobs-failed", bob, status=Status.FAILED)
    alices_failed = _job(endpoint, "alices-failed", alices_job.created_by, status=Status.FAILED)
    _as(client, bob)
    assert 'action="/jobs/alices-job/cancel/"' not in client.get("/jobs/alices-job/").content.decode()
    jobs_page = client.get("/jobs/").content.decode()
    assert f'aria-label="Retry failed: {bobs.name}"' in jobs_page
    assert f'aria-label="Retry failed: {alices_failed.name}"' not in jobs_page
    own = _job(endpoint, "bobs-queued", bob)
    assert f'action="/jobs/{own.name}/cancel/"' in client.get(f"/jobs/{own.name}/").content.decode()
    endpoint_page = client.get(f"/endpoints/{endpoint.name}/").content.decode()
    assert "+ Create job" in endpoint_page and "+ Add deployment" in endpoint_page  # a Contributor's buttons
    assert "+ Register datastore" not in client.get("/data/").content.decode()  # an Owner's


def test_a_user_with_no_role_is_told_so_and_sees_nothing(client, make_user, endpoint):
    _as(client, make_user("", "nora"))
    for page in ("/", "/jobs/", f"/endpoints/{endpoint.name}/"):
        response = client.get(page)
        assert response.status_code == 403, page
        assert "Your account has no role in this Studio: ask an Owner to assign one" in response.content.decode()
    assert "nora (no role)" in client.get("/").content.decode()


def test_a_token_acts_with_its_users_role(client, make_user, endpoint, demo_data):
    _, secret = AccessToken.issue(make_user(roles.READER, "rita"), "dashboards")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/endpoints", headers=headers).status_code == 200
    invoke = {"properties": {"InputData": {"input_data": {"JobInputType": "UriFolder", "Uri": demo_data}}}}
    response = client.post(
        f"/api/v1/endpoints/{endpoint.name}/jobs", json.dumps(invoke), content_type="application/json", headers=headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("As Reader, you may not do this: it needs the Owner or")
    assert not BatchJob.objects.exists()


def test_role_assign_list_and_remove(capsys, make_user):
    carol = make_user("", "carol")
    call_command("role", "assign", "--user", "carol", "--role", "data-scientist")
    assert roles.role_of(carol) == roles.DATA_SCIENTIST
    call_command("role", "assign", "--user", "carol", "--role", "Contributor")  # replaces the role
    assert roles.role_of(carol) == roles.CONTRIBUTOR and carol.groups.count() == 1
    capsys.readouterr()
    call_command("role", "list", "--role", "contributor")
    assert json.loads(capsys.readouterr().out) == [{"user": "carol", "role": "Contributor", "superuser": False}]
    call_command("role", "remove", "--user", "carol")
    assert roles.role_of(carol) == ""
    with pytest.raises(CommandError, match="'Boss' is not a role: use one of Owner, Contributor, Data scientist"):
        call_command("role", "assign", "--user", "carol", "--role", "Boss")


def test_every_action_of_every_command_has_a_rule():
    from django.core.management import get_commands, load_command_class

    from cli.base import AzCommand

    commands = {name: load_command_class(app, name) for name, app in get_commands().items() if app == "cli"}
    az = {name: cmd for name, cmd in commands.items() if isinstance(cmd, AzCommand)}
    assert {"job", "batch_endpoint", "schedule", "role"} <= set(az)
    assert {name: sorted(set(cmd.actions) - set(cmd.rules)) for name, cmd in az.items()} == {n: [] for n in az}


def test_the_first_admin_is_an_owner_and_a_superuser_counts_as_one(monkeypatch, django_user_model):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "an-admin-pass-1")
    call_command("ensure_admin")
    admin = django_user_model.objects.get(username="admin")
    assert admin.groups.filter(name=roles.OWNER).exists() and roles.role_of(admin) == roles.OWNER
    root = django_user_model.objects.create_superuser("root", password="x-pass-123!")
    assert roles.role_of(root) == roles.OWNER and roles.can(root, roles.MANAGE_USERS)


def test_the_migration_makes_the_four_roles_with_their_actions():
    from django.apps import apps

    migration = importlib.import_module("workspace.migrations.0004_roles")
    Group.objects.filter(name__in=roles.ROLES).delete()  # as before it ran (a test's flush empties them too)
    migration.create_roles(apps, None)
    migration.create_roles(apps, None)  # twice: the same four
    assert Group.objects.filter(name__in=roles.ROLES).count() == 4
    for role, actions in roles.RULES.items():
        group = Group.objects.get(name=role)
        assert {p.codename for p in group.permissions.filter(content_type__model="role")} == actions, role
    assert Group.objects.get(name=roles.READER).permissions.count() == 1


def test_an_owner_manages_users_in_the_admin_and_a_contributor_cannot(client, make_user, bob):
    owner = make_user(roles.OWNER, "olga")
    assert owner.is_staff and not owner.is_superuser
    users = _as(client, owner).get("/admin/auth/user/")
    assert users.status_code == 200
    assert '<td class="field-role">Contributor</td>' in users.content.decode()
    assert client.get(f"/admin/auth/user/{bob.pk}/change/").status_code == 200
    roles_page = client.get("/admin/studio/role/").content.decode()
    assert "bob" in roles_page and "olga" in roles_page
    assert _as(client, bob).get("/admin/auth/user/").status_code == 302  # to the admin's sign-in: not staff
