"""Per-source coverage: from when each source's data are complete, declared at ingest (issue 11).

The rule (docs/early-warning.md, "Coverage-aware baselines"): each source that has live events in
the area covers it from its declared ``coverage_start`` when one is declared, else from its first
event there. The area's coverage starts at the earliest of these. Events without a source name
belong to the unnamed source "". With nothing declared this is the store's first event in the
area, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text

from data.interfaces import BBox, Store
from geo.errors import HbmError

UNNAMED = ""


def declare_coverage(
    store: Store, sources: Iterable[str | None], start: datetime, who: str = "cli", now: datetime | None = None
) -> list[str]:
    """Declare that each source's data are complete from ``start`` on; return the sources declared.

    A later declaration for the same source replaces the earlier one.
    """
    if start.tzinfo is None:
        raise HbmError("a coverage start needs a time zone (UTC)")
    names = sorted({UNNAMED if s is None else str(s) for s in sources})
    at = store.to_db_time(now or datetime.now(UTC))
    with store.connect(write=True) as conn:
        for name in names:
            conn.execute(text("DELETE FROM source_coverage WHERE source = :s"), {"s": name})
            conn.execute(
                text(
                    "INSERT INTO source_coverage (source, coverage_start, declared_at, declared_by) "
                    "VALUES (:s, :start, :at, :who)"
                ),
                {"s": name, "start": store.to_db_time(start.astimezone(UTC)), "at": at, "who": who},
            )
    return names


def declared_coverage(store: Store) -> dict[str, datetime]:
    """Return the declared coverage start per source name."""
    with store.connect() as conn:
        rows = conn.execute(text("SELECT source, coverage_start FROM source_coverage ORDER BY source")).all()
    return {str(r[0]): store.from_db_time(r[1]) for r in rows if store.from_db_time(r[1]) is not None}  # type: ignore[misc]


def _bbox_sql(bbox: BBox | None) -> tuple[str, dict[str, float]]:
    if bbox is None:
        return "", {}
    return " AND lng BETWEEN :w AND :e AND lat BETWEEN :s AND :n", dict(zip(("w", "s", "e", "n"), bbox, strict=True))


def area_coverage_start(store: Store, bbox: BBox | None = None) -> datetime | None:
    """Return when the data in ``bbox`` begin under the per-source rule (None: no events there)."""
    declared = declared_coverage(store)
    if not declared:
        return store.first_event_time(bbox)  # nothing declared: the first event in the area (fast, from the rollup)
    where, params = _bbox_sql(bbox)
    names = list(declared)
    marks = ", ".join(f":d{i}" for i in range(len(names)))
    params.update({f"d{i}": n for i, n in enumerate(names)})
    starts: list[datetime] = []
    with store.connect() as conn:
        # Undeclared sources: their first event in the area (the occurred_at index, stopped at the first match).
        raw = conn.execute(
            text(
                "SELECT occurred_at FROM events WHERE deleted_at IS NULL"
                f"{where} AND COALESCE(source, '') NOT IN ({marks}) ORDER BY occurred_at LIMIT 1"
            ),
            params,
        ).scalar()
        if raw is not None:
            starts.append(store.from_db_time(raw))  # type: ignore[arg-type]
        # Declared sources with events in the area: their declared start.
        for i, name in enumerate(names):
            hit = conn.execute(
                text(f"SELECT 1 FROM events WHERE deleted_at IS NULL{where} AND COALESCE(source, '') = :d{i} LIMIT 1"),
                params,
            ).first()
            if hit:
                starts.append(declared[name])
    return min(starts) if starts else None
