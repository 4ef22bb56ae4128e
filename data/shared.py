"""State every worker and every node shares through the store, not through a process.

- ``exclusive(store, name)``: a lock held by one process at a time across all workers and nodes of a
  store (a PostgreSQL session advisory lock; on SQLite an OS file lock next to the database file).
- ``run_once(...)``: a job (alert evaluation) that runs exactly once per interval across all of them;
  the ledger of last runs is the ``hbm_jobs`` table.
- The sign-in failure counters of ``data.login_limits`` live in ``login_failures``.

The tables are created on first use (safe to repeat), so an existing store needs no migration.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, String, Table, delete, insert, select

from data.interfaces import Store

METADATA = MetaData()
JOBS = Table(
    "hbm_jobs",
    METADATA,
    Column("name", String(64), primary_key=True),
    Column("last_run_at", Float, nullable=False),  # epoch seconds (wall clock: shared across machines)
    Column("last_revision", BigInteger),
)
LOGIN_FAILURES = Table(
    "login_failures",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, index=True),  # "ip:…" or "name:…"
    Column("at", Float, nullable=False, index=True),
)
LOGIN_BLOCKS = Table(
    "login_block_notes",  # when a blocked key was last audited, so the audit gets one row per window
    METADATA,
    Column("key", String(300), primary_key=True),
    Column("at", Float, nullable=False),
)

_ready: weakref.WeakSet[Any] = weakref.WeakSet()  # engines whose tables exist
_ready_lock = threading.Lock()


def ensure_tables(store: Store) -> None:
    """Create the shared-state tables in ``store`` once per process (safe to repeat)."""
    if store.engine in _ready:
        return
    with _ready_lock:
        with store.connect(write=True) as conn:
            METADATA.create_all(conn, checkfirst=True)
        _ready.add(store.engine)


@contextmanager
def exclusive(store: Store, name: str) -> Iterator[bool]:
    """Try to take the store-wide lock ``name`` without waiting; yield whether this process holds it."""
    with store.exclusive(name) as got:
        yield got


def last_run(store: Store, name: str) -> tuple[float, int | None] | None:
    """Return ``(last_run_at, last_revision)`` of job ``name``, or None if it never ran."""
    ensure_tables(store)
    with store.connect() as conn:
        row = conn.execute(select(JOBS.c.last_run_at, JOBS.c.last_revision).where(JOBS.c.name == name)).first()
    return None if row is None else (float(row[0]), None if row[1] is None else int(row[1]))


def is_due(
    last: tuple[float, int | None] | None, now_s: float, revision: int | None, min_interval_s: float, max_idle_s: float
) -> bool:
    """Return True when a job last run at ``last`` should run now: never ran, idle too long, or new data."""
    if last is None:
        return True
    elapsed = now_s - last[0]
    return elapsed >= max_idle_s or (elapsed >= min_interval_s and revision != last[1])


@contextmanager
def run_once(
    store: Store, name: str, now_s: float, revision: int | None, min_interval_s: float, max_idle_s: float
) -> Iterator[bool]:
    """Yield True in exactly one process when job ``name`` is due (see ``is_due``), else False.

    The job runs while the store-wide lock is held, and its run is recorded when the block ends
    without an exception; every other worker or node yields False meanwhile and afterwards.
    """
    ensure_tables(store)
    with exclusive(store, name) as got:
        due = got and is_due(last_run(store, name), now_s, revision, min_interval_s, max_idle_s)
        yield due
        if due:
            with store.connect(write=True) as conn:
                conn.execute(delete(JOBS).where(JOBS.c.name == name))
                conn.execute(insert(JOBS).values(name=name, last_run_at=now_s, last_revision=revision))


def prune_table(conn: Any, table: Table, before: float) -> None:
    """Delete rows of ``table`` whose ``at`` is before ``before``."""
    conn.execute(delete(table).where(table.c.at < before))
