"""Build the Dash app. Nothing happens at import; the store is passed in."""

from __future__ import annotations

from pathlib import Path

from dash import Dash
from flask import Response, send_file

from dashboard.api import register_api
from dashboard.auth import install_auth
from dashboard.callbacks import register
from dashboard.config import Settings
from dashboard.i18n import install_i18n, page_title
from dashboard.interop import register_interop
from dashboard.layout import PMTILES_PATH, build_layout
from dashboard.panels import load_panels
from dashboard.security import install_security_headers
from dashboard.settings import AppSettings
from data.store import Store

ASSETS = Path(__file__).parent / "assets"


def create_app(settings: AppSettings, store: Store, config: Settings | None = None) -> Dash:
    """Return the Dash app for ``settings``, reading from ``store``.

    ``config`` holds every other concern's settings (``dashboard.config``); without it they are read from
    the environment here, once, and passed to the parts that need them.
    """
    config = config or Settings(app=settings)
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
    read_store = None
    if settings.database_read_url:  # map and statistics reads from a streaming replica (issue 15)
        from data.open import open_store
        from data.settings import load_store_settings

        read_store = open_store(load_store_settings(database_url=settings.database_read_url))
    register(app, store, settings, read_store=read_store, hotspots=config.hotspots)
    for panel in load_panels():
        panel.register(app, store, settings, config)

    @app.server.route("/livez")
    def _live() -> Response:
        # Liveness: the process answers; never touches the store (an outage must not restart workers).
        return Response("ok\n", 200, mimetype="text/plain", headers={"Cache-Control": "no-store"})

    @app.server.route("/readyz")
    def _ready() -> Response:
        # Readiness: this worker can serve the map, i.e. its store answers; a load balancer routes elsewhere if not.
        try:
            store.ping()
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure as text
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return Response(f"not ready: store unavailable: {message}\n", 503, mimetype="text/plain",
                            headers={"Cache-Control": "no-store"})  # fmt: skip
        return Response("ready\n", 200, mimetype="text/plain", headers={"Cache-Control": "no-store"})

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

    register_api(app.server, store, settings, api=config.api, ingest=config.ingest)  # POST /api/v1/events (issue 6)
    # OGC API – Features, live KML (issue 16)
    register_interop(app.server, store, settings, k=config.suppress_k, notify=config.notify)
    install_security_headers(app, settings, config.security)  # CSP and friends on every response (issue 7)
    install_auth(app, store, settings, config.auth if settings.auth else None)  # sign-in gate (issue 7)
    install_i18n(app, store, settings)  # after the gate: a signed-in user's saved language (issue 12)
    return app
