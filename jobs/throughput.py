"""Live throughput and ETA of a job, from its mini-batches (started, finished, rows_out): plain Python.

A finished mini-batch's rows are spread evenly over its own run time, so a long mini-batch raises the rate of
every moment it ran, not only the moment it finished. The current rate is over the last RECENT mini-batches
(from the finish of the one before them to now, while the job runs), and the ETA is the rows still to score (the
remaining mini-batches times the mean rows of a finished one) at that rate.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from jobs.models import MiniBatch

BINS = 30
RECENT = 10
RUNS_WINDOW = timedelta(minutes=5)  # the Runs tab's sparklines: the last few minutes of each running job
WIDTH, HEIGHT = 240, 48


def per_second(rate: float) -> str:
    """'5.0 rows/s'; from 100 on, whole rows grouped in thousands: '1,370,807 rows/s'."""
    return f"{rate:,.0f} rows/s" if rate >= 100 else f"{rate:.1f} rows/s"


@dataclass(frozen=True)
class Span:
    """One finished mini-batch: when it ran and the rows it wrote."""

    started: datetime
    finished: datetime
    rows: int


@dataclass
class Throughput:
    rate: float | None = None  # rows/s now; once finished, while scoring (None before the first mini-batch)
    average: float | None = None  # rows/s over the whole run so far
    eta_seconds: float | None = None  # None once finished, or while nothing has finished yet
    series: list[float] = field(default_factory=list)  # rows/s per bin, oldest first
    bin_seconds: float = 0
    chart: dict | None = None  # what the SVG template draws

    @property
    def eta(self) -> str:
        return humanize(self.eta_seconds) if self.eta_seconds is not None else ""

    @property
    def steps(self) -> str:
        """The chart's description past its span, worked out here rather than by template filters (the Runs tab
        draws one chart per running job)."""
        now = f", now {per_second(self.rate)}" if self.rate else ""
        peak = self.chart["peak"] if self.chart else 0
        width = f"{self.bin_seconds:.0f}" if self.bin_seconds >= 10 else f"{self.bin_seconds:.2g}"  # not "0 s"
        return f"in {len(self.series)} steps of {width} s; peak {per_second(peak)}{now}"

    @property
    def axes(self) -> dict | None:
        """The job page's chart scale: its top in rows/s and the time it spans (it starts at 0 and the job's start)."""
        if not self.chart:
            return None
        total = len(self.series) * self.bin_seconds
        return {"top": per_second(self.chart["peak"]), "span": humanize(total) if total >= 60 else f"{total:.2g} s"}

    @property
    def rate_text(self) -> str:
        return per_second(self.rate) if self.rate else ""

    @property
    def average_text(self) -> str:
        return per_second(self.average) if self.average else ""

    @property
    def differs(self) -> bool:
        """The rate while scoring and the run's average read differently (start-up and queue time count)."""
        return bool(self.rate and self.average) and per_second(self.rate) != per_second(self.average)


def spans_of(rows) -> list[Span]:
    """Spans from (started, finished, rows_out) tuples, skipping mini-batches without times."""
    return [Span(s, f, r) for s, f, r in rows if s and f]


# The Completed mini-batches a job ran itself. A retry's reused mini-batches (Completed without an attempt of their
# own) ran in the first job, at its times: they are not part of this job's throughput.
RAN_HERE = Q(status=MiniBatch.COMPLETED) & ~(Q(attempts=0) & ~Q(staging=""))


def _ran_here(job_ids):
    return MiniBatch.objects.filter(RAN_HERE, job_id__in=job_ids)


