"""Build the Dash app. Nothing happens at import; the store is passed in."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from dashboard.api import register_api
from dashboard.auth import install_auth
from dashboard.callbacks import register
from dashboard.interop import register_interop
from dashboard.layout import build_layout
from dashboard.panels import load_panels
from dashboard.security import install_security_headers
from dashboard.settings import AppSettings
from data.store import Store

ASSETS = Path(__file__).parent / "assets"


def create_app(settings: AppSettings, store: Store) -> Dash:
    """Return the Dash app for ``settings``, reading from ``store``."""
    app = Dash(
        __name__,
        title=settings.title + (" — SYNTHETIC" if settings.synthetic else ""),
        assets_folder=str(ASSETS),
        compress=True,
        update_title="",
        serve_locally=True,
    )
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)  # axe: the page's language
    app.layout = build_layout(settings)
    register(app, store, settings)
    for panel in load_panels():
        panel.register(app, store, settings)

    @app.server.route("/healthz")
    def _health() -> tuple[str, int]:
        try:
            store.ping()
        except Exception as exc:  # noqa: BLE001 - health check reports any failure as text
            return f"store unavailable: {exc}", 503
        return "ok", 200

    register_api(app.server, store, settings)  # POST /api/v1/events (issue 6)
    register_interop(app.server, store, settings)  # OGC API – Features, live KML (issue 16)
    install_security_headers(app, settings)  # CSP and friends on every response (issue 7)
    install_auth(app, store, settings)  # sign-in gate; sets flask.g.hbm_user for every request (issue 7)
    return app
