"""Build the Dash app. Nothing happens at import; the store is passed in."""

from __future__ import annotations

from pathlib import Path

from dash import Dash
from flask import Response, send_file

from dashboard.api import register_api
from dashboard.auth import install_auth
from dashboard.callbacks import register
from dashboard.i18n import install_i18n, page_title
from dashboard.layout import PMTILES_PATH, build_layout
from dashboard.panels import load_panels
from dashboard.security import install_security_headers
from dashboard.settings import AppSettings
from data.store import Store

ASSETS = Path(__file__).parent / "assets"


def create_app(settings: AppSettings, store: Store) -> Dash:
    """Return the Dash app for ``settings``, reading from ``store``."""
    app = Dash(
        __name__,
        title=page_title(settings),  # per request, in the request's language (dashboard.i18n)
        assets_folder=str(ASSETS),
        compress=True,
        update_title="",
        serve_locally=True,
        assets_ignore=r"vendor/.*",  # PMTiles libraries: loaded on demand (context.js), only when configured
    )
    app.layout = lambda: build_layout(settings)  # built per page load, in the request's language (issue 12)
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

    if settings.basemap_pmtiles:
        archive = Path(settings.basemap_pmtiles).expanduser().resolve()

        @app.server.get(PMTILES_PATH)
        def _pmtiles() -> Response:  # behind the sign-in gate like every path not listed as open
            # conditional=True answers Range requests with 206 Partial Content (the client reads byte ranges).
            return send_file(archive, mimetype="application/octet-stream", conditional=True, max_age=3600)

    register_api(app.server, store, settings)  # POST /api/v1/events (issue 6)
    install_security_headers(app, settings)  # CSP and friends on every response (issue 7)
    install_auth(app, store, settings)  # sign-in gate; sets flask.g.hbm_user for every request (issue 7)
    install_i18n(app, store, settings)  # after the gate: a signed-in user's saved language (issue 12)
    return app
