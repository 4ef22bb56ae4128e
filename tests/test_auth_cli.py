"""`hbm users`, `hbm audit` and the serve/demo rules, through the real CLI entry point."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from dashboard import cli
from dashboard.cli import main
from data import audit_log, users
from data.audit import record_export
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store

PASSWORD = "correct horse battery"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_hashing: None) -> Store:
    monkeypatch.setenv("HBM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    store = open_store(load_store_settings())
    store.init_schema()
    return store


def _run(argv: list[str], capsys: pytest.CaptureFixture, stdin: str | io.StringIO = "") -> tuple[int, str, str]:
    import sys

    old = sys.stdin
    sys.stdin = stdin if isinstance(stdin, io.StringIO) else io.StringIO(stdin)
    try:
        code = main(argv)
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, err: str, fragment: str) -> None:
    assert code == 2 and err.startswith("hbm: error: ") and err.count("\n") == 1 and fragment in err, err
    assert "Traceback" not in err


def test_users_add_list_disable_set_role(cli_store: Store, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run(["users", "add", "Alice", "--role", "admin", "--password-stdin"], capsys, PASSWORD + "\n")
    assert code == 0 and out.strip() == "added alice (admin)"
    assert users.verify_password(cli_store, "alice", PASSWORD).ok  # the newline is not part of the password
    _run(["users", "add", "bob", "--role", "viewer", "--password-stdin"], capsys, PASSWORD + "2\n")
    code, out, _ = _run(["users", "list"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[1].split()[:3] == ["alice", "admin", "enabled"] and lines[2].startswith("bob")
    assert "argon2" not in out
    assert _run(["users", "set-role", "bob", "sar_coordinator"], capsys)[0] == 0
    assert _run(["users", "disable", "bob"], capsys)[1].startswith("disabled bob")
    code, out, _ = _run(["users", "list", "--json"], capsys)
    listed = {u["name"]: u for u in json.loads(out)}
    assert listed["bob"]["role"] == "sar_coordinator" and listed["bob"]["disabled"] is True
    assert "password_hash" not in out
    assert _run(["users", "enable", "bob"], capsys)[0] == 0
    code, out, _ = _run(["users", "set-password", "bob", "--password-stdin"], capsys, "a new long passphrase\n")
    assert code == 0 and users.verify_password(cli_store, "bob", "a new long passphrase").ok
    actions = [e.action for e in reversed(audit_log.query(cli_store, action="user_*"))]
    assert actions == ["user_add", "user_add", "user_role", "user_disable", "user_enable", "user_password"]
    assert all(e.who.startswith("cli") for e in audit_log.query(cli_store))


@pytest.mark.parametrize(
    ("argv", "stdin", "fragment"),
    [
        (["users", "add", "carol", "--role", "viewer", "--password-stdin"], "short\n", "too short"),
        (["users", "add", "carol", "--role", "viewer", "--password-stdin"], "\n", "no password on stdin"),
        (["users", "add", "carol", "--role", "viewer"], "", "--password-stdin"),  # no terminal to ask on
        (["users", "add", "bad name", "--role", "viewer", "--password-stdin"], PASSWORD, "user name"),
        (["users", "add", "alice", "--role", "viewer", "--password-stdin"], PASSWORD, "already exists"),
        (["users", "disable", "ghost"], "", "no user 'ghost'"),
        (["users", "disable", "alice"], "", "last enabled admin"),
        (["users", "set-password", "ghost", "--password-stdin"], PASSWORD, "no user"),
    ],
)
def test_users_errors_are_one_line(
    cli_store: Store, capsys: pytest.CaptureFixture, argv: list[str], stdin: str, fragment: str
) -> None:
    users.add_user(cli_store, "alice", "admin", PASSWORD)
    code, _, err = _run(argv, capsys, stdin)
    _one_line_error(code, err, fragment)
    assert users.count_users(cli_store, enabled_only=False) == 1


def test_users_add_prompts_twice_on_a_terminal(
    cli_store: Store, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: list[str] = []
    monkeypatch.setattr("dashboard.cli_users.getpass.getpass", lambda prompt: answers.pop(0))
    answers[:] = [PASSWORD, PASSWORD + "typo"]
    code, _, err = _run(["users", "add", "dora", "--role", "analyst"], capsys, _Terminal())
    _one_line_error(code, err, "differ")
    answers[:] = [PASSWORD, PASSWORD]
    code, out, _ = _run(["users", "add", "dora", "--role", "analyst"], capsys, _Terminal())
    assert code == 0 and users.verify_password(cli_store, "dora", PASSWORD).ok and answers == []


def test_hbm_audit_filters_and_audit_exports_still_works(cli_store: Store, capsys: pytest.CaptureFixture) -> None:
    audit_log.record(cli_store, "alice", "login", "alice", {"role": "admin"}, "10.0.0.1")
    audit_log.record(cli_store, "bob", "login_failed", "bob", {"reason": "wrong"}, "10.0.0.2")
    record_export(cli_store, who="alice", fmt="pdf", view={"window_label": "24h"}, feature_counts={"hotspots": 3})
    audit_log.record(cli_store, "mallory\x1b[2J", "login_failed", "x", None, None)

    code, out, _ = _run(["audit"], capsys)
    assert code == 0 and out.splitlines()[0].split()[:4] == ["id", "at", "(UTC)", "who"]
    assert len(out.splitlines()) == 1 + 4 and "\x1b" not in out  # stored text cannot drive the terminal
    code, out, _ = _run(["audit", "--action", "login_failed", "--json"], capsys)
    assert {e["who"] for e in json.loads(out)} == {"bob", "mallory\x1b[2J"}
    code, out, _ = _run(["audit", "log", "--who", "alice", "--since", "1h", "--json"], capsys)
    assert [e["action"] for e in json.loads(out)] == ["export", "login"]
    code, out, _ = _run(["audit", "--action", "login*", "--until", "2000-01-01"], capsys)
    assert out.strip() == "no audit entries match"
    code, out, _ = _run(["audit", "--since", "2000-01-01T00:00:00+02:00", "--limit", "1", "--json"], capsys)
    assert len(json.loads(out)) == 1
    _one_line_error(*_run(["audit", "--since", "yesterday"], capsys)[::2], "24h")

    code, out, _ = _run(["audit", "exports", "--json"], capsys)  # the export log keeps its own command
    assert code == 0 and json.loads(out)[0]["format"] == "pdf"


# -- serve and demo --------------------------------------------------------------------------------
@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(cli, "_serve", lambda store, settings: calls.append(settings))
    return calls


def test_serve_refuses_without_a_secret_or_users(
    cli_store: Store, served: list[Any], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HBM_AUTH", "on")
    monkeypatch.delenv("HBM_SECRET_KEY", raising=False)
    monkeypatch.delenv("HBM_AUTH_SECRET_KEY", raising=False)
    code, _, err = _run(["serve"], capsys)
    _one_line_error(code, err, "HBM_AUTH_SECRET_KEY is not set")
    assert "secrets.token_urlsafe" in err
    monkeypatch.setenv("HBM_SECRET_KEY", "short")
    _one_line_error(*_run(["serve"], capsys)[::2], "too short")
    monkeypatch.setenv("HBM_SECRET_KEY", "k" * 40)
    code, _, err = _run(["serve"], capsys)
    _one_line_error(code, err, "no users yet: add one with `hbm users add NAME --role admin`")
    users.add_user(cli_store, "bob", "viewer", PASSWORD)
    users.disable(cli_store, "bob")
    _one_line_error(*_run(["serve"], capsys)[::2], "no enabled users")
    assert served == []
    users.add_user(cli_store, "alice", "admin", PASSWORD)
    assert _run(["serve", "--port", "8123"], capsys)[0] == 0
    assert served[-1].auth is True and served[-1].port == 8123


def test_serve_with_authentication_off_warns_loudly(
    cli_store: Store, served: list[Any], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HBM_AUTH", "off")
    code, _, err = _run(["serve"], capsys)
    assert code == 0 and served[-1].auth is False and "WARNING: authentication is OFF" in err


def test_demo_never_asks_for_a_login(
    cli_store: Store, served: list[Any], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HBM_AUTH", "on")  # even when the environment says on
    code, out, _ = _run(["demo", "--events", "0", "--no-live"], capsys)
    assert code == 0 and served[-1].auth is False and served[-1].synthetic is True
    assert "DEMO — no login" in out


def test_header_marks_no_login_or_shows_the_user() -> None:
    from dashboard.layout import build_layout
    from dashboard.settings import load_app_settings

    demo = str(build_layout(load_app_settings(auth=False, synthetic=True)))
    assert "DEMO — no login" in demo and "hbm-auth-logout" not in demo
    assert "NO LOGIN — authentication is off" in str(build_layout(load_app_settings(auth=False)))
    signed = str(build_layout(load_app_settings(auth=True)))
    assert "no login" not in signed.lower() and "hbm-auth-user" in signed and "hbm-auth-logout" in signed
