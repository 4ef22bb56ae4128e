"""The declared store interface: map reads for the layers, and connections for the repositories.

The repositories in ``data/`` (users, audit, SAR plans, alerts, retention, API tokens, notifications,
sign-in limits, preferences, shared state) are written against :class:`Store` alone: they take a
connection from ``store.connect(write=True)`` and compose their writes in that one transaction with
the public hooks below (revision bumps, feature writes). Dialect differences stay in the backends
(``data/sqlite_store.py``, ``data/postgis_store.py``).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Engine, MetaData

from data.bulk_events import EventLoad
from geo.validate import BBox

__all__ = ["BBox", "Revision", "Store"]


@dataclass(frozen=True)
class Revision:
    """The last revision written to one table, and when."""

    revision: int
    updated_at: datetime | None


class Store(abc.ABC):
    """What the layers, the CLI and the feed need from a store."""

    backend: str  # "sqlite" or "postgis"
    dialect: str  # the SQLAlchemy dialect name
    label: str  # where the store is, for messages (no password)
    engine: Engine
    metadata: MetaData  # every table of the store, for the repositories' SQLAlchemy Core queries

    @abc.abstractmethod
    def init_schema(self) -> None:
        """Create tables and indexes; safe to run again."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable if the store cannot answer."""

    @abc.abstractmethod
    def upsert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert or update rows by id; return the new revision."""

    @abc.abstractmethod
    def upsert_events(self, frame: pd.DataFrame) -> int:
        """Insert or update an events DataFrame (lat/lng columns) by id; return the new revision."""

    @abc.abstractmethod
    def bulk_events(self) -> AbstractContextManager[EventLoad]:
        """Return a context yielding a bulk load of events: ``load.add(frame)`` stages, the block's end merges.

        Identical events are not rewritten; when nothing is new or changed the revision does not move.
        ``load.result`` tells what was written. An exception inside the block writes nothing.
        """

    @abc.abstractmethod
    def soft_delete(self, table: str, ids: Sequence[str]) -> int:
        """Mark rows deleted; return the new revision."""

    @abc.abstractmethod
    def revisions(self) -> dict[str, Revision]:
        """Return the last revision per table, plus the global one under ``"_all"``."""

    @abc.abstractmethod
    def changes_since(self, table: str, revision: int) -> gpd.GeoDataFrame:
        """Return rows of ``table`` written after ``revision``, deleted ones included."""

    @abc.abstractmethod
    def features(self, table: str, bbox: BBox | None = None) -> gpd.GeoDataFrame:
        """Return the live (not deleted) rows of a feature table, optionally within ``bbox``."""

    @abc.abstractmethod
    def cell_counts(self, res: int, start: datetime, end: datetime, bbox: BBox | None = None) -> pd.DataFrame:
        """Return ``cell, events, people`` per H3 cell at ``res`` for events in [start, end).

        At res 4-7 the whole hours of the window are summed from the hourly rollup (as in
        ``window_cell_counts``: its bbox test uses each group's mean position, and the hours of
        purged events whose aggregates were kept still count); the partial hours at its ends are
        counted from the events themselves.
        """

    @abc.abstractmethod
    def window_cell_counts(
        self, res: int, end: datetime, length: timedelta, windows: int, bbox: BBox | None = None
    ) -> pd.DataFrame:
        """Return ``cell, window, events, people`` for ``windows`` consecutive windows of ``length`` ending at ``end``.

        Window 0 is [end - length, end), window 1 the one before it, and so on. An event whose
        ``location_precision_m`` is coarser than a cell at ``res`` counts in its cell at the
        finest resolution that fits it, so the result may mix resolutions. Whole-hour windows at
        res 4-7 are summed from the hourly rollup, whose bbox test uses each group's mean position.
        """

    @abc.abstractmethod
    def first_event_time(self, bbox: BBox | None = None) -> datetime | None:
        """Return when the data in ``bbox`` begin: the first live event there (None when there is none)."""

    @abc.abstractmethod
    def event_points(
        self, start: datetime, end: datetime, bbox: BBox | None = None, kinds: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return raw events ``id, occurred_at, kind, people, lat, lng`` in [start, end) (server-side use only)."""

    @abc.abstractmethod
    def cell_event_kinds(self, cell: int, start: datetime, end: datetime) -> pd.DataFrame:
        """Return ``kind, events, people`` for the events in one H3 cell in [start, end), largest first."""

    @abc.abstractmethod
    def event_totals(self, start: datetime, end: datetime, bbox: BBox | None = None) -> tuple[int, int]:
        """Return (events, people) in [start, end)."""

    @abc.abstractmethod
    def flows_by(self, column: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Return ``key, events, people`` grouped by ``crossing_point_id`` or ``route_id``."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Return the number of live rows per table."""

    # -- transactions: repositories and services compose their writes through these -----------
    @abc.abstractmethod
    def connect(self, write: bool = False) -> AbstractContextManager[Connection]:
        """Return a context manager with a connection (a transaction if ``write``); failures raise StoreUnavailable."""

    @abc.abstractmethod
    def to_db_time(self, when: datetime) -> Any:
        """Return ``when`` (aware UTC) encoded as this backend stores times."""

    @abc.abstractmethod
    def from_db_time(self, raw: Any) -> datetime | None:
        """Return an aware UTC datetime from a stored time value."""

    @abc.abstractmethod
    def bump_revisions(self, conn: Connection, tables: Sequence[str]) -> int:
        """Advance the global revision and stamp ``tables`` with it, inside ``conn``; return it."""

    @abc.abstractmethod
    def write_features(self, conn: Connection, table: str, rows: list[dict[str, Any]], revision: int) -> None:
        """Insert or update prepared feature rows of ``table`` at ``revision``, inside ``conn``."""

    @abc.abstractmethod
    def geom_sql(self) -> str:
        """Return the SQL expression that selects a feature table's ``geom`` as WKB."""

    @abc.abstractmethod
    def delete_events_before(self, conn: Connection, cutoff: datetime, batch: int) -> int:
        """Hard-delete up to ``batch`` events that occurred before ``cutoff``, inside ``conn``; return how many."""

    def drop_event_months_before(self, conn: Connection, cutoff: datetime) -> tuple[int, int]:
        """Drop the whole months of events that end by ``cutoff`` (partitioned backends); return (events, months).

        The default (no partitions) drops nothing; a purge then deletes every old event in batches.
        """
        return 0, 0

    @abc.abstractmethod
    def holds_events_from(self, source: str) -> bool:
        """Return True if any stored event (deleted ones included) came from ``source``."""

    @abc.abstractmethod
    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """Try to take the store-wide lock ``name`` without waiting; yield whether this process holds it."""

    def dispose(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections."""
