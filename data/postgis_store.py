"""The production store: PostgreSQL with PostGIS, GiST on geometry, btree on time and H3."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import shapely
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import InterfaceError, OperationalError

from data import partitions
from data.store import SqlStore, feature_write_columns
from geo.errors import StoreUnavailable

log = logging.getLogger(__name__)


def _copy_rows(conn: Connection, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None, "a live psycopg connection is needed for COPY"
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# The key an upsert of events merges on. Events are partitioned by month of occurred_at (data/partitions.py)
# and a partitioned table's primary key must hold the partition column, so the key is (id, occurred_at),
# not id alone. An upsert that moves an event to another time deletes the old row first (_copy_upsert).
EVENTS_CONFLICT_KEY: tuple[str, ...] = ("id", "occurred_at")
FEATURES_CONFLICT_KEY: tuple[str, ...] = ("id",)


def conflict_key(table: str) -> tuple[str, ...]:
    """Return the columns an upsert into ``table`` merges on."""
    return EVENTS_CONFLICT_KEY if table == "events" else FEATURES_CONFLICT_KEY


def _copy_upsert(conn: Connection, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Upsert rows by id: plain COPY when every id is new, else COPY to a staging table and merge."""
    ids = [row[0] for row in rows]
    existing = conn.execute(text(f"SELECT 1 FROM {table} WHERE id = ANY(:ids) LIMIT 1"), {"ids": ids}).first()
    if existing is None:
        _copy_rows(conn, table, columns, rows)
        return
    stage = f"stage_{table}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    _copy_rows(conn, stage, columns, rows)
    key = conflict_key(table)
    if len(key) > 1:  # an id is unique on its own: drop its old row where the rest of the key moved
        moved = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in key if c != "id")
        conn.exec_driver_sql(f"DELETE FROM {table} AS t USING {stage} AS s WHERE t.id = s.id AND ({moved})")
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {stage} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )
    conn.exec_driver_sql(f"TRUNCATE {stage}")  # a second upsert in the same transaction starts empty


class RetryBackoff:
    """Fail fast while the server is down: after a connection failure, let one probe through per delay.

    The delay doubles with each consecutive failure (``first_s``, 2x, 4x ...) up to ``cap_s``, and
    only one probe runs at a time, so any number of polling clients cost the server at most one
    connection attempt per delay instead of one each. The cap (1 s) is the shortest refresh
    interval the app allows, so once the server is back the app recovers within two refreshes.
    """

    def __init__(self, first_s: float = 0.1, cap_s: float = 1.0) -> None:
        self.first_s, self.cap_s = first_s, cap_s
        self.failures = 0
        self.retry_at = 0.0
        self.last_error = ""
        self._probing = False
        self._lock = threading.Lock()

    def admit(self, label: str) -> bool:
        """Return True if this call is the probe after failures; raise StoreUnavailable while backing off."""
        if not self.failures:
            return False
        with self._lock:
            now = time.monotonic()
            if self.failures and (self._probing or now < self.retry_at):
                wait = max(self.retry_at - now, 0.0)
                raise StoreUnavailable(
                    f"The postgis store at {label} is unavailable: {self.last_error} "
                    f"(next connection attempt in {wait:.1f} s)"
                )
            self._probing = bool(self.failures)
            return self._probing

    def failed(self, error: str) -> None:
        """Record a connection failure and push the next attempt back."""
        with self._lock:
            self.failures += 1
            self.last_error = error
            self.retry_at = time.monotonic() + min(self.cap_s, self.first_s * 2 ** (self.failures - 1))
            self._probing = False

    def succeeded(self) -> None:
        """Record a successful call: no more backing off."""
        if self.failures or self._probing:
            with self._lock:
                self.failures, self._probing = 0, False

    def release(self) -> None:
        """End a probe that failed for a reason other than the connection."""
        with self._lock:
            self._probing = False


