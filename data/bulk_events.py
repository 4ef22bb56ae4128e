"""Bulk event loads: stage the rows (binary COPY on PostGIS), then merge them into events set-based.

Every event write goes through :class:`EventLoad`, one transaction per load:

1. ``add`` validates a chunk (``records.prepare_events``: checks and H3 cells, vectorised) and
   appends it to a temporary staging table (binary COPY on PostGIS, executemany on SQLite).
2. Every ``merge_rows`` staged rows, and at ``finish``, a merge step finds the staged events that
   differ from the stored ones, and the new ones. When there are none, nothing is written and the
   revision does not move (an identical re-import leaves the wall screens alone). Otherwise it
   bumps the revision (once per load: later steps reuse it), inserts the new events and adds their
   hourly aggregate to the rollup (set-based, from the inserted rows), replaces the changed events,
   and recomputes the rollup hours those touched (their old and their new hours). The staging table
   is then emptied for the next rows. Merging while the caller reads and checks the next rows lets
   the database work beside Python instead of after it (data/ingest/run.py writes on a thread).

The first merge step locks the revision rows (``SELECT … FOR UPDATE``; SQLite serialises writers
anyway) before it reads ``events``, and holds them to the commit. Every event writer takes that
lock before it touches ``events`` or creates a partition, so two loads never wait on each other's
table locks (no deadlock), and a load that writes nothing still moves no revision.

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
MATCHED = "hbm_stage_matched"  # staged ids already in events (one merge step)
CHANGED = "hbm_stage_changed"  # those of them whose values differ
PARTIAL = "hbm_stage_rollup"  # hourly sums of the load's new events, merged into the rollup once at the end
FINAL = "hbm_stage_rollup_final"  # those sums grouped once more, as they are merged
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


def _partial_ddl(dialect: str) -> str:
    drop = " ON COMMIT DROP" if dialect == "postgresql" else ""
    return (
        f"CREATE TEMP TABLE {PARTIAL} (hour BIGINT, h3_r4 BIGINT, h3_r5 BIGINT, h3_r6 BIGINT, h3_r7 BIGINT, "
        f"fit INTEGER, lat FLOAT, lng FLOAT, events INTEGER, people INTEGER){drop}"
    )


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


_NEW = f"NOT EXISTS (SELECT 1 FROM {MATCHED} AS m WHERE m.id = s.id)"  # after EventLoad._match


_CELLS = "h3_r4, h3_r5, h3_r6, h3_r7"
_KEY = f"hour, {_CELLS}, fit"


def _partial_sql(dialect: str, source: str) -> tuple[str, dict[str, float]]:
    """SQL appending the hourly sums of ``source`` rows to the load's partial aggregate (no index: cheap)."""
    fit, params = rollup.precision_case_sql(rollup.ROLLUP_MAX_RES, str)
    sql = (
        f"INSERT INTO {PARTIAL} ({_KEY}, lat, lng, events, people) "
        f"SELECT {_KEY}, SUM(lat), SUM(lng), COUNT(*), SUM(people) FROM "
        f"(SELECT {rollup.hour_sql(dialect)} AS hour, {_CELLS}, {fit} AS fit, lat, lng, people FROM {source}) AS n "
        f"GROUP BY {_KEY}"
    )
    return sql, params


_SAME_KEY = " AND ".join(f"r.{c} = f.{c}" for c in _KEY.split(", ")) + " AND r.hour BETWEEN :lo AND :hi"


