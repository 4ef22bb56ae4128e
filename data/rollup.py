"""Hourly per-cell event counts (``event_cell_hours``): what the hotspot statistics read instead of raw events.

One row per (hour, the events' own H3 cells at res 4-7, fitted resolution) holds the events and people
of that hour. Every cell column is indexed directly from the position (geo.cells.points_to_all_cells),
so a coarse cell always contains the events counted in it.
After a write, the hours it touched (the new times, and the old times of events it updated or
deleted) are recomputed from the events table in the same transaction, so a re-import or an
edit can never double-count. New events add their own aggregate into the rows instead (no
rescan), once per load (data/bulk_events.py), which keeps bulk loads linear. Windows that start
and end on whole hours (6h, 24h, 7d, 30d) at resolutions 4-7 are summed from here; anything
else falls back to the events table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, inspect, text

from geo.cells import STORED_RESOLUTIONS, precision_limit_m

ROLLUP_MAX_RES = 7
HOUR = timedelta(hours=1)
_HOUR_SQL = {
    "sqlite": "(occurred_at / 3600000)",
    "postgresql": "CAST(floor(extract(epoch FROM occurred_at) / 3600) AS bigint)",
}
ROLLUP_COLUMNS = ("hour", "h3_r4", "h3_r5", "h3_r6", "h3_r7", "fit", "lat", "lng", "events", "people")
# Merges an aggregate of new events into existing (hour, cells, fit) rows: counts add, positions average.
ROLLUP_MERGE = (
    "ON CONFLICT (hour, h3_r4, h3_r5, h3_r6, h3_r7, fit) DO UPDATE SET "
    "lat = (event_cell_hours.lat * event_cell_hours.events + excluded.lat * excluded.events) "
    "/ (event_cell_hours.events + excluded.events), "
    "lng = (event_cell_hours.lng * event_cell_hours.events + excluded.lng * excluded.events) "
    "/ (event_cell_hours.events + excluded.events), "
    "events = event_cell_hours.events + excluded.events, "
    "people = event_cell_hours.people + excluded.people"
)
_IDS_SQL = {
    "sqlite": "id IN (SELECT value FROM json_each(:ids))",
    "postgresql": "id = ANY(:ids)",
}
_CHUNK = 50_000


def hour_sql(dialect: str, column: str = "occurred_at") -> str:
    """SQL for the epoch hour (hours since 1970-01-01 UTC) of a time column."""
    return _HOUR_SQL[dialect].replace("occurred_at", column)


def precision_case_sql(top_res: int, value: Callable[[int], str]) -> tuple[str, dict[str, float]]:
    """SQL choosing ``value(r)`` for the finest resolution r <= ``top_res`` an event's location precision fits.

    An unknown precision fits ``top_res``; one coarser than every cell takes the coarsest resolution.
    """
    branches, params = [], {}
    for r in range(top_res, STORED_RESOLUTIONS[0], -1):
        params[f"prec{r}"] = precision_limit_m(r)
        cond = f"location_precision_m <= :prec{r}"
        if r == top_res:
            cond = f"location_precision_m IS NULL OR {cond}"
        branches.append(f"WHEN {cond} THEN {value(r)}")
    if not branches:
        return value(top_res), params
    return f"CASE {' '.join(branches)} ELSE {value(STORED_RESOLUTIONS[0])} END", params


def _fit_sql() -> tuple[str, dict[str, float]]:
    """SQL for the finest resolution (at most 7) an event's location precision fits."""
    return precision_case_sql(ROLLUP_MAX_RES, str)


def is_rollup_window(res: int, end: datetime, length: timedelta) -> bool:
    """Return True when per-window counts at ``res`` can be summed from whole hours."""
    whole = end.timestamp() % 3600 == 0 and length.total_seconds() % 3600 == 0
    return res <= ROLLUP_MAX_RES and whole


def whole_hours(start: datetime, end: datetime) -> tuple[int, int] | None:
    """Return the epoch hours [first, last) that lie wholly inside [start, end), or None when there is none."""
    first = int(ceil_hour(start).timestamp()) // 3600
    last = int(end.timestamp()) // 3600
    return (first, last) if first < last else None


def cell_counts_sql(res: int, bbox_sql: str) -> str:
    """SQL for ``cell, events, people`` at ``res`` (<= 7): whole hours [:h0, :h1) from the rollup, the rest raw.

    The raw events are those in [:start, :t0) and [:t1, :end), the parts of the window outside
    whole hours. ``bbox_sql`` (`` AND lng BETWEEN ...``) tests each rollup group's mean position.
    """
    raw_time = "((occurred_at >= :start AND occurred_at < :t0) OR (occurred_at >= :t1 AND occurred_at < :end))"
    return (
        f"SELECT cell, SUM(n), SUM(p) FROM (SELECT h3_r{res} AS cell, events AS n, people AS p FROM event_cell_hours "
        f"WHERE hour >= :h0 AND hour < :h1{bbox_sql} UNION ALL SELECT h3_r{res}, 1, people FROM events "
        f"WHERE {raw_time} AND deleted_at IS NULL{bbox_sql}) AS u GROUP BY cell"
    )


def ceil_hour(when: datetime) -> datetime:
    """Return ``when`` rounded up to the next whole hour (unchanged when already whole)."""
    floor = when.replace(minute=0, second=0, microsecond=0)
    return floor if floor == when else floor + HOUR


