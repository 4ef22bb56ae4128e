"""The export audit: every export writes one row (when, who, View, format, feature counts)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert, select

from data import audit_log
from data.interfaces import Store
from geo.errors import HbmError

TABLE = "export_audit"
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class ExportRecord:
    """One audited export."""

    id: int
    at: datetime
    who: str
    format: str
    view: dict[str, Any]
    feature_counts: dict[str, int]
    filename: str | None
    bytes: int | None

    def as_dict(self) -> dict[str, Any]:
        """Return the record as JSON-safe values."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "who": self.who,
            "format": self.format,
            "view": self.view,
            "feature_counts": self.feature_counts,
            "filename": self.filename,
            "bytes": self.bytes,
        }


def _table(store: Store) -> Table:
    if TABLE not in store.metadata.tables:
        raise HbmError(f"the {store.backend} store has no {TABLE} table")
    return store.metadata.tables[TABLE]


def record_export(
    store: Store,
    *,
    who: str,
    fmt: str,
    view: dict[str, Any],
    feature_counts: dict[str, int],
    filename: str | None = None,
    nbytes: int | None = None,
    at: datetime | None = None,
) -> int:
    """Write one audit row (creating the table in a store older than it); return its id."""
    table = _table(store)
    row = {
        "at": store.to_db_time(at or datetime.now(UTC)),
        "who": who,
        "format": fmt,
        "view_json": json.dumps(view, sort_keys=True),
        "feature_counts_json": json.dumps(feature_counts, sort_keys=True),
        "filename": filename,
        "bytes": nbytes,
    }
    with store.connect(write=True) as conn:
        table.create(conn, checkfirst=True)
        result = conn.execute(insert(table).values(**row))
        audit_id = int(result.inserted_primary_key[0])
        audit_log.note(store, "export", fmt, {"export_audit_id": audit_id, "file": filename}, who=who, conn=conn)
        return audit_id


def list_exports(store: Store, limit: int = 50) -> list[ExportRecord]:
    """Return the latest ``limit`` audited exports, newest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise HbmError(f"limit must be between 1 and {MAX_LIMIT}")
    table = _table(store)
    query = select(table).order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
    with store.connect() as conn:
        if not conn.dialect.has_table(conn, TABLE):
            return []  # a store from before the audit: nothing exported yet
        rows = conn.execute(query).mappings().all()
    return [
        ExportRecord(
            id=int(r["id"]),
            at=store.from_db_time(r["at"]),
            who=r["who"],
            format=r["format"],
            view=json.loads(r["view_json"]),
            feature_counts=json.loads(r["feature_counts_json"]),
            filename=r["filename"],
            bytes=None if r["bytes"] is None else int(r["bytes"]),
        )
        for r in rows
    ]
