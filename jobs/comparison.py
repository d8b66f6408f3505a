"""Compare deployments: the same input scored by the default deployment (baseline) and by a candidate.

start() submits the two jobs and records a Comparison; when both complete, compute() (a django-q2 task) streams
both outputs side by side (memory stays flat: counters, running sums and a bounded heap) and stores the report:
agreement rate, a confusion matrix for classifiers, the distribution of differences for regressors, and the
rows that differ most. Plain Python: the views only start comparisons and read reports.
"""

import heapq
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from engine import reading
from jobs import queue
from jobs.models import BatchJob, Comparison
from jobs.results import Prediction, read_predictions
from jobs.submit import submit_job

log = logging.getLogger(__name__)
MAX_CLASSES = 20  # more distinct labels than this: no confusion matrix (numbers then count as a regression)
TOP_ROWS = 20  # the rows that differ most, kept in the report
BINS = 20  # bars of the differences histogram
REL_TOL, ABS_TOL = 1e-6, 1e-9  # two numbers this close agree
RESEND_AFTER = timedelta(minutes=10)  # a report Computing for longer: its task is sent again


# ---- starting and following a comparison ----------------------------------------------------------------------


def start(endpoint, *, input_uri: str, candidate: str, user=None) -> Comparison:
    """Submit the input to the default deployment and to the candidate; both jobs are ordinary jobs."""
    default = endpoint.default_deployment
    if default is None:
        raise ValidationError(
            "%(endpoint)s has no default deployment to compare with.",
            code="no_default_deployment",
            params={"endpoint": endpoint.name},
        )
    other = endpoint.resolve_deployment(candidate)
    if other.pk == default.pk:
        raise ValidationError(
            "Choose a deployment other than the default (%(name)s): a deployment compared with itself always agrees.",
            code="candidate_is_default",
            params={"name": default.name},
        )
    for deployment in (default, other):
        if not deployment.effective_settings()["output_file_name"]:
            raise ValidationError(
                "Deployment %(name)s writes no output file (output action summary_only): there are "
                "no predictions to compare.",
                code="no_output_file",
                params={"name": deployment.name},
            )
    with transaction.atomic():
        baseline = submit_job(endpoint, input_uri=input_uri, deployment_name=default.name, user=user)
        candidate_job = submit_job(endpoint, input_uri=input_uri, deployment_name=other.name, user=user)
        return Comparison.objects.create(
            endpoint=endpoint,
            endpoint_name=endpoint.name,
            input_uri=baseline.input_uri,
            baseline=baseline,
            candidate=candidate_job,
            created_by=user,
        )


def refresh(comparison: Comparison) -> Comparison:
    """Settle a waiting comparison from its jobs: queue the report once both completed, fail it if one did not."""
    if comparison.state == Comparison.COMPUTING:
        resend_if_lost(comparison)
    if comparison.state != Comparison.WAITING:
        return comparison
    jobs = {job.pk: job for job in BatchJob.objects.filter(pk__in=[comparison.baseline_id, comparison.candidate_id])}
    baseline, candidate = jobs.get(comparison.baseline_id), jobs.get(comparison.candidate_id)
    ended = [job for job in (baseline, candidate) if job.is_finished and not job.succeeded]
    if ended:
        job = ended[0]
        _fail(
            comparison,
            f"The job on {job.deployment_name} ended {job.status}: {job.error or 'see its page'}",
            Comparison.WAITING,
        )
    elif baseline.succeeded and candidate.succeeded:  # Completed, or Completed with errors
        if Comparison.objects.filter(pk=comparison.pk, state=Comparison.WAITING).update(
            state=Comparison.COMPUTING, report=_queued_now()
        ):
            transaction.on_commit(lambda: queue.compare_later(comparison, candidate))
    comparison.refresh_from_db()
    return comparison


def _queued_now() -> dict:
    """While Computing, the report holds only when its task was sent."""
    return {"queued_at": timezone.now().isoformat()}


def resend_if_lost(comparison: Comparison) -> bool:
    """A report still Computing long after its task was sent (the broker lost it, a worker died mid-way): send it
    again. compute() is safe to run twice (the same report is stored)."""
    queued = (comparison.report or {}).get("queued_at")
    if comparison.state != Comparison.COMPUTING or not queued:
        return False
    if timezone.now() - datetime.fromisoformat(queued) < RESEND_AFTER:
        return False
    if not Comparison.objects.filter(pk=comparison.pk, state=Comparison.COMPUTING, report__queued_at=queued).update(
        report=_queued_now()
    ):
        return False  # another request sent it again just now
    queue.compare_later(comparison, comparison.candidate)
    comparison.refresh_from_db()
    return True


