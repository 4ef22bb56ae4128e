"""Bulk event loads: stage the rows (binary COPY on PostGIS), then merge them into events set-based.

Every event write goes through :class:`EventLoad`, one transaction per load:

1. ``add`` validates a chunk (``records.prepare_events``: checks and H3 cells, vectorised) and
   appends it to a temporary staging table (binary COPY on PostGIS, executemany on SQLite).
2. ``finish`` finds the staged events that differ from the stored ones, and the new ones. When
   there are none, nothing is written and the revision does not move (an identical re-import
   leaves the wall screens alone). Otherwise it bumps the revision once, inserts the new events
   and adds their hourly aggregate to the rollup (set-based, once per load), replaces the changed
   events, and recomputes the rollup hours those touched (their old and their new hours).

Staged ids must be unique within one load (the importer and ``prepare_events`` guarantee it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from data import partitions, rollup
from data.records import EVENT_COLUMNS, prepare_events
from data.schema import GLOBAL_REVISION, H3_COLUMNS

STAGE = "hbm_stage_events"
CHANGED = "hbm_stage_changed"
# The values that make an event; the stored row is rewritten only when one of them differs.
COMPARED = (*(c for c in EVENT_COLUMNS if c != "id"), *H3_COLUMNS)
_TYPES = {"people": "INTEGER", "lat": "FLOAT", "lng": "FLOAT", "location_precision_m": "FLOAT"}
_PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL's binary timestamptz counts microseconds from 2000-01-01
_PG_COPY_TYPES = ["text", "int8", "text", "int4", "float8", "float8", "float8", "text", "text", "text", "text"] + [
    "int8"
] * len(H3_COLUMNS)


def _stage_ddl(dialect: str) -> str:
    time_type = "TIMESTAMPTZ" if dialect == "postgresql" else "BIGINT"
    cols = ["id TEXT"] + [
        f"{c} {time_type if c == 'occurred_at' else 'BIGINT' if c in H3_COLUMNS else _TYPES.get(c, 'TEXT')}"
        for c in COMPARED
    ]
    if dialect == "postgresql":  # temporary tables are never WAL-logged; dropped at commit
        return f"CREATE TEMP TABLE {STAGE} ({', '.join(cols)}) ON COMMIT DROP"
    return f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ({', '.join(cols)}, geom BLOB)"


def _stage_rows(frame: pd.DataFrame, dialect: str) -> list[tuple[Any, ...]]:
    """Return one tuple per prepared event in staging-column order (times and geometry as the backend takes them)."""
    if dialect == "postgresql":
        # Written as int8 in binary COPY: the same 8 bytes as a timestamptz (microseconds since 2000).
        times = (frame["occurred_at"].dt.as_unit("us").astype("int64").to_numpy() - _PG_EPOCH_US).tolist()
    else:
        times = frame["occurred_ms"].tolist()
    prec = frame["location_precision_m"].to_numpy(float)
    columns: list[list[Any]] = [
        frame["id"].tolist(),
        times,
        frame["kind"].tolist(),
        frame["people"].to_numpy(np.int64).tolist(),
        frame["lat"].to_numpy(float).tolist(),
        frame["lng"].to_numpy(float).tolist(),
        np.where(np.isnan(prec), None, prec).tolist(),
    ]
    for col in ("source", "crossing_point_id", "route_id", "notes"):
        series = frame[col]
        columns.append(series.astype(object).where(series.notna(), None).tolist())
    columns += [frame[c].to_numpy(np.int64).tolist() for c in H3_COLUMNS]
    if dialect != "postgresql":
        columns.append(shapely.to_wkb(shapely.points(frame["lng"].to_numpy(float), frame["lat"].to_numpy(float))))
    return list(zip(*columns, strict=True))


def _write_stage(conn: Connection, dialect: str, rows: list[tuple[Any, ...]]) -> None:
    names = ["id", *COMPARED]
    if dialect == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None, "a live psycopg connection is needed for COPY"
        with raw.cursor() as cur, cur.copy(f"COPY {STAGE} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_PG_COPY_TYPES)
            for row in rows:
                copy.write_row(row)
        return
    names.append("geom")
    marks = ", ".join("?" * len(names))
    conn.exec_driver_sql(f"INSERT INTO {STAGE} ({', '.join(names)}) VALUES ({marks})", rows)


def _insert_sql(dialect: str, where: str) -> str:
    """SQL inserting the staged rows matching ``where`` into events, stamped with revision ``:rev``."""
    geom = "ST_SetSRID(ST_MakePoint(s.lng, s.lat), 4326)" if dialect == "postgresql" else "s.geom"
    cols = ["id", "geom", "min_lng", "min_lat", "max_lng", "max_lat", "revision", "deleted_at", *COMPARED]
    values = ["s.id", geom, "s.lng", "s.lat", "s.lng", "s.lat", ":rev", "NULL", *(f"s.{c}" for c in COMPARED)]
    return f"INSERT INTO events ({', '.join(cols)}) SELECT {', '.join(values)} FROM {STAGE} AS s WHERE {where}"


_NEW = "NOT EXISTS (SELECT 1 FROM events AS e WHERE e.id = s.id)"


def _aggregate_sql(dialect: str, source: str) -> tuple[str, dict[str, float]]:
    """SQL adding the hourly aggregate of ``source`` rows (hours not in ``:skip``) to the rollup."""
    fit, params = rollup.precision_case_sql(rollup.ROLLUP_MAX_RES, str)
    hour = rollup.hour_sql(dialect)
    skip = "NOT (hour = ANY(:skip))" if dialect == "postgresql" else "hour NOT IN (SELECT value FROM json_each(:skip))"
    cells = "h3_r4, h3_r5, h3_r6, h3_r7"
    sql = (
        f"INSERT INTO event_cell_hours ({', '.join(rollup.ROLLUP_COLUMNS)}) "
        f"SELECT hour, {cells}, fit, AVG(lat), AVG(lng), COUNT(*), SUM(people) FROM "
        f"(SELECT {hour} AS hour, {cells}, {fit} AS fit, lat, lng, people FROM {source}) AS n "
        f"WHERE {skip} GROUP BY hour, {cells}, fit {rollup.ROLLUP_MERGE}"
    )
    return sql, params


@dataclass
class LoadResult:
    """What one load did: rows staged, events new and changed (the rest were identical), the revision after."""

    staged: int = 0
    new: int = 0
    changed: int = 0
    revision: int | None = None

    @property
    def unchanged(self) -> int:
        """Return the staged events identical to the stored ones (not rewritten)."""
        return self.staged - self.new - self.changed


class EventLoad:
    """One bulk load of events on one write connection (see the module docstring)."""

    def __init__(
        self,
        conn: Connection,
        dialect: str,
        bump: Callable[[Connection, Sequence[str]], int],
        to_db_time: Callable[[Any], Any],
    ) -> None:
        self.conn, self.dialect, self.bump, self.to_db_time = conn, dialect, bump, to_db_time
        self.result = LoadResult()
        self.months: set[tuple[int, int]] = set()  # (year, month) of the staged events: PostGIS partitions
        if dialect != "postgresql":
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE}")
        conn.exec_driver_sql(_stage_ddl(dialect))

    def add(self, frame: pd.DataFrame) -> int:
        """Validate ``frame`` (events with lat/lng) and stage it; return the rows staged (IngestError if invalid)."""
        prepared = prepare_events(frame)
        if prepared.empty:
            return 0
        _write_stage(self.conn, self.dialect, _stage_rows(prepared, self.dialect))
        when = prepared["occurred_at"].dt
        for key in np.unique(when.year.to_numpy() * 100 + when.month.to_numpy()):  # yyyymm
            self.months.add((int(key) // 100, int(key) % 100))
        self.result.staged += len(prepared)
        return len(prepared)

    def _hours(self, param: set[int]) -> Any:
        return sorted(param) if self.dialect == "postgresql" else json.dumps(sorted(param))

    def finish(self) -> LoadResult:
        """Merge the staged events into the store; return what was written (nothing when all were identical)."""
        conn, dialect, result = self.conn, self.dialect, self.result
        if not result.staged:
            return self._done()
        if dialect == "postgresql":
            # Events are partitioned by month: create the months this load needs before events is read,
            # so that a concurrent writer never holds a lock on events that the partition DDL waits for.
            partitions.ensure_months(conn, self.months)
            conn.exec_driver_sql(f"ANALYZE {STAGE}")  # a temporary table has no statistics until analysed
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")  # the hourly aggregate stays in memory
        op = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
        differs = " OR ".join(["e.deleted_at IS NOT NULL", *(f"e.{c} {op} s.{c}" for c in COMPARED)])
        drop = " ON COMMIT DROP" if dialect == "postgresql" else ""
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {CHANGED}")
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {CHANGED}{drop} AS SELECT s.id AS id, {rollup.hour_sql(dialect, 'e.occurred_at')} "
            f"AS old_hour, {rollup.hour_sql(dialect, 's.occurred_at')} AS new_hour "
            f"FROM {STAGE} AS s JOIN events AS e ON e.id = s.id WHERE {differs}"
        )
        touched = {int(h) for row in conn.exec_driver_sql(f"SELECT old_hour, new_hour FROM {CHANGED}") for h in row}
        result.changed = int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {CHANGED}").scalar_one())
        any_new = conn.execute(text(f"SELECT 1 FROM {STAGE} AS s WHERE {_NEW} LIMIT 1")).first()
        if not result.changed and not any_new:
            return self._done()
        rev = self.bump(conn, ["events"])
        skip = {"skip": self._hours(touched), "rev": rev}
        if any_new:
            result.new = self._insert_new(skip)
        if result.changed:
            conn.exec_driver_sql(f"DELETE FROM events WHERE id IN (SELECT id FROM {CHANGED})")
            conn.execute(text(_insert_sql(dialect, f"s.id IN (SELECT id FROM {CHANGED})")), {"rev": rev})
            rollup.refresh_hours(conn, dialect, self.to_db_time, touched)
        result.revision = rev
        return self._done()

    def _insert_new(self, params: dict[str, Any]) -> int:
        """Insert the new events and add their aggregate to the rollup (hours recomputed later excepted)."""
        conn, dialect = self.conn, self.dialect
        if dialect == "postgresql":  # one statement: the insert's own rows feed the aggregate
            returned = ", ".join(["occurred_at", *H3_COLUMNS[:4], "location_precision_m", "lat", "lng", "people"])
            agg, prec = _aggregate_sql(dialect, "ins")
            sql = (
                f"WITH ins AS ({_insert_sql(dialect, _NEW)} RETURNING {returned}), "
                f"agg AS ({agg}) SELECT COUNT(*) FROM ins"
            )
            return int(conn.execute(text(sql), {**params, **prec}).scalar_one())
        agg, prec = _aggregate_sql(dialect, f"{STAGE} AS s WHERE {_NEW}")
        conn.execute(text(agg), {**params, **prec})
        return int(conn.execute(text(_insert_sql(dialect, _NEW)), params).rowcount)

    def _done(self) -> LoadResult:
        if self.dialect != "postgresql":  # PostgreSQL drops them at commit
            for table in (STAGE, CHANGED):
                self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table}")
        if self.result.revision is None:  # nothing written: the revision stays where it was
            sql = "SELECT revision FROM hbm_revisions WHERE table_name = :t"
            self.result.revision = int(self.conn.execute(text(sql), {"t": GLOBAL_REVISION}).scalar_one())
        return self.result
