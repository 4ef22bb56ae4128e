"""Users, their password hashes and their sign-in sessions, kept in the store.

Passwords are hashed with argon2id by argon2-cffi (its defaults: RFC 9106's low-memory profile,
64 MiB, 3 passes); the hash carries its own parameters, so raising them later re-hashes each
password at its next sign-in. A session row holds the SHA-256 of the cookie's random token, never
the token, so someone who reads the store cannot take over a session. Every change is audited in
the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Table, func, insert, select, update

from data import audit_log
from data.interfaces import Store
from data.roles import ROLES
from geo.errors import HbmError

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 is linear in the input; a megabyte "password" is an attack, not a password
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
HASHER = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 low-memory defaults
SESSION_KEEP = timedelta(days=30)  # ended or expired sessions older than this are deleted at the next sign-in
_TABLES = ("users", "user_sessions", "audit_log")
_dummy: dict[int, str] = {}


class UserError(HbmError):
    """A user request that cannot be carried out."""


@dataclass(frozen=True)
class UserRecord:
    """One user as stored (without the hash)."""

    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime
    updated_at: datetime
    created_by: str | None

    def as_dict(self) -> dict[str, Any]:
        """Return the user as JSON-safe values."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "created_by": self.created_by,
        }


@dataclass(frozen=True)
class Verdict:
    """The result of a password check: the user when it succeeded, and why not otherwise."""

    user: UserRecord | None
    reason: str  # "ok", "unknown", "wrong" or "disabled"

    @property
    def ok(self) -> bool:
        """Return True when the name and password are right and the user is enabled."""
        return self.reason == "ok"


# -- checks ----------------------------------------------------------------------------------------
def normalise_name(name: str) -> str:
    """Return the stored form of a user name (trimmed, lower case), or raise UserError."""
    clean = (name or "").strip().lower()
    if not NAME_PATTERN.fullmatch(clean):
        raise UserError(
            f"user name {name[:80]!r} must be 1-64 characters: letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )
    return clean


def check_role(role: str) -> str:
    """Return ``role`` if it is one of ROLES, else raise UserError."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    """Return ``password`` if it is long enough to set, else raise UserError."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD} characters (a passphrase is best)")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password is longer than {MAX_PASSWORD} characters")
    if not password.strip():
        raise UserError("the password is only spaces")
    return password


def hash_password(password: str) -> str:
    """Return the argon2id hash of a valid password."""
    return HASHER.hash(check_password(password))


# -- plumbing --------------------------------------------------------------------------------------
def _t(store: Store, name: str) -> Table:
    return store.metadata.tables[name]


def ensure_tables(store: Store) -> None:
    """Create the users, sessions and audit tables in a store from before them (safe to repeat)."""
    with store.connect(write=True) as conn:
        for name in _TABLES:
            _t(store, name).create(conn, checkfirst=True)


def _record(store: Store, row: Any) -> UserRecord:
    return UserRecord(
        id=int(row["id"]),
        name=row["name"],
        role=row["role"],
        disabled=bool(row["disabled"]),
        created_at=store.from_db_time(row["created_at"]),  # type: ignore[arg-type]
        updated_at=store.from_db_time(row["updated_at"]),  # type: ignore[arg-type]
        created_by=row["created_by"],
    )


def _row_by_name(conn: Connection, users: Table, name: str) -> Any:
    return conn.execute(select(users).where(users.c.name == name)).mappings().first()


def _now(store: Store) -> Any:
    return store.to_db_time(datetime.now(UTC))


def _enabled_admins(conn: Connection, users: Table) -> int:
    query = select(func.count()).select_from(users).where(users.c.role == "admin", users.c.disabled == 0)
    return int(conn.execute(query).scalar_one())


# -- user management -------------------------------------------------------------------------------
def add_user(store: Store, name: str, role: str, password: str, created_by: str = audit_log.SYSTEM) -> UserRecord:
    """Add an enabled user with an argon2id-hashed password (audited); return it."""
    name, role = normalise_name(name), check_role(role)
    hashed = hash_password(password)
    ensure_tables(store)
    users = _t(store, "users")
    now = _now(store)
    with store.connect(write=True) as conn:
        if _row_by_name(conn, users, name) is not None:
            raise UserError(f"user {name!r} already exists (change it with `hbm users set-role` or `set-password`)")
        conn.execute(
            insert(users).values(
                name=name,
                role=role,
                password_hash=hashed,
                disabled=0,
                created_at=now,
                updated_at=now,
                created_by=created_by,
            )
        )
        audit_log.note(store, "user_add", name, {"role": role}, who=created_by, conn=conn)
        row = _row_by_name(conn, users, name)
    return _record(store, row)


def _change(
    store: Store, name: str, by: str, action: str, values: dict[str, Any], detail: dict[str, Any]
) -> UserRecord:
    """Update one user's row, end their sessions if asked, and audit it, in one transaction."""
    name = normalise_name(name)
    users = _t(store, "users")
    with store.connect(write=True) as conn:
        before = _row_by_name(conn, users, name)
        if before is None:
            raise UserError(f"no user {name!r} (see `hbm users list`)")
        demotes = values.get("role", "admin") != "admin" or values.get("disabled") == 1
        if before["role"] == "admin" and not before["disabled"] and demotes and _enabled_admins(conn, users) <= 1:
            raise UserError(f"{name!r} is the last enabled admin: add or enable another admin first")
        end_sessions = bool(values.pop("_end_sessions", False))
        conn.execute(update(users).where(users.c.name == name).values(**values, updated_at=_now(store)))
        if end_sessions:
            _end_user_sessions(store, conn, name)
        if "role" in values:
            detail = {"from": before["role"], "to": values["role"]}
        audit_log.note(store, action, name, detail, who=by, conn=conn)
        row = _row_by_name(conn, users, name)
    return _record(store, row)