def load(job_ids, since: datetime | None = None, in_progress: dict | None = None) -> dict[int, list[Span]]:
    """Finished mini-batches of these jobs, in ONE query, grouped by job (only those finished after since). With
    in_progress (a dict), the same query also fills it with the rows each job's running mini-batches have scored so
    far."""
    found = {job_id: [] for job_id in job_ids}
    if not found:
        return found
    done = Q(finished__isnull=False) & (Q(finished__gte=since) if since else Q())
    running = Q(status=MiniBatch.RUNNING, rows_so_far__gt=0) if in_progress is not None else Q(pk__in=[])
    batches = MiniBatch.objects.filter((RAN_HERE & done) | running, job_id__in=found)
    fields = ("job_id", "started", "finished", "rows_out", "status", "rows_so_far")
    for job_id, started, finished, rows, status, so_far in batches.values_list(*fields):
        if status == MiniBatch.RUNNING and in_progress is not None:
            in_progress[job_id] = in_progress.get(job_id, 0) + so_far
        elif finished is not None:
            found[job_id].extend(spans_of([(started, finished, rows)]))
    return found


def rows_ran(job_ids) -> dict[int, int]:
    """The rows each of these jobs scored itself (a retry's reused mini-batches left out), summed in ONE query: a
    page of jobs needs no more of a finished retry than its average."""
    if not job_ids:
        return {}
    rows = _ran_here(job_ids).order_by().values("job_id").annotate(rows=Sum("rows_out"))
    return {row["job_id"]: row["rows"] or 0 for row in rows}


