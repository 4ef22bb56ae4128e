"""`hbm serve --workers N` under gunicorn: probes, sign-in across workers, JSON logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dashboard.app import create_app
from dashboard.logs import JsonFormatter
from dashboard.server import gunicorn_options
from dashboard.settings import load_app_settings
from data import users
from data.store import Store
from geo.errors import StoreUnavailable
from tests.helpers import free_port
from tests.nodes import json_lines, node_env, sign_in, start_node, worker_pids

PASSWORD = "correct horse battery staple"


@pytest.fixture
def auth_env(monkeypatch: pytest.MonkeyPatch, fast_hashing: None) -> None:
    monkeypatch.setenv("HBM_AUTH", "on")
    monkeypatch.setenv("HBM_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("HBM_COOKIE_SECURE", "false")


def test_probes_answer_anonymous_requests_with_sign_in_on(store: Store, auth_env: None) -> None:
    users.add_user(store, "alice", "analyst", PASSWORD)
    client = create_app(load_app_settings(), store).server.test_client()
    assert client.get("/_dash-layout").status_code == 401  # the gate is on
    live, ready = client.get("/livez"), client.get("/readyz")
    assert (live.status_code, live.get_data(as_text=True)) == (200, "ok\n")
    assert (ready.status_code, ready.get_data(as_text=True)) == (200, "ready\n")
    assert ready.headers["Cache-Control"] == "no-store"


def test_readiness_fails_and_liveness_holds_when_the_store_is_down(
    store: Store, auth_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    users.add_user(store, "alice", "analyst", PASSWORD)
    client = create_app(load_app_settings(), store).server.test_client()

    def down() -> None:
        raise StoreUnavailable("the database at db:5432 is unreachable")

    monkeypatch.setattr(store, "ping", down)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_data(as_text=True) == "not ready: store unavailable: the database at db:5432 is unreachable\n"
    assert client.get("/livez").status_code == 200


def test_json_formatter_writes_one_object_per_line_with_extras() -> None:
    record = logging.LogRecord("hbm.x", logging.WARNING, __file__, 1, "two\nlines %s", ("ok",), None)
    record.path = "/readyz"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    value = json.loads(line)
    assert value["level"] == "warning" and value["logger"] == "hbm.x" and value["path"] == "/readyz"
    assert value["message"] == "two\nlines ok" and value["time"].endswith("+00:00")


def test_gunicorn_options_follow_the_settings() -> None:
    settings = load_app_settings(host="127.0.0.1", port=9001, threads=3, worker_timeout=60)
    options = gunicorn_options(settings, 4)
    assert options["bind"] == "127.0.0.1:9001" and options["workers"] == 4 and options["threads"] == 3
    assert options["timeout"] == 60 and options["preload_app"] is False


def test_serve_workers_runs_gunicorn_and_a_session_works_on_every_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hbm.sqlite'}"
    from data.open import open_store
    from data.settings import load_store_settings

    store = open_store(load_store_settings(database_url=url))
    store.init_schema()
    users.add_user(store, "ops", "admin", PASSWORD)
    store.dispose()
    node = start_node(free_port(), node_env(url, HBM_LOG_FORMAT="json"), tmp_path / "node.log", workers=2)
    try:
        session, resp = sign_in(node, "ops", PASSWORD)
        assert resp.status_code == 303, resp.text[:300]
        # Twenty requests spread over both workers (gthread, keep-alive off): each must accept the session.
        codes = {
            session.get(node.url + "/_dash-layout", headers={"Connection": "close"}).status_code for _ in range(20)
        }
        assert codes == {200}
        assert len(worker_pids(node)) == 2
    finally:
        node.stop()
    lines = json_lines(node.output())
    assert any("under gunicorn, 2 worker(s)" in line.get("message", "") for line in lines)
    access = [line for line in lines if line.get("kind") == "access"]
    assert {"method", "path", "status", "ms"} <= access[0].keys()
    assert any(line["path"] == "/_dash-layout" and line["status"] == 200 for line in access)
