"""Retention: hard-delete raw events older than the retention period, optionally keeping the hourly aggregates.

On PostGIS, events are partitioned by month (data/partitions.py): the months wholly before the
cutoff are dropped as whole partitions, which frees their space at once without row deletes.
The remaining raw events are deleted in batches, one transaction per batch, so a large purge never holds one
long lock and can be stopped and re-run. Each batch bumps the events revision, so open maps
refresh. The hourly per-cell rollup (``event_cell_hours``, data/rollup.py) is left alone when
aggregates are kept: the purge never recomputes those hours from the (now missing) events. When
aggregates are dropped, rollup hours wholly before the cutoff are deleted and the hour the cutoff
falls in is recomputed from the events that remain. The purge is audited with its counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, text

from data import audit_log, rollup
from data.bulk_events import lock_event_writers
from data.interfaces import Store
from data.settings import config_error
from geo.errors import HbmError

BATCH = 10_000


class RetentionSettings(BaseSettings):
    """How long raw events are kept, and whether their hourly aggregates outlive them (``HBM_RETENTION_*``)."""

    model_config = SettingsConfigDict(env_prefix="HBM_RETENTION_", env_file=".env", extra="ignore")

    days: int = Field(
        365, ge=1, le=100_000, description="Days raw events are kept; `hbm purge` deletes older ones (audited)."
    )
    keep_aggregates: bool = Field(
        True, description="Keep the hourly per-cell counts of purged events, so long-run statistics stay."
    )


def load_retention_settings(**overrides: object) -> RetentionSettings:
    """Return validated RetentionSettings, raising ConfigError with a one-line message."""
    try:
        return RetentionSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc) from None


@dataclass(frozen=True)
class PurgeResult:
    """What one purge deleted."""

    cutoff: datetime
    events: int
    aggregate_rows: int
    keep_aggregates: bool
    batches: int
    partitions: int = 0  # PostGIS: whole monthly partitions dropped (their events are in ``events``)

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON-safe values."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "events": self.events,
            "aggregate_rows": self.aggregate_rows,
            "keep_aggregates": self.keep_aggregates,
            "batches": self.batches,
            "partitions": self.partitions,
        }


def parse_age(raw: str) -> timedelta:
    """Return the age in ``"365d"``/``"48h"``/``"4w"`` text (at least one day), or raise HbmError."""
    text_ = (raw or "").strip().lower()
    units = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
    if len(text_) < 2 or text_[-1] not in units or not text_[:-1].isdigit():
        raise HbmError(f"age {raw!r} must be a whole number with a unit: h, d or w (e.g. 365d)")
    age = int(text_[:-1]) * units[text_[-1]]
    if age < timedelta(days=1):
        raise HbmError(f"age {raw!r} is under one day: a purge keeps at least the last day of events")
    return age


def count_older(store: Store, cutoff: datetime) -> int:
    """Return how many events (deleted ones included) occurred before ``cutoff``."""
    with store.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM events WHERE occurred_at < :c"), {"c": store.to_db_time(cutoff)})
        return int(n.scalar_one())


def _drop_aggregates(conn: Connection, dialect: str, to_db_time: Any, cutoff: datetime) -> int:
    """Delete rollup hours wholly before ``cutoff`` and recompute the hour it falls in; return rows deleted."""
    first_kept = int(cutoff.timestamp()) // 3600  # the hour holding the cutoff: partly kept
    deleted = conn.execute(text("DELETE FROM event_cell_hours WHERE hour < :h"), {"h": first_kept}).rowcount
    if cutoff.timestamp() % 3600:
        rollup.refresh_hours(conn, dialect, to_db_time, [first_kept])
    return int(deleted)


def purge_events(
    store: Store,
    older_than: timedelta,
    keep_aggregates: bool,
    now: datetime | None = None,
    batch: int = BATCH,
    who: str | None = None,
) -> PurgeResult:
    """Hard-delete events that occurred more than ``older_than`` before ``now``, in batches; audited; return counts."""
    if older_than < timedelta(days=1):
        raise HbmError("a purge keeps at least the last day of events")
    if batch < 1:
        raise HbmError("batch must be at least 1")
    cutoff = (now or datetime.now(UTC)) - older_than
    total = batches = 0
    # Each write takes the event writers' lock first (data/bulk_events.py): a purge and a load never deadlock.
    with store.connect(write=True) as conn:  # PostGIS: whole months before the cutoff go as partitions
        lock_event_writers(conn, store.dialect)
        total, dropped = store.drop_event_months_before(conn, cutoff)
        if dropped:
            store.bump_revisions(conn, ["events"])
    while True:
        with store.connect(write=True) as conn:
            lock_event_writers(conn, store.dialect)
            deleted = store.delete_events_before(conn, cutoff, batch)
            if deleted:
                store.bump_revisions(conn, ["events"])  # open maps see the change on their next poll
        total += deleted
        batches += 1 if deleted else 0
        if deleted < batch:
            break
    aggregate_rows = 0
    if not keep_aggregates:
        with store.connect(write=True) as conn:
            lock_event_writers(conn, store.dialect)
            aggregate_rows = _drop_aggregates(conn, store.dialect, store.to_db_time, cutoff)
            store.bump_revisions(conn, ["events"])
    result = PurgeResult(cutoff, total, aggregate_rows, keep_aggregates, batches, dropped)
    audit_log.note(
        store, "purge", "events", {**result.as_dict(), "older_than_days": older_than / timedelta(days=1)}, who=who
    )
    return result