def hours_of_ids(conn: Connection, dialect: str, ids: Sequence[str]) -> set[int]:
    """Return the hours of the stored events with these ids (before they are changed)."""
    hours: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        param: Any = json.dumps(chunk) if dialect == "sqlite" else chunk
        sql = f"SELECT DISTINCT {_HOUR_SQL[dialect]} FROM events WHERE {_IDS_SQL[dialect]}"
        hours.update(int(h) for (h,) in conn.execute(text(sql), {"ids": param}).all())
    return hours


def _runs(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Return contiguous [first, last] runs of the sorted hours."""
    runs: list[tuple[int, int]] = []
    for h in sorted(set(hours)):
        if runs and h == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], h)
        else:
            runs.append((h, h))
    return runs


def refresh_hours(conn: Connection, dialect: str, to_db_time: Any, hours: Iterable[int]) -> None:
    """Recompute the rollup rows of ``hours`` from the live events."""
    fit, params = _fit_sql()
    hour = _HOUR_SQL[dialect]
    for first, last in _runs(hours):
        t0 = to_db_time(datetime.fromtimestamp(first * 3600, UTC))
        t1 = to_db_time(datetime.fromtimestamp((last + 1) * 3600, UTC))
        conn.execute(text("DELETE FROM event_cell_hours WHERE hour >= :h0 AND hour <= :h1"), {"h0": first, "h1": last})
        conn.execute(
            text(
                "INSERT INTO event_cell_hours (hour, h3_r4, h3_r5, h3_r6, h3_r7, fit, lat, lng, events, people) "
                f"SELECT {hour}, h3_r4, h3_r5, h3_r6, h3_r7, {fit}, AVG(lat), AVG(lng), COUNT(*), SUM(people) "
                "FROM events WHERE occurred_at >= :t0 AND occurred_at < :t1 AND deleted_at IS NULL "
                f"GROUP BY {hour}, h3_r4, h3_r5, h3_r6, h3_r7, {fit}"
            ),
            {**params, "t0": t0, "t1": t1},
        )


def rebuild(conn: Connection, dialect: str, to_db_time: Any) -> None:
    """Recompute the whole rollup (after an upgrade that adds it to an existing store)."""
    row = conn.execute(text(f"SELECT MIN({_HOUR_SQL[dialect]}), MAX({_HOUR_SQL[dialect]}) FROM events")).first()
    conn.execute(text("DELETE FROM event_cell_hours"))
    if row and row[0] is not None:
        refresh_hours(conn, dialect, to_db_time, range(int(row[0]), int(row[1]) + 1))


def needs_direct_cells(conn: Connection) -> bool:
    """Return True when the store predates direct cells: its rollup is keyed on (hour, h3_r7, fit) alone.

    Such a store derived its coarse cells as parents of the res-9 cell, so its events' cells must be
    re-indexed and its rollup rebuilt (:func:`reindex_cells`).
    """
    found = inspect(conn)
    if not found.has_table("event_cell_hours"):
        return False
    keys = [sorted(u["column_names"]) for u in found.get_unique_constraints("event_cell_hours")]
    # SQLite reports UNIQUE table constraints as unique indexes; PostgreSQL as constraints (both are read).
    keys += [sorted(i["column_names"]) for i in found.get_indexes("event_cell_hours") if i.get("unique")]
    return sorted(["hour", "h3_r7", "fit"]) in keys


def reindex_cells(conn: Connection, dialect: str, to_db_time: Any, md: Any) -> int:
    """Re-index every stored event's H3 cells directly from its position, then rebuild the rollup.

    ``md`` is the store's schema metadata: the rollup table is re-created with its current key.
    Returns the number of events re-indexed.
    """
    from geo.cells import points_to_all_cells

    cols = [f"h3_r{r}" for r in STORED_RESOLUTIONS]
    sets = ", ".join(f"{c} = :{c}" for c in cols)
    done = 0
    last = ""
    while True:
        rows = conn.execute(
            text("SELECT id, lat, lng FROM events WHERE id > :last ORDER BY id LIMIT :n"), {"last": last, "n": _CHUNK}
        ).all()
        if not rows:
            break
        ids = [r[0] for r in rows]
        lat = np.array([float(r[1]) for r in rows])
        lng = np.array([float(r[2]) for r in rows])
        cells = points_to_all_cells(lat, lng)
        params = [
            {"id": rid, **{f"h3_r{r}": int(cells[r][i]) for r in STORED_RESOLUTIONS}} for i, rid in enumerate(ids)
        ]
        conn.execute(text(f"UPDATE events SET {sets} WHERE id = :id"), params)
        done += len(ids)
        last = ids[-1]
    md.tables["event_cell_hours"].drop(conn, checkfirst=True)
    md.tables["event_cell_hours"].create(conn)
    rebuild(conn, dialect, to_db_time)
    return done


def rollup_window_sql(res: int, bbox_sql: str) -> str:
    """SQL summing the rollup into ``cell, w, events, people`` for windows of ``:len_h`` hours before ``:end_h``."""
    branches = [f"WHEN fit >= {res} THEN h3_r{res}"] + [f"WHEN fit = {r} THEN h3_r{r}" for r in range(res - 1, 3, -1)]
    cell = f"CASE {' '.join(branches)} ELSE h3_r4 END"
    return (
        f"SELECT cell, w, SUM(events), SUM(people) FROM (SELECT {cell} AS cell, "
        "(:end_h - 1 - hour) / :len_h AS w, events, people FROM event_cell_hours "
        f"WHERE hour >= :start_h AND hour < :end_h{bbox_sql}) AS e GROUP BY cell, w"
    )