def set_role(store: Store, name: str, role: str, by: str = audit_log.SYSTEM) -> UserRecord:
    """Give a user another role (effective within the sign-in cache time); return the user."""
    return _change(store, name, by, "user_role", {"role": check_role(role)}, {})


def disable(store: Store, name: str, by: str = audit_log.SYSTEM) -> UserRecord:
    """Disable a user and end their sessions; return the user."""
    return _change(store, name, by, "user_disable", {"disabled": 1, "_end_sessions": True}, {})


def enable(store: Store, name: str, by: str = audit_log.SYSTEM) -> UserRecord:
    """Enable a disabled user again; return the user."""
    return _change(store, name, by, "user_enable", {"disabled": 0}, {})


def set_password(store: Store, name: str, password: str, by: str = audit_log.SYSTEM) -> UserRecord:
    """Set a new password and end the user's sessions; return the user."""
    hashed = hash_password(password)
    return _change(store, name, by, "user_password", {"password_hash": hashed, "_end_sessions": True}, {})


def get_user(store: Store, name: str) -> UserRecord | None:
    """Return the user called ``name``, or None (also for a malformed name)."""
    try:
        name = normalise_name(name)
    except UserError:
        return None
    with store.connect() as conn:
        row = _row_by_name(conn, _t(store, "users"), name)
    return None if row is None else _record(store, row)


def list_users(store: Store) -> list[UserRecord]:
    """Return every user, by name."""
    users = _t(store, "users")
    with store.connect() as conn:
        if not conn.dialect.has_table(conn, "users"):
            return []
        rows = conn.execute(select(users).order_by(users.c.name)).mappings().all()
    return [_record(store, r) for r in rows]


def count_users(store: Store, enabled_only: bool = True) -> int:
    """Return how many (enabled) users exist; 0 in a store from before the users table."""
    users = _t(store, "users")
    query = select(func.count()).select_from(users)
    if enabled_only:
        query = query.where(users.c.disabled == 0)
    with store.connect() as conn:
        if not conn.dialect.has_table(conn, "users"):
            return 0
        return int(conn.execute(query).scalar_one())


# -- passwords -------------------------------------------------------------------------------------
def _dummy_hash() -> str:
    """Return a hash made with the current hasher, to spend the same time on unknown users."""
    key = id(HASHER)
    if key not in _dummy:
        _dummy[key] = HASHER.hash(secrets.token_urlsafe(16))
    return _dummy[key]


def _matches(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(store: Store, name: str, password: str) -> Verdict:
    """Check a name and password in constant time per attempt; return the Verdict.

    An unknown or malformed name still costs one argon2 verification (against a dummy hash), so
    response times do not tell which names exist. A correct password of a disabled user fails.
    """
    try:
        clean = normalise_name(name)
    except UserError:
        clean = None
    row = None
    if clean is not None:
        with store.connect() as conn:
            row = _row_by_name(conn, _t(store, "users"), clean)
    too_long = len(password) > MAX_PASSWORD
    if row is None or too_long:
        _matches(_dummy_hash(), password[:MAX_PASSWORD])
        return Verdict(None, "unknown" if row is None else "wrong")
    if not _matches(row["password_hash"], password):
        return Verdict(None, "wrong")
    user = _record(store, row)
    if user.disabled:
        return Verdict(user, "disabled")
    if HASHER.check_needs_rehash(row["password_hash"]):
        users = _t(store, "users")
        with store.connect(write=True) as conn:
            conn.execute(update(users).where(users.c.id == user.id).values(password_hash=HASHER.hash(password)))
    return Verdict(user, "ok")


# -- sessions --------------------------------------------------------------------------------------
def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(store: Store, name: str, hours: float, ip: str | None = None) -> str:
    """Open a session for ``name`` lasting ``hours``; return the secret token for the cookie."""
    token = secrets.token_urlsafe(32)
    sessions = _t(store, "user_sessions")
    now = datetime.now(UTC)
    with store.connect(write=True) as conn:
        old = store.to_db_time(now - SESSION_KEEP)
        conn.execute(sessions.delete().where(sessions.c.expires_at < old))
        conn.execute(
            insert(sessions).values(
                id=_token_id(token),
                user_name=name,
                created_at=store.to_db_time(now),
                expires_at=store.to_db_time(now + timedelta(hours=hours)),
                ended_at=None,
                ip=ip[:64] if ip else None,
            )
        )
    return token


def session_user(store: Store, token: str) -> UserRecord | None:
    """Return the enabled user of a live (not ended, not expired) session, or None."""
    if not token:
        return None
    users, sessions = _t(store, "users"), _t(store, "user_sessions")
    query = (
        select(users)
        .join(sessions, sessions.c.user_name == users.c.name)
        .where(
            sessions.c.id == _token_id(token),
            sessions.c.ended_at.is_(None),
            sessions.c.expires_at > store.to_db_time(datetime.now(UTC)),
            users.c.disabled == 0,
        )
    )
    with store.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else _record(store, row)


def end_session(store: Store, token: str) -> None:
    """End one session (log-out)."""
    sessions = _t(store, "user_sessions")
    with store.connect(write=True) as conn:
        conn.execute(
            update(sessions)
            .where(sessions.c.id == _token_id(token), sessions.c.ended_at.is_(None))
            .values(ended_at=_now(store))
        )


def _end_user_sessions(store: Store, conn: Connection, name: str) -> None:
    sessions = _t(store, "user_sessions")
    conn.execute(
        update(sessions).where(sessions.c.user_name == name, sessions.c.ended_at.is_(None)).values(ended_at=_now(store))
    )
