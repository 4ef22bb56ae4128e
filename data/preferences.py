"""Per-user preferences kept in the store: for now, the language each user chose (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Table, select, update

from data.interfaces import Store


def _table(store: Store) -> Table:
    return store.metadata.tables["user_preferences"]


def ensure_table(store: Store) -> None:
    """Create the preferences table in a store from before it (safe to repeat)."""
    with store.connect(write=True) as conn:
        _table(store).create(conn, checkfirst=True)


def get_language(store: Store, user_name: str) -> str | None:
    """Return the language ``user_name`` chose, or None when they never chose one."""
    table = _table(store)
    with store.connect() as conn:
        if not conn.dialect.has_table(conn, table.name):
            return None
        row = conn.execute(select(table.c.language).where(table.c.user_name == user_name)).first()
    return None if row is None else row[0]


def set_language(store: Store, user_name: str, language: str) -> None:
    """Save ``language`` as ``user_name``'s choice (insert or replace)."""
    ensure_table(store)
    table = _table(store)
    now = store.to_db_time(datetime.now(UTC))
    with store.connect(write=True) as conn:
        changed = conn.execute(
            update(table).where(table.c.user_name == user_name).values(language=language, updated_at=now)
        ).rowcount
        if not changed:  # a user's own choice: no concurrent writer worth a savepoint
            conn.execute(table.insert().values(user_name=user_name, language=language, updated_at=now))