def _merge_rollup(conn: Connection, dialect: str) -> None:
    """Add the load's partial sums to the rollup: existing (hour, cells, fit) rows are updated (counts add,
    positions average), the others inserted in key order (the index pages are written in sequence).

    Plain statements, no ON CONFLICT: every writer of events and the rollup holds the revision lock
    (:func:`lock_event_writers`) first, so no other transaction adds a row between the two.
    """
    lo, hi = conn.exec_driver_sql(f"SELECT MIN(hour), MAX(hour) FROM {PARTIAL}").one()
    if lo is None:
        return
    span = {"lo": int(lo), "hi": int(hi)}  # the rollup is read only over the load's hours (its key starts with hour)
    sums = f"SUM(lat) / SUM(events), SUM(lng) / SUM(events), SUM(events), SUM(people) FROM {PARTIAL} GROUP BY {_KEY}"
    if not conn.execute(text("SELECT 1 FROM event_cell_hours WHERE hour BETWEEN :lo AND :hi LIMIT 1"), span).first():
        # None of the load's hours is in the rollup yet (an initial load, a new period): insert, nothing to merge.
        cols = ", ".join(rollup.ROLLUP_COLUMNS)
        conn.exec_driver_sql(f"INSERT INTO event_cell_hours ({cols}) SELECT {_KEY}, {sums} ORDER BY {_KEY}")
        return
    drop = " ON COMMIT DROP" if dialect == "postgresql" else ""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {FINAL}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {FINAL}{drop} AS SELECT {_KEY}, SUM(lat) AS lat, SUM(lng) AS lng, "
        f"SUM(events) AS events, SUM(people) AS people FROM {PARTIAL} GROUP BY {_KEY}"
    )
    conn.execute(
        text(
            "UPDATE event_cell_hours AS r SET lat = (r.lat * r.events + f.lat) / (r.events + f.events), "
            "lng = (r.lng * r.events + f.lng) / (r.events + f.events), "
            f"events = r.events + f.events, people = r.people + f.people FROM {FINAL} AS f WHERE {_SAME_KEY}"
        ),
        span,
    )
    conn.execute(
        text(
            f"INSERT INTO event_cell_hours ({', '.join(rollup.ROLLUP_COLUMNS)}) "
            f"SELECT {_KEY}, f.lat / f.events, f.lng / f.events, f.events, f.people FROM {FINAL} AS f "
            f"WHERE NOT EXISTS (SELECT 1 FROM event_cell_hours AS r WHERE {_SAME_KEY}) ORDER BY {_KEY}"
        ),
        span,
    )


def lock_event_writers(conn: Connection, dialect: str) -> None:
    """Take the write lock of events and its rollup until the commit: the revision rows (PostgreSQL).

    Every writer takes it before it touches either table or a partition (a load, a soft delete's
    revision bump, a purge), so writers queue in one order and never deadlock on each other's table
    locks. SQLite's write transaction is already exclusive.
    """
    if dialect == "postgresql":
        sql = "SELECT revision FROM hbm_revisions WHERE table_name IN (:g, 'events') ORDER BY table_name FOR UPDATE"
        conn.execute(text(sql), {"g": GLOBAL_REVISION}).all()


