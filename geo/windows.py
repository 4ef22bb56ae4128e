"""Time windows of the hotspot statistics: complete, cycle-aware and coverage-aware.

Rule (documented in docs/early-warning.md)
------------------------------------------
- **Complete.** Every window ends at the last whole hour at or before the View's end
  (``floor_hour``): the current window and each baseline window then hold the same elapsed length,
  aligned to the same minute, and all are summed from whole hours. The price is up to 59 minutes
  of latency; the partial hour is never compared with complete ones.
- **Cycle-aware.** Baseline window i ends ``i * step`` before the current window's end. The step
  follows the setting ``cycle``: ``daily`` (same hours on previous days: step 1 day), ``weekly``
  (same hours on the same weekday: 7 days), ``adjacent`` (the windows just before: step = length),
  or ``auto`` (default): daily for windows shorter than a day, adjacent otherwise. A window that is
  longer than the cycle's period falls back to adjacent windows.
- **Coverage-aware.** A baseline window that starts before the data's coverage is *missing*, not
  zero. Only covered windows enter the baseline mean, the categories and the trend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from geo.errors import InvalidView

CYCLES: tuple[str, ...] = ("auto", "daily", "weekly", "adjacent")
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class WindowSpan:
    """One window [start, end): index 0 is the current window, 1..N the baselines (1 most recent)."""

    index: int
    start: datetime
    end: datetime
    covered: bool

    def __deepcopy__(self, memo: dict[int, object]) -> WindowSpan:
        """Return self: a span is immutable (pandas deep-copies ``attrs`` on every operation)."""
        return self

    def to_json(self) -> dict[str, object]:
        """Return the span with ISO-8601 UTC times."""
        return {
            "window": self.index,
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "end": self.end.isoformat().replace("+00:00", "Z"),
            "covered": self.covered,
        }


def floor_hour(when: datetime) -> datetime:
    """Return ``when`` rounded down to the whole hour."""
    return when.replace(minute=0, second=0, microsecond=0)


def baseline_step(length: timedelta, cycle: str = "auto") -> timedelta:
    """Return how far apart consecutive windows end: a day, a week, or the window length (adjacent)."""
    if cycle not in CYCLES:
        raise InvalidView(f"baseline cycle must be one of {', '.join(CYCLES)}, got {cycle!r}")
    if length <= timedelta(0):
        raise InvalidView("a window needs a positive length")
    period = {"auto": DAY, "daily": DAY, "weekly": WEEK, "adjacent": length}[cycle]
    if cycle == "auto" and length >= DAY:
        period = length
    return period if length <= period else length


def window_spans(
    end: datetime, length: timedelta, step: timedelta, baselines: int, coverage_start: datetime | None
) -> list[WindowSpan]:
    """Return the current window and ``baselines`` baseline windows ending at ``end``; uncovered ones are marked.

    A baseline window is covered when it starts at or after ``coverage_start`` (None: nothing covered).
    The current window always counts as covered.
    """
    spans = []
    for i in range(baselines + 1):
        w_end = end - step * i
        start = w_end - length
        covered = i == 0 or (coverage_start is not None and start >= coverage_start)
        spans.append(WindowSpan(i, start, w_end, covered))
    return spans


def covered_baselines(spans: list[WindowSpan]) -> int:
    """Return how many baseline windows, most recent first, are covered without a gap."""
    n = 0
    for span in spans[1:]:
        if not span.covered:
            break
        n += 1
    return n


def slot_layout(length: timedelta, step: timedelta, windows: int) -> tuple[timedelta, int, int, int]:
    """Return (slot length, slots per step, slots per window, total slots) to count every window in one query.

    Slots are consecutive intervals of ``gcd(length, step)`` ending at the windows' end; window i covers
    slots ``i * per_step .. i * per_step + per_window - 1``.
    """
    ls, ss = int(length.total_seconds()), int(step.total_seconds())
    g = math.gcd(ls, ss) or 1
    per_step, per_window = ss // g, ls // g
    return timedelta(seconds=g), per_step, per_window, (windows - 1) * per_step + per_window
