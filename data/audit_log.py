"""The audit log: who did what, when and from where. Append-only: this module has no update or delete.

Rows are written by the sign-in code (logins, failed logins, log-outs), by user management, and
through :func:`note`, the one-line hook other modules call with a change (exports, SAR plan edits,
alert rules and acknowledgements, purges). ``who`` is the account the caller names, else the
signed-in user of the web request (the authentication layer sets it with :func:`set_actor`), else
``"system"``. The store refuses UPDATE and DELETE on the table (triggers in
``data/schema.py``), so not even a bug here can rewrite history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select

from data.interfaces import Store
from geo.errors import HbmError

TABLE = "audit_log"
MAX_LIMIT = 100_000
SYSTEM = "system"

# The actions the application writes. ``query`` accepts any text, so older rows stay readable.
ACTIONS = (
    "login",
    "login_failed",
    "login_rate_limited",
    "logout",
    "user_add",
    "user_role",
    "user_disable",
    "user_enable",
    "user_password",
    "export",
    "sar_plan_create",
    "sar_plan_update_sector",  # the plan edits are named after the data/sar_plans.py function that made them
    "sar_plan_record_sortie",
    "sar_plan_delete_sector",
    "sar_plan_split_sector",
    "sar_plan_add_sector",
    "sar_plan_delete",
    "rule_change",
    "alert_ack",
    "purge",
    # interoperability (issue 16)
    "api_token_create",
    "api_token_revoke",
    "api_token_use",
    "api_token_refused",
    "notify_queue",
    "notify_sent",
    "notify_failed",
    "notify_dead_letter",
    "notify_retry",
    "tak_push",
)

_ACTOR: ContextVar[tuple[str, str | None] | None] = ContextVar("hbm_audit_actor", default=None)


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    at: datetime
    who: str
    action: str
    target: str | None
    detail: dict[str, Any]
    ip: str | None

    def as_dict(self) -> dict[str, Any]:
        """Return the entry as JSON-safe values."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "who": self.who,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
            "ip": self.ip,
        }


# -- who is acting ---------------------------------------------------------------------------------
def set_actor(who: str, ip: str | None = None) -> Token[tuple[str, str | None] | None]:
    """Make ``who`` (from ``ip``) the actor of audit rows written in this context; return the reset token."""
    return _ACTOR.set((who, ip))


def reset_actor(token: Token[tuple[str, str | None] | None]) -> None:
    """Undo :func:`set_actor` (the end of a web request)."""
    _ACTOR.reset(token)


def clear_actor() -> None:
    """Forget the actor of this context (a safety net when a reset token cannot be used)."""
    _ACTOR.set(None)


@contextmanager
def acting_as(who: str, ip: str | None = None) -> Iterator[None]:
    """Context manager: audit rows written inside it name ``who`` (CLI commands, jobs, tests)."""
    token = set_actor(who, ip)
    try:
        yield
    finally:
        reset_actor(token)


def current_actor() -> tuple[str, str | None] | None:
    """Return ``(who, ip)`` of the current request or :func:`acting_as` block, or None."""
    return _ACTOR.get()


# -- writing ---------------------------------------------------------------------------------------
def _table(store: Store) -> Table:
    return store.metadata.tables[TABLE]


def _row(store: Store, who: str, action: str, target: Any, detail: Any, ip: str | None) -> dict[str, Any]:
    action = (action or "").strip()
    if not action:
        raise HbmError("an audit row needs an action")
    return {
        "at": store.to_db_time(datetime.now(UTC)),
        "who": (who or SYSTEM)[:200],
        "action": action[:64],
        "target": None if target is None else str(target)[:500],
        "detail": json.dumps(detail or {}, sort_keys=True, default=str),
        "ip": ip[:64] if ip else None,
    }


def record(
    store: Store,
    who: str,
    action: str,
    target: Any = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    conn: Connection | None = None,
) -> int:
    """Append one row (in ``conn``'s transaction when given, so it commits with the change); return its id."""
    row = _row(store, who, action, target, detail, ip)
    if conn is not None:
        return _insert(store, conn, row)
    with store.connect(write=True) as own:
        return _insert(store, own, row)


def _insert(store: Store, conn: Connection, row: dict[str, Any]) -> int:
    table = _table(store)
    table.create(conn, checkfirst=True)  # a store from before the audit log (with its append-only triggers)
    key = conn.execute(insert(table).values(**row)).inserted_primary_key
    assert key is not None
    return int(key[0])


def note(
    store: Store,
    action: str,
    target: Any = None,
    detail: dict[str, Any] | None = None,
    who: str | None = None,
    conn: Connection | None = None,
) -> int:
    """The hook for other modules: append a row naming ``who``, else the request's user, else "system"; return its id.

    Pass ``who`` only when the caller knows the account or process responsible (a CLI user, the
    "default" rules); typed free text (an alert's "acknowledged by") belongs in ``detail``. The
    signed-in user of the request, when there is one and it differs, is kept as ``detail["signed_in"]``
    and the request's IP as ``ip``.
    """
    actor = current_actor()
    if actor is None:
        return record(store, who or SYSTEM, action, target, detail, None, conn=conn)
    name, ip = actor
    if who and who != name:
        detail = {**(detail or {}), "signed_in": name}
    return record(store, who or name, action, target, detail, ip, conn=conn)


# -- reading ---------------------------------------------------------------------------------------
def query(
    store: Store,
    action: str | None = None,
    who: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
    target: str | None = None,
) -> list[AuditEntry]:
    """Return audit rows matching the filters, newest first (``action`` ending in ``*`` matches a prefix)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise HbmError(f"limit must be between 1 and {MAX_LIMIT:,}")
    table = _table(store)
    stmt = select(table)
    if action:
        if action.endswith("*"):
            stmt = stmt.where(table.c.action.startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(table.c.action == action)
    if who:
        stmt = stmt.where(table.c.who == who)
    if target:
        stmt = stmt.where(table.c.target == target)
    if since is not None:
        stmt = stmt.where(table.c.at >= store.to_db_time(since))
    if until is not None:
        stmt = stmt.where(table.c.at < store.to_db_time(until))
    stmt = stmt.order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
    with store.connect() as conn:
        if not conn.dialect.has_table(conn, TABLE):
            return []  # a store from before the audit log: nothing logged yet
        rows = conn.execute(stmt).mappings().all()
    return [
        AuditEntry(
            id=int(r["id"]),
            at=store.from_db_time(r["at"]),  # type: ignore[arg-type]
            who=r["who"],
            action=r["action"],
            target=r["target"],
            detail=json.loads(r["detail"] or "{}"),
            ip=r["ip"],
        )
        for r in rows
    ]
