"""Per-user API tokens for machine clients (QGIS/GDAL through OGC API – Features, Google Earth's KML link).

A token acts as its user with that user's role: a viewer's token sees what a viewer sees. The store
keeps only the SHA-256 of a token (shown once, when it is made), so someone who reads the store
cannot use one. Tokens are revoked one by one, or all of a user's at once; a disabled user's tokens
stop working with the user. Creating, revoking and every use are written to the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert, select, update

from data import audit_log, users
from data.interfaces import Store
from geo.errors import HbmError

TOKEN_PREFIX = "hbm_"
PREFIX_SHOWN = 12  # "hbm_" and 8 random characters: enough to tell tokens apart, useless to an attacker


class TokenError(HbmError):
    """A token request that cannot be carried out."""


@dataclass(frozen=True)
class TokenRecord:
    """One token as stored (never the token itself)."""

    prefix: str
    user_name: str
    label: str | None
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Return the token's record as JSON-safe values."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def _table(store: Store) -> Table:
    return store.metadata.tables["api_tokens"]


def _ensure(store: Store) -> None:
    with store.connect(write=True) as conn:
        _table(store).create(conn, checkfirst=True)


def token_hash(token: str) -> str:
    """Return the stored form of a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _record(store: Store, row: Any) -> TokenRecord:
    return TokenRecord(
        prefix=row["prefix"],
        user_name=row["user_name"],
        label=row["label"],
        created_at=store.from_db_time(row["created_at"]),  # type: ignore[arg-type]
        created_by=row["created_by"],
        revoked_at=store.from_db_time(row["revoked_at"]) if row["revoked_at"] is not None else None,
        last_used_at=store.from_db_time(row["last_used_at"]) if row["last_used_at"] is not None else None,
    )


def create_token(store: Store, name: str, label: str | None = None, by: str = audit_log.SYSTEM) -> str:
    """Make a new token for user ``name`` (audited); return the token, which is never shown again."""
    user = users.get_user(store, name)
    if user is None:
        raise TokenError(f"no user {name!r} (see `hbm users list`)")
    if user.disabled:
        raise TokenError(f"user {user.name!r} is disabled: enable it first")
    _ensure(store)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.connect(write=True) as conn:
        conn.execute(
            insert(_table(store)).values(
                id=token_hash(token),
                user_name=user.name,
                label=(label or "")[:200] or None,
                prefix=token[:PREFIX_SHOWN],
                created_at=store.to_db_time(datetime.now(UTC)),
                created_by=by,
            )
        )
        detail = {"prefix": token[:PREFIX_SHOWN], "label": label}
        audit_log.note(store, "api_token_create", user.name, detail, who=by, conn=conn)
    return token


def list_tokens(store: Store, name: str | None = None) -> list[TokenRecord]:
    """Return the tokens (of user ``name``, or all), newest first."""
    _ensure(store)
    table = _table(store)
    query = select(table).order_by(table.c.created_at.desc())
    if name:
        query = query.where(table.c.user_name == users.normalise_name(name))
    with store.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_record(store, r) for r in rows]


def revoke(store: Store, name: str, prefix: str | None = None, by: str = audit_log.SYSTEM) -> int:
    """Revoke user ``name``'s live tokens (only the one starting with ``prefix`` when given); return how many."""
    clean = users.normalise_name(name)
    _ensure(store)
    table = _table(store)
    where = [table.c.user_name == clean, table.c.revoked_at.is_(None)]
    if prefix:
        where.append(table.c.prefix == prefix[:PREFIX_SHOWN])
    with store.connect(write=True) as conn:
        done = conn.execute(update(table).where(*where).values(revoked_at=store.to_db_time(datetime.now(UTC)))).rowcount
        if done:
            audit_log.note(store, "api_token_revoke", clean, {"prefix": prefix, "tokens": done}, who=by, conn=conn)
    if not done:
        raise TokenError(f"no live token of {clean!r}" + (f" starting {prefix!r}" if prefix else ""))
    return int(done)


def token_user(store: Store, token: str, path: str = "", ip: str | None = None) -> users.UserRecord | None:
    """Return the enabled user of a live token, auditing the use (refusals too); None if it opens nothing."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    _ensure(store)
    table, user_table = _table(store), store.metadata.tables["users"]
    hashed = token_hash(token)
    with store.connect(write=True) as conn:
        row = conn.execute(select(table).where(table.c.id == hashed)).mappings().first()
        if row is None:
            audit_log.record(store, "-", "api_token_refused", None, {"reason": "unknown", "path": path}, ip, conn=conn)
            return None
        found = conn.execute(select(user_table).where(user_table.c.name == row["user_name"])).mappings().first()
        reason = "revoked" if row["revoked_at"] is not None else ("disabled" if not found or found["disabled"] else "")
        if reason:
            detail = {"reason": reason, "prefix": row["prefix"], "path": path}
            audit_log.record(store, row["user_name"], "api_token_refused", row["user_name"], detail, ip, conn=conn)
            return None
        conn.execute(update(table).where(table.c.id == hashed).values(last_used_at=store.to_db_time(datetime.now(UTC))))
        detail = {"prefix": row["prefix"], "path": path}
        audit_log.record(store, row["user_name"], "api_token_use", row["user_name"], detail, ip, conn=conn)
    return users.get_user(store, row["user_name"])
