"""Signing in over HTTP in tests: users per role, the login form and its CSRF token, hand-made callback requests."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from dash import Dash
from flask.testing import FlaskClient

from dashboard.app import create_app
from dashboard.auth import LOGIN_PATH
from dashboard.settings import load_app_settings
from data import users
from data.store import Store
from tests.helpers import sample_events, sample_features

PASSWORD = "correct horse battery staple"


ROLES = {"vera": "viewer", "ana": "analyst", "sam": "sar_coordinator", "ada": "admin"}


def auth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn sign-in on, set the session secret and allow cookies over the test server's plain http."""
    monkeypatch.setenv("HBM_AUTH", "on")
    monkeypatch.setenv("HBM_SECRET_KEY", "test-secret-key-for-roles-0123456789")
    monkeypatch.setenv("HBM_COOKIE_SECURE", "false")


def add_role_users(store: Store) -> None:
    """Add one user per role (names in ROLES), all with PASSWORD."""
    for name, role in ROLES.items():
        users.add_user(store, name, role, PASSWORD, created_by="test")


def seed(store: Store, now: datetime) -> None:
    """The inline sample data, its events in the last two days before ``now``."""
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", sample_events(now=now - timedelta(minutes=2)))


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD) -> int:
    """Sign in through the login form (with its CSRF token); return the POST's status code."""
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf, "the login form has a CSRF token"
    reply = client.post("/login", data={"name": name, "password": password, "csrf": csrf.group(1), "next": "/"})
    return reply.status_code


def callback_spec(client: FlaskClient, output: str, needs_input: str) -> dict[str, Any]:
    """Return the published spec of the callback writing ``output`` whose inputs include ``needs_input``."""
    deps = client.get("/_dash-dependencies").get_json()
    for dep in deps:
        ids = " ".join(f"{i['id']}.{i['property']}" for i in dep["inputs"])
        if output in dep["output"] and needs_input in ids:
            return dep
    raise AssertionError(f"no callback writes {output} from {needs_input}")


def callback_outputs(spec: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
    """Return a callback request's ``outputs`` from its published ``output`` (pattern ids decoded from JSON)."""
    text = spec["output"]
    multi = text.startswith("..")
    parts = text.strip(".").split("...") if multi else [text]
    outs = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        decoded: Any = cid
        if cid.startswith("{"):
            decoded = json.loads(cid)
        outs.append({"id": decoded, "property": prop.split("@")[0]})
    return outs if multi else outs[0]


def post_callback(
    client: FlaskClient, spec: dict[str, Any], values: dict[str, Any], changed: str
) -> tuple[int, dict[str, Any]]:
    """POST a callback request built from ``spec`` with ``values`` ("id.prop" → value); return (status, response)."""

    def fill(deps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**d, "value": values.get(f"{d['id']}.{d['property']}")} for d in deps]

    body = {
        "output": spec["output"],
        "outputs": callback_outputs(spec),
        "inputs": fill(spec["inputs"]),
        "state": fill(spec["state"]),
        "changedPropIds": [changed],
    }
    reply = client.post("/_dash-update-component", json=body)
    if reply.status_code == 204:
        return 204, {}
    return reply.status_code, (reply.get_json(silent=True) or {}).get("response", {})


def post_pattern_callback(
    client: FlaskClient,
    spec: dict[str, Any],
    pattern_inputs: list[dict[str, Any]],
    values: dict[str, Any],
    changed: str,
) -> tuple[int, dict[str, Any]]:
    """POST a callback whose first input is a pattern-matching ALL list (the export buttons)."""
    state = [{**d, "value": values.get(f"{d['id']}.{d['property']}")} for d in spec["state"]]
    body = {
        "output": spec["output"],
        "outputs": callback_outputs(spec),
        "inputs": [pattern_inputs],
        "state": state,
        "changedPropIds": [changed],
    }
    reply = client.post("/_dash-update-component", json=body)
    return reply.status_code, (reply.get_json(silent=True) or {}).get("response", {})


SECRET = "test-secret-0123456789-abcdefghij"


TOKEN = "ingest-token-0123456789"


USER_CALLBACK = {
    "output": "..hbm-auth-user.children...hbm-auth-csrf.value..",
    "outputs": [{"id": "hbm-auth-user", "property": "children"}, {"id": "hbm-auth-csrf", "property": "value"}],
    "inputs": [{"id": "hbm-auth-user", "property": "id", "value": "hbm-auth-user"}],
    "changedPropIds": [],
    "state": [],
}


def app_with_alice(store: Store) -> Dash:
    users.add_user(store, "alice", "analyst", PASSWORD)
    return create_app(load_app_settings(), store)


def _csrf(client: FlaskClient) -> str:
    page = client.get(LOGIN_PATH).get_data(as_text=True)
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def login(client: FlaskClient, name: str = "alice", password: str = PASSWORD, next_path: str = "/") -> Any:
    """Sign in through the form (with its CSRF token); return the response."""
    form = {"name": name, "password": password, "csrf": _csrf(client), "next": next_path}
    return client.post(LOGIN_PATH, data=form)


def whoami(client: FlaskClient, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """Return the header's user label and log-out token, through the real Dash callback."""
    answer = client.post("/_dash-update-component", json=USER_CALLBACK, headers=headers or {})
    assert answer.status_code == 200, answer.status_code
    response = answer.get_json()["response"]
    return response["hbm-auth-user"]["children"], response["hbm-auth-csrf"]["value"]
