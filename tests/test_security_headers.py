"""Security headers: a CSP that allows only the app's own assets (hash-pinned inline scripts), on every response."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from dashboard.app import create_app
from dashboard.security import STATIC_HEADERS, content_security_policy, tile_source
from dashboard.settings import load_app_settings
from data.store import Store

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.S)


def _directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in csp.split("; ")}


def test_every_response_carries_the_headers(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HBM_AUTH", "on")
    monkeypatch.setenv("HBM_SECRET_KEY", "s" * 32)
    client = create_app(load_app_settings(), sqlite_store).server.test_client()
    for method, url in (
        ("GET", "/"),
        ("GET", "/login"),
        ("GET", "/login.css"),
        ("GET", "/healthz"),
        ("GET", "/_dash-layout"),
        ("POST", "/_dash-update-component"),
        ("POST", "/api/v1/events"),
    ):
        response = client.open(url, method=method, headers={"Accept": "text/html"})
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], url
        for name, value in STATIC_HEADERS.items():
            assert response.headers[name] == value, (url, name)


def test_the_page_runs_only_its_own_and_hash_pinned_scripts(sqlite_store: Store) -> None:
    client = create_app(load_app_settings(), sqlite_store).server.test_client()
    page = client.get("/")
    csp = _directives(page.headers["Content-Security-Policy"])
    html = re.sub(r"<!--.*?-->", "", page.get_data(as_text=True), flags=re.S)  # (an IE-only conditional comment)
    # Every executable inline script (not the JSON config) is allowed by its SHA-256 and nothing else.
    executable = [body for attrs, body in INLINE_SCRIPT.findall(html) if "application/json" not in attrs]
    assert executable, "Dash's renderer bootstrap should be inline"
    for body in executable:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    # No CDN: every script and stylesheet is served by the app itself.
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert not any("http" in v for values in csp.values() for v in values)
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"] and csp["form-action"] == ["'self'"]


def test_a_tile_server_is_allowed_for_images_only() -> None:
    csp = _directives(content_security_policy([], "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"))
    assert csp["img-src"] == ["'self'", "data:", "blob:", "https://tiles.example.org:8443"]
    assert all("tiles.example.org" not in " ".join(v) for k, v in csp.items() if k != "img-src")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, None),
        ("/tiles/{z}/{x}/{y}.png", None),
        ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
        ("http://10.0.0.5/{z}/{x}/{y}.png", "http://10.0.0.5"),
    ],
)
def test_tile_source(url: str | None, expected: str | None) -> None:
    assert tile_source(url) == expected
