"""Claiming a mini-batch is safe with many workers at once, on SQLite and on PostgreSQL: each attempt is
taken by exactly one worker (the claim is one conditional UPDATE; the database serialises it)."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from jobs.models import MiniBatch
from jobs.submit import submit_job
from tests.fixtures.distributed import record

WORKERS, ROUNDS = 8, 20


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_racing_workers_claim_each_mini_batch_once(endpoint, demo_data):
    dep = endpoint.default_deployment
    dep.mini_batch_size = 1
    dep.save()
    job = submit_job(endpoint, input_uri=demo_data)
    batches = list(job.mini_batches.all())
    assert len(batches) == 5
    wins, errors, lock = Counter(), [], threading.Lock()

    def race(worker, barrier):
        try:
            barrier.wait()
            for mb in batches:
                if mb.claim(f"host:{worker}", 60):
                    with lock:
                        wins[mb.pk] += 1
        except Exception as exc:  # a claim must never fail with a lock error either
            errors.append(repr(exc))
        finally:
            connections.close_all()

    doubles = 0
    for _ in range(ROUNDS):
        wins.clear()
        MiniBatch.objects.filter(job=job).update(status=MiniBatch.QUEUED, worker="")
        barrier = threading.Barrier(WORKERS)
        threads = [threading.Thread(target=race, args=(w, barrier)) for w in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(wins.values()) == [1] * len(batches), wins
        doubles += sum(v - 1 for v in wins.values())
    assert set(MiniBatch.objects.filter(job=job).values_list("attempts", flat=True)) == {ROUNDS}
    record(
        "claim_race",
        {
            "db": connection.vendor,
            "workers": WORKERS,
            "rounds": ROUNDS,
            "claims": ROUNDS * len(batches),
            "double_claims": doubles,
            "errors": len(errors),
        },
    )
