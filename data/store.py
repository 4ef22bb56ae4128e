"""The SQL logic both backends share (the interface itself is declared in ``data/interfaces.py``)."""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from data import rollup
from data.bulk_events import EventLoad
from data.interfaces import BBox, Revision, Store
from data.records import FIELDS, events_frame, prepare_rows
from data.schema import GLOBAL_REVISION, LAYER_TABLES, RETIRED_EVENT_INDEXES, build_metadata
from geo.cells import STORED_RESOLUTIONS
from geo.errors import HbmError, InvalidView, StoreUnavailable

log = logging.getLogger(__name__)

__all__ = ["BBox", "Revision", "SqlStore", "Store"]  # Store, BBox and Revision re-exported for callers


def _check_bbox(bbox: BBox | None) -> None:
    if bbox is None:
        return
    w, s, e, n = bbox
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise InvalidView(f"bbox {bbox} is not west,south,east,north in lng/lat degrees")


class SqlStore(Store):
    """The SQL both backends share; subclasses supply the dialect-specific pieces."""

    dialect: str = ""

    def __init__(self, engine: Engine, label: str) -> None:
        self.engine = engine
        self.label = label
        self.metadata = build_metadata(self.dialect)

    # -- dialect hooks -------------------------------------------------
    @abc.abstractmethod
    def _init_extras(self, conn: Connection) -> None: ...

    @abc.abstractmethod
    def write_features(self, conn: Connection, table: str, rows: list[dict[str, Any]], revision: int) -> None: ...

    @abc.abstractmethod
    def _time_param(self, when: datetime) -> Any: ...

    @abc.abstractmethod
    def _time_value(self, raw: Any) -> datetime | None: ...

    @abc.abstractmethod
    def geom_sql(self) -> str: ...

    @abc.abstractmethod
    def _window_index_sql(self) -> str:
        """SQL for the 0-based window index of ``occurred_at`` before ``:end`` in windows of ``:length``."""

    @abc.abstractmethod
    def _duration_param(self, length: timedelta) -> Any: ...

    @abc.abstractmethod
    def _bbox_sql(self, table: str) -> str: ...

    # -- plumbing ------------------------------------------------------
    def connect(self, write: bool = False) -> AbstractContextManager[Connection]:
        """Return a context manager with a connection (a transaction if ``write``); failures raise StoreUnavailable."""
        return self._connect(write=write)

    def to_db_time(self, when: datetime) -> Any:
        """Return ``when`` (aware UTC) encoded as this backend stores times."""
        return self._time_param(when)

    def from_db_time(self, raw: Any) -> datetime | None:
        """Return an aware UTC datetime from a stored time value."""
        return self._time_value(raw)

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        try:
            with self.engine.begin() if write else self.engine.connect() as conn:
                yield conn
        except HbmError:
            raise
        except (DBAPIError, SQLAlchemyError, OSError) as exc:
            reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
            first = reason[0] if reason else type(exc).__name__
            raise StoreUnavailable(f"The {self.backend} store at {self.label} is unavailable: {first}") from exc

    def bump_revisions(self, conn: Connection, tables: Sequence[str]) -> int:
        now = self._time_param(datetime.now(UTC))
        rev = conn.execute(
            text(
                "UPDATE hbm_revisions SET revision = revision + 1, updated_at = :now "
                "WHERE table_name = :t RETURNING revision"
            ),
            {"now": now, "t": GLOBAL_REVISION},
        ).scalar_one()
        for table in tables:
            conn.execute(
                text("UPDATE hbm_revisions SET revision = :rev, updated_at = :now WHERE table_name = :t"),
                {"rev": rev, "now": now, "t": table},
            )
        return int(rev)

    @staticmethod
    def _check_table(table: str) -> None:
        if table not in LAYER_TABLES:
            raise HbmError(f"unknown table {table!r}; expected one of {', '.join(LAYER_TABLES)}")

    # -- Store API -----------------------------------------------------
    def init_schema(self) -> None:
        with self._connect(write=True) as conn:
            self._init_extras(conn)
            self.metadata.create_all(conn)
            for name in RETIRED_EVENT_INDEXES:  # indexes no query uses (they only slowed every load)
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
            self._add_missing_columns(conn)
            self._init_triggers(conn)
            if rollup.needs_direct_cells(conn):  # a store from before direct cells: re-index and rebuild
                n = rollup.reindex_cells(conn, self.dialect, self._time_param, self.metadata)
                log.warning("re-indexed the H3 cells of %d events directly and rebuilt the hourly rollup", n)
            rolled = conn.execute(text("SELECT 1 FROM event_cell_hours LIMIT 1")).first()
            if not rolled and conn.execute(text("SELECT 1 FROM events LIMIT 1")).first():
                rollup.rebuild(conn, self.dialect, self._time_param)  # a store from before the rollup existed
            for name in (GLOBAL_REVISION, *LAYER_TABLES):
                exists = conn.execute(text("SELECT 1 FROM hbm_revisions WHERE table_name = :t"), {"t": name}).first()
                if not exists:
                    conn.execute(
                        text("INSERT INTO hbm_revisions (table_name, revision, updated_at) VALUES (:t, 0, :now)"),
                        {"t": name, "now": self._time_param(datetime.now(UTC))},
                    )

    def _add_missing_columns(self, conn: Connection) -> None:
        """Add nullable columns the schema gained after a table was created (create_all adds only tables)."""
        found = inspect(conn)
        for table in self.metadata.sorted_tables:
            have = {c["name"] for c in found.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have and col.nullable:
                    kind = col.type.compile(dialect=conn.dialect)
                    conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {kind}")

    def _init_triggers(self, conn: Connection) -> None:
        """Create backend-specific triggers after the tables exist (none by default)."""

    def ping(self) -> None:
        with self._connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    def upsert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        self._check_table(table)
        if table == "events":
            return self.upsert_events(events_frame(rows))
        prepared = prepare_rows(table, rows)
        with self._connect(write=True) as conn:
            rev = self.bump_revisions(conn, [table])
            if prepared:
                self.write_features(conn, table, prepared, rev)
        return rev

    def upsert_events(self, frame: pd.DataFrame) -> int:
        with self.bulk_events() as load:
            load.add(frame)
        return int(load.result.revision or 0)

    @contextmanager
    def bulk_events(self) -> Iterator[EventLoad]:
        with self._connect(write=True) as conn:
            load = EventLoad(conn, self.dialect, self.bump_revisions, self._time_param)
            yield load
            load.finish()

    def soft_delete(self, table: str, ids: Sequence[str]) -> int:
        self._check_table(table)
        with self._connect(write=True) as conn:
            rev = self.bump_revisions(conn, [table])
            now = self._time_param(datetime.now(UTC))
            touched = rollup.hours_of_ids(conn, self.dialect, list(ids)) if table == "events" else set()
            for rid in ids:
                conn.execute(
                    text(f"UPDATE {table} SET deleted_at = :now, revision = :rev WHERE id = :id"),
                    {"now": now, "rev": rev, "id": rid},
                )
            if touched:
                rollup.refresh_hours(conn, self.dialect, self._time_param, touched)
        return rev

    def revisions(self) -> dict[str, Revision]:
        with self._connect() as conn:
            rows = conn.execute(text("SELECT table_name, revision, updated_at FROM hbm_revisions")).all()
        if not rows:
            raise StoreUnavailable(f"The store at {self.label} has no schema yet: run `hbm db init`")
        return {r[0]: Revision(int(r[1]), self._time_value(r[2])) for r in rows}

    def _select_frame(self, table: str, where: str, params: dict[str, Any]) -> gpd.GeoDataFrame:
        cols = ["id", *FIELDS[table], "revision", "deleted_at"]
        sql = f"SELECT {', '.join(cols)}, {self.geom_sql()} AS geom FROM {table} WHERE {where} ORDER BY id"
        with self._connect() as conn:
            result = conn.execute(text(sql), params)
            rows = result.all()
        frame = pd.DataFrame(rows, columns=[*cols, "geom"])
        for col in ("last_observed_at", "occurred_at", "deleted_at"):
            if col in frame.columns:
                frame[col] = pd.to_datetime([self._time_value(v) for v in frame[col]], utc=True)
        geoms = shapely.from_wkb([bytes(g) for g in frame.pop("geom")]) if len(frame) else []
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")

    def changes_since(self, table: str, revision: int) -> gpd.GeoDataFrame:
        self._check_table(table)
        return self._select_frame(table, "revision > :rev", {"rev": int(revision)})

    def features(self, table: str, bbox: BBox | None = None) -> gpd.GeoDataFrame:
        self._check_table(table)
        _check_bbox(bbox)
        where, params = "deleted_at IS NULL", {}
        if bbox is not None:
            where += f" AND {self._bbox_sql(table)}"
            params = dict(zip(("w", "s", "e", "n"), bbox, strict=True))
        return self._select_frame(table, where, params)

    def _event_filter(self, start: datetime, end: datetime, bbox: BBox | None) -> tuple[str, dict[str, Any]]:
        if end <= start:
            raise InvalidView(f"time window ends ({end:%Y-%m-%d %H:%M}) before it starts ({start:%Y-%m-%d %H:%M})")
        _check_bbox(bbox)
        where = "occurred_at >= :start AND occurred_at < :end AND deleted_at IS NULL"
        params: dict[str, Any] = {"start": self._time_param(start), "end": self._time_param(end)}
        if bbox is not None:
            where += " AND lng BETWEEN :w AND :e AND lat BETWEEN :s AND :n"
            params.update(zip(("w", "s", "e", "n"), bbox, strict=True))
        return where, params

    def cell_counts(self, res: int, start: datetime, end: datetime, bbox: BBox | None = None) -> pd.DataFrame:
        self._check_res(res)
        where, params = self._event_filter(start, end, bbox)
        hours = rollup.whole_hours(start, end) if res <= rollup.ROLLUP_MAX_RES else None
        if hours is None:
            sql = f"SELECT h3_r{res}, COUNT(*), SUM(people) FROM events WHERE {where} GROUP BY h3_r{res}"
        else:  # whole hours from the hourly rollup (a 7-day window: ~55k rows, not ~264k events), edges raw
            bbox_sql = " AND lng BETWEEN :w AND :e AND lat BETWEEN :s AND :n" if bbox is not None else ""
            sql = rollup.cell_counts_sql(res, bbox_sql)
            params |= {"h0": hours[0], "h1": hours[1]}
            params |= {f"t{i}": self._time_param(datetime.fromtimestamp(h * 3600, UTC)) for i, h in enumerate(hours)}
        with self._connect() as conn:
            rows = conn.execute(text(sql), params).all()
        frame = pd.DataFrame(rows, columns=["cell", "events", "people"])
        return frame.astype({"cell": "int64", "events": "int64", "people": "int64"})

    @staticmethod
    def _check_res(res: int) -> None:
        if res not in STORED_RESOLUTIONS:
            raise InvalidView(
                f"H3 resolution {res} is not stored (use {STORED_RESOLUTIONS[0]}-{STORED_RESOLUTIONS[-1]})"
            )

    @staticmethod
    def _fitting_cell_sql(res: int) -> tuple[str, dict[str, float]]:
        """SQL for the cell of each event at ``res``, or coarser when its location is less precise."""
        return rollup.precision_case_sql(res, lambda r: f"h3_r{r}")

    def window_cell_counts(
        self, res: int, end: datetime, length: timedelta, windows: int, bbox: BBox | None = None
    ) -> pd.DataFrame:
        self._check_res(res)
        if windows < 1 or length <= timedelta(0):
            raise InvalidView("need at least one window of positive length")
        if rollup.is_rollup_window(res, end, length):
            return self._rollup_counts(res, end, length, windows, bbox)
        where, params = self._event_filter(end - length * windows, end, bbox)
        cell_sql, prec = self._fitting_cell_sql(res)
        params.update(prec)
        params["length"] = self._duration_param(length)
        sql = (
            f"SELECT cell, w, COUNT(*), SUM(people) FROM (SELECT {cell_sql} AS cell, "
            f"{self._window_index_sql()} AS w, people FROM events WHERE {where}) AS e GROUP BY cell, w"
        )
        with self._connect() as conn:
            rows = conn.execute(text(sql), params).all()
        return _window_frame(rows)

    def event_points(
        self, start: datetime, end: datetime, bbox: BBox | None = None, kinds: Sequence[str] | None = None
    ) -> pd.DataFrame:
        where, params = self._event_filter(start, end, bbox)
        if kinds:
            names = [f":k{i}" for i in range(len(kinds))]
            where += f" AND kind IN ({', '.join(names)})"
            params.update({n[1:]: k for n, k in zip(names, kinds, strict=True)})
        sql = f"SELECT id, occurred_at, kind, people, lat, lng FROM events WHERE {where} ORDER BY occurred_at, id"
        with self._connect() as conn:
            rows = conn.execute(text(sql), params).all()
        frame = pd.DataFrame(rows, columns=["id", "occurred_at", "kind", "people", "lat", "lng"])
        frame["occurred_at"] = pd.to_datetime([self._time_value(v) for v in frame["occurred_at"]], utc=True)
        return frame

    def _rollup_counts(
        self, res: int, end: datetime, length: timedelta, windows: int, bbox: BBox | None
    ) -> pd.DataFrame:
        _check_bbox(bbox)
        end_h, len_h = int(end.timestamp()) // 3600, int(length.total_seconds()) // 3600
        params: dict[str, Any] = {"end_h": end_h, "len_h": len_h, "start_h": end_h - len_h * windows}
        bbox_sql = ""
        if bbox is not None:
            bbox_sql = " AND lng BETWEEN :w AND :e AND lat BETWEEN :s AND :n"
            params.update(zip(("w", "s", "e", "n"), bbox, strict=True))
        with self._connect() as conn:
            rows = conn.execute(text(rollup.rollup_window_sql(res, bbox_sql)), params).all()
        return _window_frame(rows)

    def first_event_time(self, bbox: BBox | None = None) -> datetime | None:
        """Return when the data in ``bbox`` begins: the first live event there (None when there is none).

        The rollup finds the hour (its bbox test uses each group's mean position); the events table
        then gives the exact time within that hour.
        """
        _check_bbox(bbox)
        params: dict[str, Any] = {}
        bbox_sql = ""
        if bbox is not None:
            bbox_sql = " WHERE lng BETWEEN :w AND :e AND lat BETWEEN :s AND :n"
            params.update(zip(("w", "s", "e", "n"), bbox, strict=True))
        with self._connect() as conn:
            hour = conn.execute(text(f"SELECT MIN(hour) FROM event_cell_hours{bbox_sql}"), params).scalar_one()
            if hour is None:
                return None
            start = datetime.fromtimestamp(int(hour) * 3600, UTC)
            where, more = self._event_filter(start, start + timedelta(hours=1), bbox)
            raw = conn.execute(text(f"SELECT MIN(occurred_at) FROM events WHERE {where}"), more).scalar_one()
        return self._time_value(raw) if raw is not None else start

    def cell_event_kinds(self, cell: int, start: datetime, end: datetime) -> pd.DataFrame:
        res = int(h3.get_resolution(h3.int_to_str(int(cell))))
        self._check_res(res)
        where, params = self._event_filter(start, end, None)
        params["cell"] = int(cell)
        sql = (
            f"SELECT kind, COUNT(*) AS events, SUM(people) AS people FROM events "
            f"WHERE {where} AND h3_r{res} = :cell GROUP BY kind ORDER BY COUNT(*) DESC, kind"
        )
        with self._connect() as conn:
            rows = conn.execute(text(sql), params).all()
        return pd.DataFrame(rows, columns=["kind", "events", "people"])

    def event_totals(self, start: datetime, end: datetime, bbox: BBox | None = None) -> tuple[int, int]:
        where, params = self._event_filter(start, end, bbox)
        with self._connect() as conn:
            row = conn.execute(
                text(f"SELECT COUNT(*), COALESCE(SUM(people), 0) FROM events WHERE {where}"), params
            ).one()
        return int(row[0]), int(row[1])

    def flows_by(self, column: str, start: datetime, end: datetime) -> pd.DataFrame:
        if column not in ("crossing_point_id", "route_id"):
            raise HbmError(f"cannot group events by {column!r}")
        where, params = self._event_filter(start, end, None)
        sql = (
            f"SELECT {column} AS key, COUNT(*) AS events, SUM(people) AS people FROM events "
            f"WHERE {where} AND {column} IS NOT NULL GROUP BY {column}"
        )
        with self._connect() as conn:
            rows = conn.execute(text(sql), params).all()
        return pd.DataFrame(rows, columns=["key", "events", "people"])

    def counts(self) -> dict[str, int]:
        with self._connect() as conn:
            return {
                t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t} WHERE deleted_at IS NULL")).scalar_one())
                for t in LAYER_TABLES
            }

    def merge_insert(
        self, conn: Connection, table: str, columns: list[str], rows: list[tuple[Any, ...]], conflict_sql: str
    ) -> None:
        """Insert ``rows`` into ``table``, resolving clashes with ``conflict_sql`` (an ON CONFLICT clause)."""
        values = ", ".join(f":{c}" for c in columns)
        params = [dict(zip(columns, row, strict=True)) for row in rows]
        conn.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) {conflict_sql}"), params)

    def holds_events_from(self, source: str) -> bool:
        with self._connect() as conn:
            row = conn.execute(text("SELECT 1 FROM events WHERE source = :s LIMIT 1"), {"s": source}).first()
        return row is not None

    def dispose(self) -> None:
        self.engine.dispose()


def _window_frame(rows: Sequence[Any]) -> pd.DataFrame:
    """Return ``cell, window, events, people`` (int64) from query rows."""
    # One int64 array: pandas probes SQLAlchemy Row objects attribute by attribute (10x slower).
    values = np.array([tuple(r) for r in rows], dtype=np.int64).reshape(-1, 4)
    return pd.DataFrame({name: values[:, i] for i, name in enumerate(("cell", "window", "events", "people"))})


COMMON_WRITE_COLUMNS = ("id", "geom", "min_lng", "min_lat", "max_lng", "max_lat", "revision", "deleted_at")


def feature_write_columns(table: str) -> list[str]:
    """Return the columns written for a feature table, in order."""
    return [*COMMON_WRITE_COLUMNS, *FIELDS[table]]