class PostGISStore(SqlStore):
    """Store backed by PostgreSQL + PostGIS through SQLAlchemy 2 and psycopg 3."""

    backend = "postgis"
    dialect = "postgresql"

    def __init__(self, url: URL, connect_timeout_s: int = 3) -> None:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=4,
            max_overflow=4,
            connect_args={"connect_timeout": connect_timeout_s, "application_name": "hbm"},
        )
        super().__init__(engine, url.render_as_string(hide_password=True))
        self.backoff = RetryBackoff()

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        """The shared connection, behind :class:`RetryBackoff` (connection failures only, not SQL errors)."""
        probe = self.backoff.admit(self.label)
        try:
            with super()._connect(write=write) as conn:
                yield conn
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, OperationalError | InterfaceError | OSError):
                self.backoff.failed(str(exc).split(" is unavailable: ", 1)[-1])
            elif probe:
                self.backoff.release()
            raise
        except psycopg.Error as exc:
            # COPY runs on the raw psycopg connection, so its errors arrive without SQLAlchemy's wrapper.
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if isinstance(exc, psycopg.OperationalError):
                self.backoff.failed(first)
            elif probe:
                self.backoff.release()
            raise StoreUnavailable(f"The {self.backend} store at {self.label} is unavailable: {first}") from exc
        except BaseException:
            if probe:
                self.backoff.release()
            raise
        else:
            self.backoff.succeeded()

    def _init_extras(self, conn: Connection) -> None:
        has = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first()
        if not has:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        if partitions.detach_unpartitioned(conn):  # a store from before monthly partitions
            log.warning("events is not partitioned: moving its rows into monthly partitions")

    def _init_triggers(self, conn: Connection) -> None:
        moved = partitions.migrate_rows(conn)  # same transaction as the schema: all or nothing
        if moved:
            log.warning("moved %d events into monthly partitions", moved)

    def _time_param(self, when: datetime) -> Any:
        return when

    def _time_value(self, raw: Any) -> datetime | None:
        if raw is None:
            return None
        return raw.astimezone(UTC)

    def geom_sql(self) -> str:
        return "ST_AsBinary(geom)"

    def _window_index_sql(self) -> str:
        return "floor(extract(epoch FROM (CAST(:end AS timestamptz) - occurred_at)) / :length)::int"

    def _duration_param(self, length: timedelta) -> Any:
        return length.total_seconds()

    def _bbox_sql(self, table: str) -> str:
        return "geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"

    def write_features(self, conn: Connection, table: str, rows: list[dict[str, Any]], revision: int) -> None:
        columns = feature_write_columns(table)
        values = []
        for r in rows:
            geom = shapely.to_wkb(shapely.set_srid(r["geom"], 4326), hex=True, include_srid=True)
            rec = {**r, "geom": geom, "revision": revision, "deleted_at": None}
            values.append(tuple(rec.get(c) for c in columns))
        _copy_upsert(conn, table, columns, values)

    def merge_insert(
        self, conn: Connection, table: str, columns: list[str], rows: list[tuple[Any, ...]], conflict_sql: str
    ) -> None:
        # COPY into a scratch table, then one merge: far faster than a row-by-row executemany.
        stage, names = f"stage_{table}", ", ".join(columns)
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS")
        _copy_rows(conn, stage, columns, rows)
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} {conflict_sql}")
        conn.exec_driver_sql(f"TRUNCATE {stage}")

    def drop_event_months_before(self, conn: Connection, cutoff: datetime) -> tuple[int, int]:
        events, names = partitions.drop_before(conn, cutoff)
        return events, len(names)

    def delete_events_before(self, conn: Connection, cutoff: datetime, batch: int) -> int:
        pick = "SELECT id FROM events WHERE occurred_at < :c LIMIT :n"
        params = {"c": self.to_db_time(cutoff), "n": batch}
        return int(conn.execute(text(f"DELETE FROM events WHERE id IN ({pick})"), params).rowcount)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        key = lock_key(name)
        with self.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()


def lock_key(name: str) -> int:
    """Return a stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.blake2b(f"hbm:{name}".encode(), digest_size=8).digest(), "big", signed=True)
