"""The production store: PostgreSQL with PostGIS, GiST on geometry, btree on time and H3."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import shapely
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL

from data.store import SqlStore, event_rows, event_write_columns, feature_write_columns


def _copy_rows(conn: Connection, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None, "a live psycopg connection is needed for COPY"
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


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
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "id")
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {stage} "
        f"ON CONFLICT (id) DO UPDATE SET {updates}"
    )


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

    def _init_extras(self, conn: Connection) -> None:
        has = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first()
        if not has:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))

    def _time_param(self, when: datetime) -> Any:
        return when

    def _time_value(self, raw: Any) -> datetime | None:
        if raw is None:
            return None
        return raw.astimezone(UTC)

    def _geom_sql(self) -> str:
        return "ST_AsBinary(geom)"

    def _window_index_sql(self) -> str:
        return "floor(extract(epoch FROM (CAST(:end AS timestamptz) - occurred_at)) / :length)::int"

    def _duration_param(self, length: timedelta) -> Any:
        return length.total_seconds()

    def _bbox_sql(self, table: str) -> str:
        return "geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"

    def _write_features(self, conn: Connection, table: str, rows: list[dict[str, Any]], revision: int) -> None:
        columns = feature_write_columns(table)
        values = []
        for r in rows:
            geom = shapely.to_wkb(shapely.set_srid(r["geom"], 4326), hex=True, include_srid=True)
            rec = {**r, "geom": geom, "revision": revision, "deleted_at": None}
            values.append(tuple(rec.get(c) for c in columns))
        _copy_upsert(conn, table, columns, values)

    def _write_events(self, conn: Connection, frame: pd.DataFrame, revision: int) -> None:
        pts = shapely.set_srid(shapely.points(frame["lng"].to_numpy(float), frame["lat"].to_numpy(float)), 4326)
        geoms = shapely.to_wkb(pts, hex=True, include_srid=True).tolist()
        times = frame["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").tolist()
        _copy_upsert(conn, "events", event_write_columns(), event_rows(frame, revision, geoms, times))