def on_job_finished(sender=None, job=None, **kwargs):
    """A job ended (the receiver of jobs.signals.job_finished): the comparisons waiting on it may now be computed."""
    for comparison in Comparison.objects.filter(
        Q(baseline_id=job.pk) | Q(candidate_id=job.pk), state=Comparison.WAITING
    ):
        refresh(comparison)


def _fail(comparison, reason, state):
    Comparison.objects.filter(pk=comparison.pk, state=state).update(
        state=Comparison.FAILED, error=reason, finished=timezone.now()
    )


def compute(comparison_id: int):
    """The task: stream both outputs and store the report."""
    comparison = Comparison.objects.select_related("baseline", "candidate").filter(pk=comparison_id).first()
    if comparison is None or comparison.state != Comparison.COMPUTING:
        return
    try:
        report = build_report(comparison.baseline, comparison.candidate)
    except Exception as exc:  # an unreadable output: the comparison says why
        log.exception("comparison %s failed", comparison_id)
        _fail(comparison, f"The report could not be computed: {exc}", Comparison.COMPUTING)
        return
    Comparison.objects.filter(pk=comparison.pk, state=Comparison.COMPUTING).update(
        state=Comparison.COMPLETED, report=report, finished=timezone.now()
    )


# ---- the report -------------------------------------------------------------------------------------------------


def build_report(baseline: BatchJob, candidate: BatchJob) -> dict:
    order = file_order(baseline)
    first = Tally()
    first.add_all(align(read_predictions(baseline), read_predictions(candidate), order))
    report = first.report()
    if report["kind"] == "regressor" and first.compared:
        # a second pass, streamed again, now that the range of the differences is known
        counts = histogram(
            first.differences(align(read_predictions(baseline), read_predictions(candidate), order)),
            first.low,
            first.high,
        )
        report["differences"]["histogram"] = {"edges": edges(first.low, first.high), "counts": counts}
    return report


def file_order(job) -> dict[str, int]:
    """Each input file's position, from the job's mini-batches (both jobs scored the same list in this order)."""
    order = {}
    for files in job.mini_batches.order_by("index").values_list("files", flat=True):
        for entry in files:  # a range of a split file (split_rows): its file
            order.setdefault(reading.file_path(entry).rsplit("/", 1)[-1], len(order))
    return order


def _row_number(row: str):
    try:
        return int(row)
    except ValueError:
        return row


def align(base: Iterable[Prediction], cand: Iterable[Prediction], order: dict[str, int]) -> Iterator:
    """Pairs (baseline, candidate) of the same file and row, both streams being in input order; a row present in
    only one output (its file failed in the other job) comes as (prediction, None) or (None, prediction)."""

    def key(p):
        return order.get(p.file, len(order)), p.file, _row_number(p.row)

    base, cand = iter(base), iter(cand)
    a, b = next(base, None), next(cand, None)
    while a is not None or b is not None:
        if b is None or (a is not None and key(a) < key(b)):
            yield a, None
            a = next(base, None)
        elif a is None or key(b) < key(a):
            yield None, b
            b = next(cand, None)
        else:
            yield a, b
            a, b = next(base, None), next(cand, None)


def number(value: str):
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def agree(a: str, b: str) -> bool:
    x, y = number(a), number(b)
    if x is not None and y is not None:
        return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def label(value: str) -> str:
    """A class label: 1 and 1.0 are the same class."""
    x = number(value)
    return str(int(x)) if x is not None and x.is_integer() else value


