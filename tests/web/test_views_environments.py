"""The Environments pages: the list, an environment's state and build log, Build again after a failure."""

import pytest
from django_q.models import OrmQ

from jobs import tasks
from jobs.models import Environment

pytestmark = pytest.mark.django_db


def test_the_list_shows_the_workers_own_environment_and_the_others(signed_in):
    Environment.objects.create(name="sk-env", requirements="scikit-learn==1.5.2", state=Environment.FAILED)
    page = signed_in.get("/environments/").content.decode()
    assert 'href="/environments/studio/1/"' in page and "the workers' own packages" in page
    assert 'href="/environments/sk-env/1/"' in page and "scikit-learn==1.5.2" in page
    assert '<span aria-hidden="true" class="icon">✕</span>Failed' in page  # an icon and the word, not colour alone


def test_a_building_environment_page_refreshes_until_it_is_done(signed_in, endpoint):
    env = Environment.objects.create(name="slow", requirements="six", state=Environment.BUILDING)
    endpoint.deployments.update(environment="slow:1")
    page = signed_in.get(env.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s"' in page and "This page refreshes until it is done" in page
    assert f'href="/endpoints/{endpoint.name}/"' in page  # the deployments using it


def test_a_failed_environment_says_why_and_can_be_built_again(signed_in):
    env = Environment.objects.create(
        name="flaky",
        requirements="six>=1.0",
        state=Environment.FAILED,
        build_log="ERROR: Could not find a version (the index was unreachable)",
    )
    page = signed_in.get(env.get_absolute_url()).content.decode()
    assert "ERROR: Could not find a version" in page and "Build again" in page and "hx-trigger" not in page
    response = signed_in.post(f"{env.get_absolute_url()}rebuild/")
    assert response["Location"] == env.get_absolute_url()
    env.refresh_from_db()
    assert env.state == Environment.BUILDING
    assert [task.name() for task in OrmQ.objects.all()] == ["build environment flaky:1"]
    tasks.build_environment(env.pk)
    env.refresh_from_db()
    assert env.state == Environment.READY, env.build_log


def test_only_a_failed_environment_is_built_again(signed_in):
    env = Environment.objects.create(name="fine", requirements="six", state=Environment.READY)
    signed_in.post(f"{env.get_absolute_url()}rebuild/")
    env.refresh_from_db()
    assert env.state == Environment.READY and not OrmQ.objects.exists()
    # a visit (the sign-in page sends back there): the environment's page, not a bare 405
    visit = signed_in.get(f"{env.get_absolute_url()}rebuild/", follow=True)
    assert visit.redirect_chain == [(env.get_absolute_url(), 302)]
    assert "Nothing was done: press Build again on this page to do it." in visit.content.decode()
