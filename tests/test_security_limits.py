"""Issue 13: limits before parsing, a bounded audit, an exact gate, no 500s, logout everywhere, cache headers.

Each test plays the request an anonymous client or a signed-in user can make, against the real app
(Flask's test client, or a served process where memory is measured).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data import audit_log, users
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from tests.helpers.auth import PASSWORD, TOKEN, app_with_alice, callback_spec, login, post_callback

ROOT = Path(__file__).resolve().parents[1]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


SERVER = textwrap.dedent(
    """
    import sys
    from werkzeug.serving import make_server
    from dashboard.app import create_app
    from dashboard.settings import load_app_settings
    from data import users
    from data.open import open_store
    from data.settings import load_store_settings
    store = open_store(load_store_settings(database_url=sys.argv[1]))
    store.init_schema()
    users.add_user(store, "alice", "analyst", "correct horse battery staple")
    server = make_server("127.0.0.1", 0, create_app(load_app_settings(), store).server, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()
    """
)


@pytest.fixture
def served(tmp_path: Path, auth_on: pytest.MonkeyPatch) -> Iterator[tuple[int, int]]:  # noqa: F811
    """A real server process with sign-in on; yields (pid, port)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("memory is read from /proc (Linux)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, f"sqlite:///{tmp_path / 'served.sqlite'}"],
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield proc.pid, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _post_declared(port: int, size: int) -> int:
    """POST /login declaring ``size`` bytes; read the answer before sending the body, then send what it takes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.putrequest("POST", "/login")
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    try:
        chunk = b"a" * 65536
        for _ in range(size // len(chunk)):
            conn.send(chunk)
    except OSError:
        pass  # the server answered and closed: it never reads a body it refused
    status = conn.getresponse().status
    conn.close()
    return status


def test_a_10_mb_anonymous_login_body_is_413_and_the_server_does_not_grow(served: tuple[int, int]) -> None:
    pid, port = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", "/login")
    assert conn.getresponse().status == 200  # warm: first request imports and renders
    before = _rss_kib(pid)
    statuses = [_post_declared(port, 10 * 1024 * 1024) for _ in range(4)]
    time.sleep(0.5)
    grown_mib = (_rss_kib(pid) - before) / 1024
    assert statuses == [413] * 4
    assert grown_mib < 20, f"server memory grew by {grown_mib:.1f} MiB"


def test_a_login_form_over_the_cap_is_refused_even_without_a_declared_length(
    sqlite_store: Store,
    auth_on: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    big = {"name": "x" * 40_000, "password": "y", "csrf": "z"}
    assert client.post("/login", data=big).status_code == 413
    assert login(client).status_code == 303  # a normal form still signs in


def test_5000_rate_limited_attempts_with_distinct_names_add_a_handful_of_audit_rows(
    sqlite_store: Store,
    auth_on: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    auth_on.setenv("HBM_LOGIN_MAX_FAILURES_PER_IP", "5")
    client = app_with_alice(sqlite_store).server.test_client()
    for i in range(5):
        assert login(client, f"guess{i}", "wrong").status_code == 401
    before = len(audit_log.query(sqlite_store, limit=100_000))
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    for i in range(5000):
        reply = client.post("/login", data={"name": f"spray-{i}", "password": "x", "csrf": csrf, "next": "/"})
        assert reply.status_code == 429
    rows = audit_log.query(sqlite_store, limit=100_000)[: len(audit_log.query(sqlite_store, limit=100_000)) - before]
    assert len(rows) <= 5, [(r.action, r.detail) for r in rows]
    assert all(r.who == "anonymous" and r.action == "login_rate_limited" for r in rows)
    assert max(r.detail["refused_in_window"] for r in rows) == 1000  # the count is kept, as data
    assert max(r.detail["names_tried"] for r in rows) == 1000  # distinct names remembered up to the cap
    assert all(not str(r.who).startswith("spray") for r in audit_log.query(sqlite_store, limit=100_000))


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/login", 200),
        ("GET", "/login.css", 200),
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/events", 401),  # was the Dash page shell, with versions and inline scripts
        ("PUT", "/login", 401),
        ("DELETE", "/healthz", 401),
        ("POST", "/healthz", 401),
        ("GET", "/_dash-layout", 401),
        ("GET", "/_dash-dependencies", 401),
        ("GET", "/assets/hbm.js", 401),
        ("GET", "/_dash-component-suites/dash/dcc/dash_core_components.js", 401),
        ("GET", "/anything/else", 401),
    ],
)
def test_the_gate_opens_exactly_the_sign_in_routes(
    sqlite_store: Store,
    auth_on: pytest.MonkeyPatch,  # noqa: F811
    method: str,
    path: str,
    status: int,
) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    assert client.open(path, method=method, headers={"Accept": "application/json"}).status_code == status


def test_the_events_api_refuses_bad_bodies_with_one_line(sqlite_store: Store, auth_on: pytest.MonkeyPatch) -> None:  # noqa: F811
    client = app_with_alice(sqlite_store).server.test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    huge = '[{"lat": 1, "lon": 30, "people": ' + "9" * 1_000_000 + "}]"
    answer = client.post("/api/v1/events", data=huge, headers=bearer, content_type="application/json")
    assert answer.status_code == 400 and "\n" not in answer.get_json()["error"]
    answer = client.post("/api/v1/events", data="[]", headers=bearer, content_type="text/plain")
    assert answer.status_code == 415
    event = {"id": "nan-1", "occurred_at": "2026-11-20T10:00:00Z", "kind": "sighting", "lat": 2.0, "lon": 31.0}
    body = json.dumps([{**event, "people": 3}]).replace('"people": 3', '"people": 3, "location_precision_m": NaN')
    answer = client.post("/api/v1/events", data=body, headers=bearer, content_type="application/json")
    assert answer.status_code == 207
    (item,) = answer.get_json()["items"]
    assert "location_precision_m" in json.dumps(item) and sqlite_store.counts()["events"] == 0


@pytest.mark.parametrize(
    "bounds",
    [
        [[-1e308, -1e308], [1e308, 1e308]],
        [[0, 0], [0, 0]],
        [["x", 1], [2, 3]],
    ],
)
def test_hostile_map_bounds_never_give_a_500(
    sqlite_store: Store,
    auth_on: pytest.MonkeyPatch,  # noqa: F811
    bounds: Any,
) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    assert login(client).status_code == 303
    spec = callback_spec(client, "layer-hotspots.data", "map.bounds")
    status, _response = post_callback(client, spec, {"map.bounds": bounds, "map.zoom": 7}, "map.bounds")
    assert status in (200, 204)


def test_nan_in_a_callback_body_is_400_with_one_line(sqlite_store: Store, auth_on: pytest.MonkeyPatch) -> None:  # noqa: F811
    client = app_with_alice(sqlite_store).server.test_client()
    assert login(client).status_code == 303
    spec = callback_spec(client, "layer-hotspots.data", "map.bounds")
    body = {
        "output": spec["output"],
        "outputs": [],
        "inputs": [{**d, "value": None} for d in spec["inputs"]],
        "state": [{**d, "value": None} for d in spec["state"]],
        "changedPropIds": ["map.bounds"],
    }
    text = json.dumps(body).replace("null", "NaN", 1)
    answer = client.post("/_dash-update-component", data=text, content_type="application/json")
    assert answer.status_code == 400


def test_view_checks_refuse_long_windows_and_bad_bounds_in_one_line() -> None:
    from datetime import UTC, datetime

    from dashboard.callbacks import parse_view
    from geo.errors import InvalidView

    settings = load_app_settings()
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(InvalidView, match="366 days"):
        parse_view("custom", "2024-01-01 00:00", "2025-06-01 00:00", "people", "auto", 7, None, settings, now)
    with pytest.raises(InvalidView, match="finite"):
        parse_view("24h", None, None, "people", "auto", 7, [[float("nan"), 0], [1, 1]], settings, now)
    huge = parse_view("24h", None, None, "people", "auto", 7, [[-1e308, -1e308], [1e308, 1e308]], settings, now)
    assert huge.bbox == (-180.0, -90.0, 180.0, 90.0)


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-component-suites/nope/x.js",
        "/_dash-component-suites/dash/../../etc/passwd",
        "/_dash-component-suites/dash_leaflet/x.js",
    ],
)
def test_bad_script_paths_are_404_not_500(sqlite_store: Store, auth_on: pytest.MonkeyPatch, path: str) -> None:  # noqa: F811
    client = app_with_alice(sqlite_store).server.test_client()
    assert login(client).status_code == 303
    assert client.get(path).status_code == 404


def test_logout_ends_the_session_in_another_process_at_once(
    tmp_path: Path,
    auth_on: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    auth_on.delenv("HBM_AUTH_RECHECK_SECONDS")  # the default, as deployed
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    store_a, store_b = (open_store(load_store_settings(database_url=url)) for _ in range(2))
    store_a.init_schema()
    users.add_user(store_a, "alice", "analyst", PASSWORD)
    app_a = create_app(load_app_settings(), store_a)
    app_b = create_app(load_app_settings(), store_b)  # its own caches, like another worker process
    a, b = app_a.server.test_client(), app_b.server.test_client()
    assert login(a).status_code == 303
    cookie = a.get_cookie("hbm_session")
    assert cookie is not None
    b.set_cookie("hbm_session", cookie.value)
    assert b.get("/_dash-layout").status_code == 200
    page = a.get("/_dash-layout")
    assert page.status_code == 200
    csrf = _session_csrf(a)
    assert a.post("/logout", data={"csrf": csrf}).status_code == 303
    assert b.get("/_dash-layout").status_code == 401  # at once, not after a cache expires
    for s in (store_a, store_b):
        s.dispose()


def _session_csrf(client: FlaskClient) -> str:
    from tests.helpers.auth import whoami

    return whoami(client)[1]


def test_signed_in_responses_are_not_stored_and_hsts_is_opt_in(
    sqlite_store: Store,
    auth_on: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    client = app_with_alice(sqlite_store).server.test_client()
    assert "Strict-Transport-Security" not in client.get("/login").headers
    assert login(client).status_code == 303
    for path in ("/", "/_dash-layout", "/_dash-dependencies", "/assets/hbm.css"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path
    auth_on.setenv("HBM_HSTS", "31536000")
    other = create_app(load_app_settings(), sqlite_store).server.test_client()
    assert other.get("/login").headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