def series(spans: list[Span], start: datetime, end: datetime, bins: int = BINS) -> tuple[list[float], float]:
    """rows/s in each of `bins` equal slices of [start, end], and the width of a slice in seconds."""
    total = (end - start).total_seconds()
    if total <= 0 or bins <= 0:
        return [], 0
    width = total / bins
    rows = [0.0] * bins
    for span in spans:
        run = max((span.finished - span.started).total_seconds(), 1e-6)
        a = (span.started - start).total_seconds()
        b = (span.finished - start).total_seconds()
        first, last = max(int(a // width), 0), min(int(b // width), bins - 1)
        for i in range(first, last + 1):
            overlap = min(b, (i + 1) * width) - max(a, i * width)
            if overlap > 0:
                rows[i] += span.rows * overlap / run
        if b <= a:  # an instantaneous mini-batch: all its rows at that moment
            rows[min(max(int(a // width), 0), bins - 1)] += span.rows
    return [r / width for r in rows], width


def current_rate(spans: list[Span], now: datetime, running: bool, recent: int = RECENT) -> float | None:
    """rows/s of the last `recent` mini-batches to finish: their rows over the time since the mini-batch before them
    finished (to now while the job runs, so a stall lowers the rate). Measured between finishes, it holds however
    many mini-batches run at once (from their starts, 8 at once read 10/18 of the rate). Until more than `recent`
    have finished: from the earliest start among them."""
    ordered = sorted(spans, key=lambda s: s.finished)
    last = ordered[-recent:]
    if not last:
        return None
    end = now if running else last[-1].finished
    since = ordered[-recent - 1].finished if len(ordered) > recent else min(s.started for s in last)
    seconds = (end - since).total_seconds()
    return sum(s.rows for s in last) / seconds if seconds > 0 else None


def eta_seconds(job, rate: float | None) -> float | None:
    """Seconds until the job's remaining mini-batches are scored at `rate`; None when finished or unknown."""
    if job.is_finished or not rate or not job.mini_batches_done:
        return None
    remaining = job.mini_batches_total - job.mini_batches_done - job.mini_batches_failed
    rows_per_batch = job.rows_out / job.mini_batches_done
    if remaining <= 0:
        return 0.0
    return remaining * rows_per_batch / rate


def humanize(seconds: float) -> str:
    """'less than 1 min'... '2 min', '1 h 5 min': an estimate, so never finer than a minute past one minute."""
    if seconds < 60:
        return f"{max(int(round(seconds)), 1)} s" if seconds >= 1 else "less than 1 s"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def average_rate(job, now: datetime, rows: int | None = None) -> float | None:
    """rows/s since the job started, from the job's own row (no query); a retry's from the rows of the
    mini-batches it ran (its rows_out counts the reused ones too, which took no time in it)."""
    rows = job.rows_out if rows is None else rows
    if not job.started or not rows:
        return None
    seconds = ((job.finished or now) - job.started).total_seconds()
    return rows / seconds if seconds > 0 else None


def scoring_rate(spans: list[Span]) -> float | None:
    """rows/s from the first mini-batch's start to the last one's finish: the rate while scoring, without the time
    before it (the queue, the scoring host's start-up and model load) or after it (joining the output)."""
    if not spans:
        return None
    seconds = (max(s.finished for s in spans) - min(s.started for s in spans)).total_seconds()
    return sum(s.rows for s in spans) / seconds if seconds > 0 else None


def chart(values: list[float], width: int = WIDTH, height: int = HEIGHT) -> dict | None:
    """Coordinates of a step line (rows/s over time) scaled to the SVG's box; None when there is nothing to draw."""
    if not values or not any(values):
        return None
    top = max(values)
    step = width / len(values)
    corners = []
    for i, value in enumerate(values):
        y = round(height - value / top * (height - 2), 1)
        corners += [(round(i * step, 1), y), (round((i + 1) * step, 1), y)]
    # a flat run needs only its two ends
    kept = [
        p
        for k, p in enumerate(corners)
        if k in (0, len(corners) - 1) or not corners[k - 1][1] == p[1] == corners[k + 1][1]
    ]
    points = [f"{x},{y}" for x, y in kept]
    return {
        "points": " ".join(points),
        "area": f"0,{height} " + " ".join(points) + f" {width},{height}",
        "peak": top,
        "width": width,
        "height": height,
    }


def measure(
    job, spans: list[Span], now: datetime | None = None, start: datetime | None = None, bins: int = BINS
) -> Throughput:
    """Everything the job page or the Runs tab shows about a job's throughput."""
    now = now or timezone.now()
    if not job.started:
        return Throughput()
    # While it runs, the chart ends at the last finished mini-batch: the rows of those still running are not known
    # yet, so the time after it would always read as a fall toward 0 (the current rate, to now, shows a stall).
    end = job.finished or max((span.finished for span in spans), default=now)
    values, width = series(spans, max(start or job.started, job.started), end, bins)
    ran = sum(span.rows for span in spans) if job.retry_of_id and start is None else None  # spans of the whole run
    average = average_rate(job, now, ran)
    if job.is_finished:
        rate = scoring_rate(spans) or average
        return Throughput(rate=rate, average=average, series=values, bin_seconds=width, chart=chart(values))
    rate = current_rate(spans, now, running=True)
    rate = average if rate is None else rate  # nothing finished in the window: the run's mean so far
    return Throughput(
        rate=rate,
        average=average,
        eta_seconds=eta_seconds(job, rate),
        series=values,
        bin_seconds=width,
        chart=chart(values),
    )


def annotate(jobs, now: datetime | None = None) -> None:
    """Sets job.throughput on each job of a page: running ones get their last minutes' chart and ETA from one
    query; finished ones only their average, from their own row (finished retries': the rows they ran, one query)."""
    now = now or timezone.now()
    jobs = list(jobs)
    since = now - RUNS_WINDOW
    running = {job.pk for job in jobs if not job.is_finished and job.started}
    in_progress = {}
    spans = load(running, since=since, in_progress=in_progress)
    retries = rows_ran([job.pk for job in jobs if job.is_finished and job.retry_of_id and job.started])
    for job in jobs:
        job.rows_so_far = in_progress.get(job.pk, 0)  # the Runs tab's "rows scored so far"
        if job.pk in running:
            job.throughput = measure(job, spans[job.pk], now, start=since, bins=BINS)
        else:
            average = average_rate(job, now, retries.get(job.pk, 0) if job.retry_of_id else None)
            job.throughput = Throughput(rate=average, average=average)
