"""The sign-in gate: every route refuses anonymous requests, log-in/log-out, CSRF, rate limits, cookies, tokens."""

from __future__ import annotations

import re

import pytest

from dashboard.app import create_app
from dashboard.auth import LANGUAGE_PATH, LOGIN_PATH, OPEN_PATHS, WRONG, FailureLimiter, safe_next
from dashboard.settings import load_app_settings
from data import audit_log, users
from data.store import Store
from tests.helpers.auth import PASSWORD, TOKEN, USER_CALLBACK, _csrf, app_with_alice, login, whoami

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _sample_url(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: "x/y.js" if "path" in m.group(0) else "x", rule)


# -- anonymous requests ----------------------------------------------------------------------------
def test_every_route_refuses_anonymous_requests(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    app = app_with_alice(sqlite_store)
    client = app.server.test_client()
    checked = 0
    for rule in app.server.url_map.iter_rules():
        url = _sample_url(rule.rule)
        if url in OPEN_PATHS or url.startswith(LANGUAGE_PATH):  # the language links: open, they only set a cookie
            continue
        for method in sorted(rule.methods or ()):
            response = client.open(url, method=method, headers=HTML)
            page = method in ("GET", "HEAD") and not url.startswith(
                ("/_dash", "/assets", "/static", "/_favicon", "/_reload")
            )
            if url == "/logout" and method == "POST":
                assert (response.status_code, response.headers["Location"]) == (303, LOGIN_PATH)
            elif page:
                assert response.status_code == 302, (method, url)
                assert response.headers["Location"].startswith(f"{LOGIN_PATH}?next=")
            else:
                assert response.status_code == 401, (method, url, response.status_code)
            assert b"hbm-auth-user" not in response.data and b"crossing" not in response.data
            checked += 1
    assert checked >= 25
    # Unknown paths too (no route enumeration), and Dash's endpoints with real bodies.
    assert client.get("/no/such/page", headers=HTML).status_code == 302
    assert client.post("/_dash-update-component", json=USER_CALLBACK).status_code == 401
    for url in ("/_dash-layout", "/_dash-dependencies", "/assets/hbm.js", "/_reload-hash"):
        assert client.get(url).status_code == 401, url
    assert client.get("/", headers=HTML).headers["Location"] == "/login?next=/"
    assert client.get("/?window_label=7d&zoom=8", headers=HTML).headers["Location"] == (
        "/login?next=/%3Fwindow_label%3D7d%26zoom%3D8"
    )


def test_open_paths_answer_without_a_session(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    login_page = client.get(LOGIN_PATH)
    assert login_page.status_code == 200 and b"autofocus" in login_page.data and b'for="password"' in login_page.data
    assert client.get("/login.css").mimetype == "text/css"
    assert client.post("/api/v1/events", json=[]).status_code == 401  # its own bearer-token check


def test_an_ingest_token_opens_no_page_and_no_callback(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/", headers={**HTML, **bearer}).status_code == 302
    assert client.get("/_dash-layout", headers=bearer).status_code == 401
    assert client.post("/_dash-update-component", json=USER_CALLBACK, headers=bearer).status_code == 401
    event = {"id": "api-1", "lat": 2.0, "lon": 31.0, "occurred_at": "2026-11-20T10:00:00Z", "kind": "crossing"}
    answer = client.post("/api/v1/events", json=[{**event, "people": 3}], headers=bearer)
    assert answer.status_code == 200 and answer.get_json()["written"] == 1


# -- signing in and out ----------------------------------------------------------------------------
def test_sign_in_sets_the_user_and_a_safe_cookie(auth_on: pytest.MonkeyPatch, store: Store) -> None:
    client = app_with_alice(store).server.test_client()
    response = login(client, next_path="/?zoom=9")
    assert response.status_code == 303 and response.headers["Location"] == "/?zoom=9"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("hbm_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # HBM_COOKIE_SECURE=false (tests over http)
    assert client.get("/", headers=HTML).status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    assert whoami(client)[0] == "alice (analyst)"  # g.hbm_user reached the callback
    (row,) = audit_log.query(store, action="login")
    assert row.who == "alice" and row.ip == "127.0.0.1"


def test_secure_cookies_by_default(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    auth_on.delenv("HBM_COOKIE_SECURE")
    app = app_with_alice(sqlite_store)
    client = app.server.test_client()
    response = login(client)  # the test client keeps secure cookies only for https
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-hbm_session=") and "; Secure" in cookie and "HttpOnly" in cookie


@pytest.mark.parametrize(
    ("name", "password", "reason"),
    [("alice", "wrong password!!", "wrong"), ("nobody", PASSWORD, "unknown"), ("", "", "unknown")],
)
def test_failed_sign_in_says_one_thing_and_is_audited(
    auth_on: pytest.MonkeyPatch, sqlite_store: Store, name: str, password: str, reason: str
) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    response = login(client, name, password)
    assert response.status_code == 401 and WRONG in response.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    (row,) = audit_log.query(sqlite_store, action="login_failed")
    assert row.detail == {"reason": reason} and row.ip == "127.0.0.1"


def test_sign_in_needs_the_forms_csrf_token(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    client.get(LOGIN_PATH)
    for token in ("", "forged-token-forged-token-forged"):
        response = client.post(LOGIN_PATH, data={"name": "alice", "password": PASSWORD, "csrf": token})
        assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    assert login(client).status_code == 303


def test_log_out_ends_the_session_on_the_server(auth_on: pytest.MonkeyPatch, store: Store) -> None:
    app = app_with_alice(store)
    client = app.server.test_client()
    login(client)
    stolen = client.get_cookie("hbm_session")
    assert stolen is not None
    _, token = whoami(client)
    assert client.post("/logout", data={"csrf": "forged-token-forged-token-forged"}).status_code == 400
    assert client.get("/_dash-layout").status_code == 200  # a forged log-out changed nothing
    response = client.post("/logout", data={"csrf": token})
    assert response.status_code == 303 and response.headers["Location"] == LOGIN_PATH
    assert client.get("/_dash-layout").status_code == 401
    replay = app.server.test_client()
    replay.set_cookie("hbm_session", stolen.value)
    assert replay.get("/_dash-layout").status_code == 401  # a copy of the old cookie is worthless too
    assert [r.action for r in audit_log.query(store, who="alice")] == ["logout", "login"]
    assert client.post("/logout").status_code == 303  # logging out twice is harmless


def test_disabled_user_is_signed_out_and_role_changes_apply(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    users.add_user(sqlite_store, "root", "admin", PASSWORD)
    login(client)
    users.set_role(sqlite_store, "alice", "viewer", by="root")
    assert whoami(client)[0] == "alice (viewer)"
    users.disable(sqlite_store, "alice", by="root")
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/", headers=HTML).status_code == 302
    response = login(client)
    assert response.status_code == 401 and "disabled" in response.get_data(as_text=True)


def test_failed_sign_ins_are_rate_limited(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    auth_on.setenv("HBM_LOGIN_MAX_FAILURES_PER_IP", "8")
    server = app_with_alice(sqlite_store).server
    client = server.test_client()
    for _ in range(5):
        assert login(client, "alice", "not the password").status_code == 401
    blocked = login(client)  # even the right password, until the window passes
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.get_data(as_text=True)
    other_ip = server.test_client()
    other_ip.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert login(other_ip).status_code == 429  # per name, from anywhere
    for i in range(3):
        assert login(client, f"guess{i}", "x").status_code == 401
    assert login(client, "fresh", "x").status_code == 429  # per IP: 8 failures from 127.0.0.1
    users.add_user(sqlite_store, "bob", "viewer", PASSWORD)
    assert login(other_ip, "bob").status_code == 303  # another IP and name are unaffected
    limited = audit_log.query(sqlite_store, action="login_rate_limited")
    # One row per IP and window (typed names are data, never ``who``), not one per name tried.
    assert sorted((r.ip, r.who, r.detail["last_name"]) for r in limited) == [
        ("10.0.0.9", "anonymous", "alice"),
        ("127.0.0.1", "anonymous", "alice"),
    ]


def test_failure_limiter_window() -> None:
    limiter = FailureLimiter(window_s=60)
    for t in range(3):
        limiter.fail("k", now=float(t))
    assert limiter.retry_after("k", 3, now=10) == pytest.approx(50)
    assert limiter.retry_after("k", 4, now=10) == 0
    assert limiter.retry_after("k", 3, now=61) == 0  # the first failure left the window
    limiter.clear("k")
    assert limiter.retry_after("k", 1, now=61) == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/", "/"),
        ("/?zoom=8&bbox=1,2,3,4", "/?zoom=8&bbox=1,2,3,4"),
        (None, "/"),
        ("", "/"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/login?next=/x", "/"),
        ("/logout", "/"),
        ("/ok\r\nSet-Cookie: x", "/"),
    ],
)
def test_next_stays_on_this_site(raw: str | None, expected: str) -> None:
    assert safe_next(raw) == expected


def test_login_page_escapes_what_it_echoes(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    page = login(client, '"><script>alert(1)</script>', "x").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


# -- single sign-on header -------------------------------------------------------------------------
def test_proxy_header_mode(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    auth_on.setenv("HBM_AUTH_PROXY_HEADER", "X-Remote-User")
    app = app_with_alice(sqlite_store)
    client = app.server.test_client()
    sso = {"X-Remote-User": "Alice"}
    assert whoami(client, sso)[0] == "alice (analyst)"
    client.get("/_dash-layout", headers=sso)
    assert len(audit_log.query(sqlite_store, action="login")) == 1  # once per session length, not per request
    assert client.get("/_dash-layout", headers={"X-Remote-User": "mallory"}).status_code == 403
    assert client.get("/", headers=HTML).status_code == 302  # no header: the login form as usual
    users.add_user(sqlite_store, "root", "admin", PASSWORD)
    users.disable(sqlite_store, "alice", by="root")
    assert client.get("/_dash-layout", headers=sso).status_code == 403


def test_client_ips_come_from_trusted_proxies_only(auth_on: pytest.MonkeyPatch, sqlite_store: Store) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    login(app_with_alice(sqlite_store).server.test_client(), "nobody", "x")
    client = create_app(load_app_settings(), sqlite_store).server.test_client()
    client.post(LOGIN_PATH, data={"name": "nobody", "password": "x", "csrf": _csrf(client)}, headers=forwarded)
    auth_on.setenv("HBM_TRUSTED_PROXIES", "1")
    client = create_app(load_app_settings(), sqlite_store).server.test_client()
    client.post(LOGIN_PATH, data={"name": "nobody", "password": "x", "csrf": _csrf(client)}, headers=forwarded)
    assert [r.ip for r in audit_log.query(sqlite_store, action="login_failed")] == [
        "203.0.113.9",
        "127.0.0.1",
        "127.0.0.1",
    ]
