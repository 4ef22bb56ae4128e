"""Monthly partitions of the PostGIS events table: created as writes need them, dropped whole by a purge.

``events`` is declared ``PARTITION BY RANGE (occurred_at)`` (data/schema.py). Each calendar month
(UTC) is one partition named ``events_pYYYYMM``; a write creates the partitions of its months first
(:func:`ensure_months`), under an advisory lock so that two workers never race on the DDL. A purge
drops the partitions that lie wholly before its cutoff (:func:`drop_before`) and deletes only the
rest row by row. A store created before partitioning is migrated by :func:`detach_unpartitioned`
(before the schema is created) and :func:`migrate_rows` (after), in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, text

PARENT = "events"
LEGACY = "events_unpartitioned"  # the old table while its rows move into the partitions
_NAME = re.compile(r"^events_p(\d{4})(\d{2})$")
_LOCK_KEY = 0x4842_4D50  # "HBMP": pg_advisory_xact_lock key for partition DDL


def month_of(when: datetime) -> tuple[int, int]:
    """Return the (year, month) of an aware instant, in UTC."""
    when = when.astimezone(UTC)
    return when.year, when.month


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """Return the [start, end) instants (UTC) of one month."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def partition_name(year: int, month: int) -> str:
    """Return the partition table name of one month, e.g. ``events_p202611``."""
    return f"{PARENT}_p{year:04d}{month:02d}"


def months_of(times: pd.Series) -> set[tuple[int, int]]:
    """Return the (year, month) pairs of a series of aware timestamps (or ISO strings)."""
    stamps = pd.to_datetime(times, utc=True)
    if stamps.empty:
        return set()
    return {(int(y), int(m)) for y, m in zip(stamps.dt.year, stamps.dt.month, strict=True)}


def is_partitioned(conn: Connection) -> bool:
    """Return True when ``events`` exists as a partitioned table."""
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": f"public.{PARENT}"}
    ).scalar()
    return kind == "p"


def existing_months(conn: Connection) -> set[tuple[int, int]]:
    """Return the months that have a partition."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": f"public.{PARENT}"},
    ).scalars()
    found = set()
    for name in names:
        match = _NAME.match(name)
        if match:
            found.add((int(match[1]), int(match[2])))
    return found


def occupied(conn: Connection) -> tuple[list[str], int]:
    """Return (the partitions holding at least one row, live or soft-deleted, oldest first; how many exist)."""
    names = [partition_name(y, m) for y, m in sorted(existing_months(conn))]
    return [n for n in names if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {n})")).scalar()], len(names)


def ensure_months(conn: Connection, months: Iterable[tuple[int, int]]) -> list[str]:
    """Create the partitions of ``months`` that do not exist yet; return the names created.

    One catalog query when they all exist (every write asks: a purge in another process may have
    dropped one); otherwise creation runs under an advisory lock, so concurrent writers never race.
    """
    wanted = set(months)
    if not wanted or wanted <= existing_months(conn):
        return []
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    created = []
    for year, month in sorted(wanted - existing_months(conn)):  # again, now that no one else is creating
        start, end = month_bounds(year, month)
        name = partition_name(year, month)
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
        created.append(name)
    return created


def drop_before(conn: Connection, cutoff: datetime) -> tuple[int, list[str]]:
    """Drop the partitions that end at or before ``cutoff``; return (rows they held, their names)."""
    total, dropped = 0, []
    for year, month in sorted(existing_months(conn)):
        if month_bounds(year, month)[1] > cutoff:
            continue
        name = partition_name(year, month)
        total += int(conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one())
        conn.exec_driver_sql(f"DROP TABLE {name}")
        dropped.append(name)
    return total, dropped


def detach_unpartitioned(conn: Connection) -> bool:
    """Rename a plain (pre-partitioning) ``events`` table and its indexes out of the way; return True if done.

    The schema then creates the partitioned ``events``; :func:`migrate_rows` moves the rows over.
    """
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": f"public.{PARENT}"}
    ).scalar()
    if kind != "r":
        return False
    conn.exec_driver_sql(f"ALTER TABLE {PARENT} RENAME TO {LEGACY}")
    indexes = conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = :t"), {"t": LEGACY}).scalars()
    for index in list(indexes):
        conn.exec_driver_sql(f'ALTER INDEX "{index}" RENAME TO "{index[:40]}_legacy"')
    return True


def migrate_rows(conn: Connection) -> int:
    """Move the rows of a detached pre-partitioning table into the partitions, drop it; return the rows moved."""
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"public.{LEGACY}"}).scalar() is None:
        return 0
    bounds = conn.execute(text(f"SELECT MIN(occurred_at), MAX(occurred_at) FROM {LEGACY}")).one()
    if bounds[0] is not None:
        months, (year, month) = [], month_of(bounds[0])
        while (year, month) <= month_of(bounds[1]):
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        ensure_months(conn, months)
    old = set(conn.execute(text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                           {"t": LEGACY}).scalars())  # fmt: skip
    new = conn.execute(
        text("SELECT column_name FROM information_schema.columns WHERE table_name = :t ORDER BY ordinal_position"),
        {"t": PARENT},
    ).scalars()
    cols = ", ".join(c for c in new if c in old)
    moved = conn.exec_driver_sql(f"INSERT INTO {PARENT} ({cols}) SELECT {cols} FROM {LEGACY}").rowcount
    conn.exec_driver_sql(f"DROP TABLE {LEGACY}")
    return int(moved)
