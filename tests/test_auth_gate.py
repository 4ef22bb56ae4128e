"""The sign-in gate's steps as plain functions, each run in a Flask request context (no app, no browser)."""

from __future__ import annotations

import pytest
from flask import Flask, g, request, session

from dashboard.auth import LOGIN_MAX_BYTES, LOGIN_PATH, Gate, auth_blueprint, is_open_route
from dashboard.auth.gate import limit_login_body, reset_actor, unauthorised
from dashboard.auth.settings import load_auth_settings
from dashboard.settings import load_app_settings
from data import users
from data.store import Store

SECRET = "gate-test-secret-0123456789abcdef"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def gate(sqlite_store: Store) -> Gate:
    return Gate(sqlite_store, load_app_settings(auth=True), load_auth_settings(secret_key=SECRET))


@pytest.fixture
def server() -> Flask:
    app = Flask(__name__)
    app.secret_key = SECRET
    app.teardown_request(reset_actor)  # as auth_blueprint does: a request's audit actor must not outlive it
    return app


@pytest.mark.parametrize(
    ("method", "path", "is_open"),
    [
        ("GET", "/login", True),
        ("HEAD", "/login", True),  # HEAD counts as GET
        ("POST", "/login", True),
        ("DELETE", "/login", False),
        ("POST", "/api/v1/events", True),  # checks its own bearer token
        ("GET", "/api/v1/events", False),
        ("GET", "/healthz", True),
        ("GET", "/", False),
        ("POST", "/_dash-update-component", False),
        ("GET", "/login/", False),  # exact paths only
    ],
)
def test_open_routes_are_matched_by_method_and_exact_path(method: str, path: str, is_open: bool) -> None:
    assert is_open_route(method, path) is is_open


def test_login_body_over_the_limit_is_refused_before_it_is_read(server: Flask) -> None:
    big = "name=" + "x" * LOGIN_MAX_BYTES
    form = "application/x-www-form-urlencoded"
    with server.test_request_context(LOGIN_PATH, method="POST", data=big, content_type=form):
        answer = limit_login_body()
        assert answer is not None and answer.status_code == 413 and answer.headers["Connection"] == "close"
    with server.test_request_context(LOGIN_PATH, method="POST", data={"name": "a"}):
        assert limit_login_body() is None
        assert request.max_content_length == LOGIN_MAX_BYTES  # a chunked body is capped while it is read


def test_unauthorised_redirects_a_page_load_and_answers_401_to_everything_else(server: Flask) -> None:
    with server.test_request_context("/?window=7d", headers=HTML):
        answer = unauthorised()
        assert answer.status_code == 302 and answer.headers["Location"] == "/login?next=/%3Fwindow%3D7d"
    for path in ("/_dash-layout", "/assets/hbm.js", "/api/v1/status"):
        with server.test_request_context(path, headers=HTML):
            answer = unauthorised()
            assert answer.status_code == 401 and answer.headers["Cache-Control"] == "no-store"


def test_gate_check_lets_open_routes_through_and_refuses_the_rest_without_a_session(gate: Gate, server: Flask) -> None:
    with server.test_request_context(LOGIN_PATH):
        assert gate.check() is None and g.hbm_user is None
    with server.test_request_context("/_dash-update-component", method="POST"):
        refused = gate.check()
        assert refused is not None and refused.status_code == 401 and g.hbm_user is None


def test_gate_check_rereads_the_user_behind_a_session_on_every_request(
    gate: Gate, server: Flask, sqlite_store: Store, fast_hashing: None
) -> None:
    users.add_user(sqlite_store, "alice", "analyst", "a long enough password")
    token = users.start_session(sqlite_store, "alice", 1.0, "127.0.0.1")
    with server.test_request_context("/_dash-layout"):
        session["t"] = token
        assert gate.check() is None and g.hbm_user.name == "alice"
    users.disable(sqlite_store, "alice")
    with server.test_request_context("/_dash-layout"):
        session["t"] = token
        refused = gate.check()
        assert refused is not None and refused.status_code == 401  # disabled: the same session no longer opens


def test_blueprint_serves_sign_in_and_log_out_and_runs_the_gate_before_every_request(gate: Gate) -> None:
    app = Flask(__name__)
    app.secret_key = SECRET
    app.register_blueprint(auth_blueprint(gate))
    rules = {(rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods or ()}
    assert {("/login", "GET"), ("/login", "POST"), ("/logout", "POST"), ("/login.css", "GET")} <= rules
    assert gate.check in app.before_request_funcs[None]
    client = app.test_client()
    assert client.get("/login.css").status_code == 200
    assert client.get("/nothing-here").status_code == 401  # the gate answers before routing's 404
