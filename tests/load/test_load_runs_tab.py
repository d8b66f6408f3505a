"""A Runs tab (and /jobs/, Home) over 10 000 jobs costs the same SQL queries as over five: no query per row, no
query that grows with the jobs. How long the pages take is measured by `make bench` (tests/load/bench_pages.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import BatchJob
from tests.load.bench_pages import PAGES, add_jobs


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES.values(), ids=PAGES.keys())
def test_the_first_page_costs_the_same_queries_for_5_or_10000_jobs(
    signed_in, endpoint, page, django_assert_num_queries
):
    url = page.format(name=endpoint.name)
    add_jobs(endpoint, 5)  # one of each status
    with CaptureQueriesContext(connection) as few:  # a page of 5 rows
        assert signed_in.get(url).status_code == 200
    add_jobs(endpoint, 10_000 - 5, start=5)
    assert BatchJob.objects.count() == 10_000
    with django_assert_num_queries(len(few.captured_queries)):  # a full page of 25, 10 000 jobs: the same count
        assert signed_in.get(url).status_code == 200
