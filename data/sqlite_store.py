"""The embedded default: a plain SQLite file with WKB geometry, R*Tree bbox index and WAL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pandas as pd
import shapely
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import URL

from data.schema import LAYER_TABLES
from data.store import SqlStore, event_rows, event_write_columns, feature_write_columns


def _to_ms(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


class SQLiteStore(SqlStore):
    """Store backed by one SQLite file; a feed process can write while the app reads."""

    backend = "sqlite"
    dialect = "sqlite"

    def __init__(self, url: URL) -> None:
        path = Path(url.database or "hbm.sqlite").expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # reported as StoreUnavailable on first use, with the reason
        engine = create_engine(url.set(database=str(path)), connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        super().__init__(engine, str(path))

    def _init_extras(self, conn: Connection) -> None:
        for table in LAYER_TABLES:
            conn.exec_driver_sql(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS rtree_{table} USING rtree(rid, min_lng, max_lng, min_lat, max_lat)"
            )

    def _init_triggers(self, conn: Connection) -> None:
        # R*Tree virtual tables ignore OR REPLACE, so an update deletes the old box first.
        for table in LAYER_TABLES:
            box = "(NEW.rowid, NEW.min_lng, NEW.max_lng, NEW.min_lat, NEW.max_lat)"
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS trg_{table}_insert_rtree AFTER INSERT ON {table} "
                f"BEGIN INSERT INTO rtree_{table} VALUES {box}; END"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS trg_{table}_update_rtree AFTER UPDATE OF "
                f"min_lng, max_lng, min_lat, max_lat ON {table} "
                f"BEGIN DELETE FROM rtree_{table} WHERE rid = OLD.rowid; "
                f"INSERT INTO rtree_{table} VALUES {box}; END"
            )

    def _time_param(self, when: datetime) -> Any:
        return _to_ms(when)

    def _time_value(self, raw: Any) -> datetime | None:
        return None if raw is None else datetime.fromtimestamp(int(raw) / 1000, UTC)

    def geom_sql(self) -> str:
        return "geom"

    def _window_index_sql(self) -> str:
        return "((:end - occurred_at) / :length)"  # integer milliseconds: integer division

    def _duration_param(self, length: timedelta) -> Any:
        return int(length.total_seconds() * 1000)

    def _bbox_sql(self, table: str) -> str:
        return (
            f"rowid IN (SELECT rid FROM rtree_{table} WHERE max_lng >= :w AND min_lng <= :e "
            "AND max_lat >= :s AND min_lat <= :n)"
        )

    @staticmethod
    def _upsert_sql(table: str, columns: list[str]) -> str:
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT(id) DO UPDATE SET {updates}"
        )

    def write_features(self, conn: Connection, table: str, rows: list[dict[str, Any]], revision: int) -> None:
        columns = feature_write_columns(table)
        values = []
        for r in rows:
            rec = {**r, "geom": shapely.to_wkb(r["geom"]), "revision": revision, "deleted_at": None}
            if rec.get("last_observed_at") is not None:
                rec["last_observed_at"] = _to_ms(rec["last_observed_at"])
            values.append(tuple(rec.get(c) for c in columns))
        conn.exec_driver_sql(self._upsert_sql(table, columns), values)

    def _write_events(self, conn: Connection, frame: pd.DataFrame, revision: int) -> None:
        geoms = shapely.to_wkb(shapely.points(frame["lng"].to_numpy(float), frame["lat"].to_numpy(float))).tolist()
        rows = event_rows(frame, revision, geoms, frame["occurred_ms"].tolist())
        conn.exec_driver_sql(self._upsert_sql("events", event_write_columns()), rows)

    def delete_events_before(self, conn: Connection, cutoff: datetime, batch: int) -> int:
        params = {"c": self.to_db_time(cutoff), "n": batch}
        # The R*Tree index is kept by triggers on insert and update only: drop the batch's boxes first,
        # or a later insert that reuses a rowid would collide with a stale box.
        pick = "SELECT rowid FROM events WHERE occurred_at < :c ORDER BY rowid LIMIT :n"
        conn.execute(text(f"DELETE FROM rtree_events WHERE rid IN ({pick})"), params)
        return int(conn.execute(text(f"DELETE FROM events WHERE rowid IN ({pick})"), params).rowcount)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        # An OS lock on a file beside the database. flock locks belong to the open file, so two
        # threads of one process exclude each other as two processes do.
        path = Path(f"{self.label}.{name}.lock")
        with path.open("a") as handle:
            got = _try_file_lock(handle)
            try:
                yield got
            finally:
                if got:
                    _file_unlock(handle)


def _try_file_lock(handle: IO[str]) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _file_unlock(handle: IO[str]) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
