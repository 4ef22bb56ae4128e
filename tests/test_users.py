"""Users in the store (both backends): argon2 hashes, roles, disabling, sessions, and the audit of each change."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from data import audit_log, users
from data.store import Store

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast(fast_hashing: None) -> None:
    """Every test here uses cheap argon2 parameters (the production profile is checked on its own)."""


def test_add_list_and_verify(store: Store) -> None:
    added = users.add_user(store, "  Alice ", "analyst", PASSWORD, created_by="cli:ops")
    assert (added.name, added.role, added.disabled, added.created_by) == ("alice", "analyst", False, "cli:ops")
    users.add_user(store, "bob", "viewer", PASSWORD + "!")
    assert [u.name for u in users.list_users(store)] == ["alice", "bob"]
    assert users.count_users(store) == 2
    assert users.verify_password(store, "ALICE", PASSWORD).ok
    assert users.verify_password(store, "alice", PASSWORD + "x").reason == "wrong"
    assert users.verify_password(store, "nobody", PASSWORD).reason == "unknown"
    assert users.verify_password(store, "bad name!", PASSWORD).reason == "unknown"
    with store.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE name = 'alice'")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("", "viewer", PASSWORD, "user name"),
        ("has space", "viewer", PASSWORD, "user name"),
        ("x" * 65, "viewer", PASSWORD, "user name"),
        ("ok", "superuser", PASSWORD, "unknown role"),
        ("ok", "viewer", "short", "too short"),
        ("ok", "viewer", " " * 20, "only spaces"),
        ("ok", "viewer", "x" * (users.MAX_PASSWORD + 1), "longer than"),
    ],
)
def test_bad_user_input_is_one_line(sqlite_store: Store, name: str, role: str, password: str, message: str) -> None:
    with pytest.raises(users.UserError, match=message) as err:
        users.add_user(sqlite_store, name, role, password)
    assert "\n" not in str(err.value)
    assert users.count_users(sqlite_store, enabled_only=False) == 0


def test_duplicate_names_are_refused_case_insensitively(sqlite_store: Store) -> None:
    users.add_user(sqlite_store, "alice", "viewer", PASSWORD)
    with pytest.raises(users.UserError, match="already exists"):
        users.add_user(sqlite_store, "ALICE", "admin", PASSWORD)


def test_role_disable_enable_password_are_audited(store: Store) -> None:
    users.add_user(store, "root", "admin", PASSWORD)
    users.add_user(store, "carol", "viewer", PASSWORD)
    assert users.set_role(store, "carol", "sar_coordinator", by="root").role == "sar_coordinator"
    assert users.disable(store, "carol", by="root").disabled
    assert users.verify_password(store, "carol", PASSWORD).reason == "disabled"
    assert users.count_users(store) == 1 and users.count_users(store, enabled_only=False) == 2
    assert not users.enable(store, "carol", by="root").disabled
    users.set_password(store, "carol", "a brand new passphrase", by="root")
    assert users.verify_password(store, "carol", PASSWORD).reason == "wrong"
    assert users.verify_password(store, "carol", "a brand new passphrase").ok
    rows = audit_log.query(store, target="carol")
    assert [r.action for r in reversed(rows)] == [
        "user_add",
        "user_role",
        "user_disable",
        "user_enable",
        "user_password",
    ]
    assert rows[-2].detail == {"from": "viewer", "to": "sar_coordinator"}
    assert {r.who for r in rows[:-1]} == {"root"}
    assert all("correct horse" not in str(r.detail) for r in rows)


def test_the_last_enabled_admin_cannot_be_demoted_or_disabled(sqlite_store: Store) -> None:
    users.add_user(sqlite_store, "root", "admin", PASSWORD)
    with pytest.raises(users.UserError, match="last enabled admin"):
        users.disable(sqlite_store, "root")
    with pytest.raises(users.UserError, match="last enabled admin"):
        users.set_role(sqlite_store, "root", "viewer")
    users.add_user(sqlite_store, "second", "admin", PASSWORD)
    assert users.disable(sqlite_store, "root").disabled


def test_unknown_user_changes_fail(sqlite_store: Store) -> None:
    with pytest.raises(users.UserError, match="no user 'ghost'"):
        users.set_role(sqlite_store, "ghost", "viewer")


def test_sessions_end_on_logout_disable_password_and_expiry(store: Store) -> None:
    users.add_user(store, "root", "admin", PASSWORD)
    users.add_user(store, "dave", "analyst", PASSWORD)
    token = users.start_session(store, "dave", hours=1, ip="10.1.1.1")
    found = users.session_user(store, token)
    assert found is not None and found.name == "dave" and found.role == "analyst"
    assert users.session_user(store, token + "x") is None
    users.end_session(store, token)
    assert users.session_user(store, token) is None

    token = users.start_session(store, "dave", hours=1)
    users.disable(store, "dave", by="root")
    users.enable(store, "dave", by="root")
    assert users.session_user(store, token) is None  # disabling ended it for good

    token = users.start_session(store, "dave", hours=1)
    users.set_password(store, "dave", "another long passphrase")
    assert users.session_user(store, token) is None

    expired = users.start_session(store, "dave", hours=1 / 3600 / 10)  # 0.1 s
    time.sleep(0.2)
    assert users.session_user(store, expired) is None
    with store.connect() as conn:
        ids = conn.execute(text("SELECT id FROM user_sessions")).scalars().all()
    assert token not in ids and all(len(i) == 64 for i in ids)  # only SHA-256 digests are stored


def test_unknown_names_cost_a_verification_too(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's own names
            calls.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(users, "HASHER", Counting(time_cost=1, memory_cost=1024, parallelism=1))
    users.add_user(sqlite_store, "erin", "viewer", PASSWORD)
    users.verify_password(sqlite_store, "nobody", PASSWORD)
    users.verify_password(sqlite_store, "erin", "wrong password here")
    users.verify_password(sqlite_store, "erin", "x" * (users.MAX_PASSWORD + 1))
    assert len(calls) == 3  # one argon2 verification per attempt, whatever the reason it fails
    assert calls[0] == calls[2] != calls[1]  # the unknown name and the oversize password use the dummy hash


def test_production_hasher_is_argon2id_with_rfc9106_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real module-level hasher
    hashed = users.HASHER.hash(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_weak_old_hashes_are_upgraded_at_sign_in(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    users.add_user(sqlite_store, "frank", "viewer", PASSWORD)  # cheap parameters (fixture)
    from argon2 import PasswordHasher

    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    assert users.verify_password(sqlite_store, "frank", PASSWORD).ok
    with sqlite_store.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE name = 'frank'")).scalar_one()
    assert "m=2048,t=2,p=1" in stored
