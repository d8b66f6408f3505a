"""Bad-record isolation: when a file's rows fail to score together, halve them until every good row is
scored and only the rows that fail on their own are set aside, each with its error.

`score` takes the rows (a DataFrame) and a function that scores some of them (raising on failure). It tries
all rows first; a failing chunk is split in two and each half tried on its own, down to single rows. A budget
of scoring calls per file bounds the cost when most rows fail (a broken model, not bad rows): once it is spent,
the file fails as a whole, as it would without isolation, as soon as it has set aside as many rows as it
scored. Dirty data (a few dozen bad rows in thousands, which cost more calls than the budget) goes on to the end,
unless it runs past `until` (a time.monotonic() value: the scoring host stops at half the mini-batch's timeout,
so that a file too dirty to isolate in time fails alone, not its whole mini-batch).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

BUDGET = 256  # calls per file before one failing on most rows gives up; k bad rows in n need about 2·k·log2(n/k)


@dataclass
class RowError:
    row: int
    kind: str
    message: str


@dataclass
class Isolated:
    frames: list = field(default_factory=list)  # scored chunks, in row order
    bad: list = field(default_factory=list)  # RowError per set-aside row, in row order
    calls: int = 0

    @property
    def frame(self) -> pd.DataFrame | None:
        return concat(self.frames)


def concat(frames: list) -> pd.DataFrame | None:
    """The frames one after the other (None for none); one frame is returned as it is, without a copy."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True) if frames else None


class GaveUp(Exception):
    """Isolation ran out of budget or time: the caller fails the file with `first`, the whole file's error, and
    says why isolation stopped (`why`)."""

    def __init__(self, first: Exception, why: str = ""):
        super().__init__(str(first))
        self.first, self.why = first, why


def _describe(exc: Exception) -> tuple[str, str]:
    kind = getattr(exc, "kind", None) or type(exc).__name__
    return kind, getattr(exc, "message", None) or str(exc)


def score(
    rows: pd.DataFrame,
    score_chunk: Callable[[pd.DataFrame], pd.DataFrame],
    budget: int = BUDGET,
    until: float | None = None,
) -> Isolated:
    """Score `rows` (their index: the row numbers) chunk by chunk; returns the scored frames and the bad rows.
    The first call scores all rows: a file without bad rows costs one call, as before."""
    result = Isolated()
    pending = [rows]
    first_error, scored = None, 0
    while pending:
        chunk = pending.pop(0)
        mostly_bad = result.calls >= budget and len(result.bad) >= scored
        late = first_error is not None and until is not None and time.monotonic() > until
        if mostly_bad or late:
            why = (
                f"most rows fail: {len(result.bad)} set aside, {scored} scored"
                if mostly_bad
                else f"stopped at half the scoring timeout after setting aside {len(result.bad)} rows"
            )
            raise GaveUp(first_error, why)
        result.calls += 1
        try:
            result.frames.append(score_chunk(chunk))
            scored += len(chunk)
            continue
        except Exception as exc:  # the model's or the schema's error for these rows
            if len(chunk) == 1:
                result.bad.append(RowError(int(chunk.index[0]), *_describe(exc)))
                continue
            first_error = first_error or exc
        middle = len(chunk) // 2
        pending[:0] = [chunk.iloc[:middle], chunk.iloc[middle:]]  # depth first keeps the output in row order
    return result