class Tally:
    """One pass over aligned pairs: counts, a confusion matrix while labels are few, running sums of the
    differences (Welford), their range, and the rows that differ most (bounded)."""

    def __init__(self):
        self.compared = self.agreed = self.only_baseline = self.only_candidate = 0
        self.pairs: Counter | None = Counter()
        self.labels: set[str] = set()
        self.numeric = self.integral = True
        self.mean = self.m2 = self.abs_sum = 0.0
        self.low, self.high = math.inf, -math.inf
        self.first: list = []  # the first rows that differ (classifiers: every difference weighs the same)
        self.largest: list = []  # a heap of the largest differences (regressors)

    def add_all(self, pairs):
        for a, b in pairs:
            self.add(a, b)

    def add(self, a: Prediction | None, b: Prediction | None):
        if a is None or b is None:
            if a is None:
                self.only_candidate += 1
            else:
                self.only_baseline += 1
            return
        self.compared += 1
        same = agree(a.value, b.value)
        self.agreed += same
        self._count_labels(a.value, b.value)
        x, y = number(a.value), number(b.value)
        if x is None or y is None:
            self.numeric = False
            difference = None
        else:
            self.integral = self.integral and x.is_integer() and y.is_integer()
            difference = y - x
            self._add_difference(difference)
        if not same:
            row = (a.file, a.row, a.value, b.value, difference)
            if len(self.first) < TOP_ROWS:
                self.first.append(row)
            if difference is not None:
                item = (abs(difference), -self.compared, row)
                (heapq.heappush if len(self.largest) < TOP_ROWS else heapq.heappushpop)(self.largest, item)

    def _count_labels(self, a, b):
        if self.pairs is None:
            return
        pair = (label(a), label(b))
        self.labels.update(pair)
        if len(self.labels) > MAX_CLASSES:
            self.pairs = None  # too many classes for a matrix
        else:
            self.pairs[pair] += 1

    def _add_difference(self, d):
        n = self.compared
        delta = d - self.mean
        self.mean += delta / n
        self.m2 += delta * (d - self.mean)
        self.abs_sum += abs(d)
        self.low, self.high = min(self.low, d), max(self.high, d)

    def differences(self, pairs) -> Iterator[float]:
        for a, b in pairs:
            if a is not None and b is not None:
                yield number(b.value) - number(a.value)

    @property
    def kind(self) -> str:
        if self.numeric and self.compared and not (self.integral and self.pairs is not None):
            return "regressor"
        return "classifier"

    def report(self) -> dict:
        kind = self.kind
        report = {
            "kind": kind,
            "compared": self.compared,
            "agreed": self.agreed,
            "agreement": self.agreed / self.compared if self.compared else None,
            "only_baseline": self.only_baseline,
            "only_candidate": self.only_candidate,
            "matrix": matrix(self.pairs) if kind == "classifier" and self.pairs is not None else None,
            "differences": None,
            "top": [
                {"file": f, "row": r, "baseline": a, "candidate": b, "difference": d}
                for f, r, a, b, d in (
                    [row for *_, row in sorted(self.largest, reverse=True)] if kind == "regressor" else self.first
                )
            ],
        }
        if kind == "regressor":
            n = self.compared
            report["differences"] = {
                "mean": self.mean,
                "std": math.sqrt(self.m2 / n) if n else 0.0,
                "mean_abs": self.abs_sum / n if n else 0.0,
                "min": self.low,
                "max": self.high,
            }
        return report


def _label_key(value: str):
    x = number(value)
    return (0, x, "") if x is not None else (1, 0.0, value)


def matrix(pairs: Counter) -> dict:
    """Rows: the baseline's label; columns: the candidate's."""
    labels = sorted({label for pair in pairs for label in pair}, key=_label_key)
    return {"labels": labels, "counts": [[pairs.get((a, b), 0) for b in labels] for a in labels]}


def edges(low: float, high: float, bins: int = BINS) -> list[float]:
    if high <= low:
        return [low, high]
    width = (high - low) / bins
    return [low + i * width for i in range(bins)] + [high]


def histogram(values: Iterable[float], low: float, high: float, bins: int = BINS) -> list[int]:
    """Counts of values in `bins` equal bins over [low, high] (the last bin includes high); one bin if low == high."""
    if high <= low:
        return [sum(1 for _ in values)]
    counts = [0] * bins
    width = (high - low) / bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return counts


def histogram_chart(counts: list[int], width: int = 480, height: int = 160) -> list[dict]:
    """Bars of the SVG histogram, scaled to the box."""
    top = max(counts, default=0) or 1
    step = width / max(len(counts), 1)
    return [
        {
            "x": round(i * step + 1, 1),
            "width": round(step - 2, 1),
            "y": round(height - c / top * height, 1),
            "height": round(c / top * height, 1),
            "count": c,
        }
        for i, c in enumerate(counts)
    ]


def histogram_axis(low: float, high: float, counts: list[int], width: int = 480) -> dict:
    """The histogram's axis: its ends, where 0 falls (when well inside: its label would cover an end's), and the
    tallest bar's count."""
    span = high - low
    zero = round(-low / span * width, 1) if span and low < 0 < high else None
    zero = zero if zero is not None and 0.1 * width < zero < 0.9 * width else None
    return {"low": low, "high": high, "zero_x": zero, "peak": max(counts, default=0)}


def display(report: dict) -> dict:
    """What the report page draws from a stored report: the agreement in %, the matrix's rows, the bars."""
    matrix_ = report.get("matrix")
    differences = report.get("differences") or {}
    hist = differences.get("histogram")
    return {
        "agreement_percent": 100 * report["agreement"] if report.get("agreement") is not None else None,
        "matrix_rows": [
            {"label": name, "cells": [{"count": count, "diagonal": i == j} for j, count in enumerate(row)]}
            for i, (name, row) in enumerate(zip(matrix_["labels"], matrix_["counts"]))
        ]
        if matrix_
        else [],
        "histogram": histogram_chart(hist["counts"]) if hist else None,
        "histogram_axis": histogram_axis(differences["min"], differences["max"], hist["counts"]) if hist else None,
    }