@dataclass
class Staged:
    """Rows of events ready for the staging table, and the (year, month) they fall in."""

    rows: list[tuple[Any, ...]]
    months: set[tuple[int, int]]


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

    MERGE_ROWS = 50_000  # staged rows per merge step: big enough for set-based plans, small enough to overlap

    def __init__(
        self,
        conn: Connection,
        dialect: str,
        bump: Callable[[Connection, Sequence[str]], int],
        to_db_time: Callable[[Any], Any],
        merge_rows: int | None = None,
    ) -> None:
        self.conn, self.dialect, self.bump, self.to_db_time = conn, dialect, bump, to_db_time
        self.merge_rows = merge_rows or self.MERGE_ROWS
        self.result = LoadResult()
        self.pending = 0  # rows staged since the last merge step
        self.locked = False  # the revision rows are locked (first merge step) until the commit
        self.probe: str | None = None  # where events stored before this load are (None: nowhere)
        self.rev: int | None = None  # the load's revision, once a merge step wrote something
        self.months: set[tuple[int, int]] = set()  # (year, month) of the staged events: PostGIS partitions
        if dialect != "postgresql":
            for table in (STAGE, PARTIAL):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table}")
        conn.exec_driver_sql(_stage_ddl(dialect))
        conn.exec_driver_sql(_partial_ddl(dialect))

    def add(self, frame: pd.DataFrame) -> int:
        """Validate ``frame`` (events with lat/lng) and stage it; return the rows staged (IngestError if invalid).

        Every ``merge_rows`` staged rows are merged into the store (in this load's transaction).
        """
        return self.write(self.prepare(frame))

    def prepare(self, frame: pd.DataFrame) -> Staged:
        """Return ``frame`` validated and laid out for staging (no database work: may run on another thread)."""
        prepared = prepare_events(frame)
        if prepared.empty:
            return Staged([], set())
        when = prepared["occurred_at"].dt
        months = {(int(k) // 100, int(k) % 100) for k in np.unique(when.year.to_numpy() * 100 + when.month.to_numpy())}
        return Staged(_stage_rows(prepared, self.dialect), months)

    def write(self, staged: Staged) -> int:
        """Stage prepared rows, merging when ``merge_rows`` are waiting; return the rows staged."""
        if not staged.rows:
            return 0
        _write_stage(self.conn, self.dialect, staged.rows)
        self.months |= staged.months
        self.result.staged += len(staged.rows)
        self.pending += len(staged.rows)
        if self.pending >= self.merge_rows:
            self._merge()
        return len(staged.rows)

    def _hours(self, param: set[int]) -> Any:
        return sorted(param) if self.dialect == "postgresql" else json.dumps(sorted(param))

    def finish(self) -> LoadResult:
        """Merge what is still staged into the store; return what the load wrote (nothing when all were identical)."""
        if self.pending:
            self._merge()
        if self.result.new:  # the rollup, once per load
            _merge_rollup(self.conn, self.dialect)
        return self._done()

    def _lock(self) -> None:
        """Lock the revision rows until the commit (PostgreSQL; SQLite's write transaction is already exclusive),
        then note where events stored before this load can be (``probe``)."""
        if self.locked:
            return
        conn = self.conn
        lock_event_writers(conn, self.dialect)
        if self.dialect == "postgresql":
            # Only the partitions holding rows now can hold a staged id: the ones created or first filled
            # by this load hold its own rows, whose ids are unique within it, and no other writer gets
            # in before the commit. An initial load, or a new month, then probes nothing.
            names, existing = partitions.occupied(conn)
            everything = len(names) == existing
            union = " UNION ALL ".join(f"SELECT * FROM {n}" for n in names)
            self.probe = None if not names else "events" if everything else f"({union})"
        else:
            self.probe = "events" if conn.exec_driver_sql("SELECT 1 FROM events LIMIT 1").first() else None
        self.locked = True

    def _merge(self) -> None:
        """Merge the staged rows into events and the rollup, then empty the staging table."""
        conn, dialect, result = self.conn, self.dialect, self.result
        self._lock()
        if dialect == "postgresql":
            # Events are partitioned by month: create the months these rows need before events is read.
            partitions.ensure_months(conn, self.months)
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")  # the hourly aggregate stays in memory
        matched = self._match()
        touched = {int(h) for row in conn.exec_driver_sql(f"SELECT old_hour, new_hour FROM {CHANGED}") for h in row}
        changed = int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {CHANGED}").scalar_one())
        any_new = self.pending > matched  # staged ids are unique: the others are new
        if changed or any_new:
            if self.rev is None:
                self.rev = self.bump(conn, ["events"])
            if any_new:
                result.new += self._insert_new()
            if changed:
                conn.exec_driver_sql(f"DELETE FROM events WHERE id IN (SELECT id FROM {CHANGED})")
                conn.execute(text(_insert_sql(dialect, f"s.id IN (SELECT id FROM {CHANGED})")), {"rev": self.rev})
                # These hours are recomputed from events, which hold every new event of the load so far:
                # their partial sums would count those twice.
                rollup.refresh_hours(conn, dialect, self.to_db_time, touched)
                hours = "hour = ANY(:h)" if dialect == "postgresql" else "hour IN (SELECT value FROM json_each(:h))"
                conn.execute(text(f"DELETE FROM {PARTIAL} WHERE {hours}"), {"h": self._hours(touched)})
                result.changed += changed
        conn.exec_driver_sql(f"TRUNCATE {STAGE}" if dialect == "postgresql" else f"DELETE FROM temp.{STAGE}")
        self.pending = 0

    def _match(self) -> int:
        """Find the staged ids already stored (``MATCHED``) and those whose values differ (``CHANGED``);
        return how many are stored.

        One probe of the events key per staged row, never a scan of events: a merge step costs what
        it stages, not what the store holds (on PostgreSQL hash and merge joins are turned off for it,
        as the planner would otherwise read every stored id once per step).
        """
        conn, dialect = self.conn, self.dialect
        op = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
        differs = " OR ".join(["e.deleted_at IS NOT NULL", *(f"e.{c} {op} s.{c}" for c in COMPARED)])
        drop = " ON COMMIT DROP" if dialect == "postgresql" else ""
        for table in (MATCHED, CHANGED):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        if dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
            conn.exec_driver_sql("SET LOCAL enable_mergejoin = off")
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {MATCHED}{drop} AS SELECT s.id AS id, {rollup.hour_sql(dialect, 'e.occurred_at')} "
            f"AS old_hour, {rollup.hour_sql(dialect, 's.occurred_at')} AS new_hour, ({differs}) AS differs "
            f"FROM {STAGE} AS s JOIN {self.probe or 'events'} AS e ON e.id = s.id"
            + ("" if self.probe else " WHERE 1 = 0")  # nothing was stored before this load: nothing to compare
        )
        if dialect == "postgresql":
            conn.exec_driver_sql("RESET enable_hashjoin")
            conn.exec_driver_sql("RESET enable_mergejoin")
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {CHANGED}{drop} AS SELECT id, old_hour, new_hour FROM {MATCHED} WHERE differs"
        )
        matched = int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {MATCHED}").scalar_one())
        if matched and dialect == "postgresql":
            # Statistics, or the planner takes the new tables for empty and anti-joins the staged rows with
            # them by nested loops: quadratic (an identical re-import of 1M rows did not end in 10 minutes).
            conn.exec_driver_sql(f"ANALYZE {MATCHED}")
            conn.exec_driver_sql(f"ANALYZE {CHANGED}")
        return matched

    def _insert_new(self) -> int:
        """Insert the new staged events; add their hourly sums to the load's partial aggregate."""
        conn, dialect, rev = self.conn, self.dialect, {"rev": self.rev}
        if dialect == "postgresql":  # one statement: the insert's own rows feed the sums
            returned = ", ".join(["occurred_at", *H3_COLUMNS[:4], "location_precision_m", "lat", "lng", "people"])
            partial, prec = _partial_sql(dialect, "ins")
            insert = f"{_insert_sql(dialect, _NEW)} RETURNING {returned}"
            sql = f"WITH ins AS ({insert}), p AS ({partial}) SELECT COUNT(*) FROM ins"
            return int(conn.execute(text(sql), {**rev, **prec}).scalar_one())
        partial, prec = _partial_sql(dialect, f"{STAGE} AS s WHERE {_NEW}")
        conn.execute(text(partial), prec)
        return int(conn.execute(text(_insert_sql(dialect, _NEW)), rev).rowcount)

    def _done(self) -> LoadResult:
        if self.dialect != "postgresql":  # PostgreSQL drops them at commit
            for table in (STAGE, MATCHED, CHANGED, PARTIAL, FINAL):
                self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table}")
        self.result.revision = self.rev
        if self.result.revision is None:  # nothing written: the revision stays where it was
            sql = "SELECT revision FROM hbm_revisions WHERE table_name = :t"
            self.result.revision = int(self.conn.execute(text(sql), {"t": GLOBAL_REVISION}).scalar_one())
        return self.result
