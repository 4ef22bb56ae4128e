"""Register the interoperability endpoints (issue 16) on the Dash server: OGC API – Features and the live KML."""

from __future__ import annotations

from flask import Flask

from dashboard.kml import kml_blueprint
from dashboard.ogc import ogc_blueprint
from dashboard.settings import AppSettings
from data.notify_settings import NotifySettings, load_notify_settings
from data.store import Store


def register_interop(
    server: Flask, store: Store, settings: AppSettings, k: int | None = None, notify: NotifySettings | None = None
) -> None:
    """Add ``/ogc/…`` and ``/kml/…`` to ``server`` (behind the sign-in gate, which accepts API tokens there)."""
    server.register_blueprint(ogc_blueprint(store, settings, k))
    server.register_blueprint(kml_blueprint(store, settings, k))
    notify = notify or load_notify_settings()
    if notify.worker:
        from data.notify import NotificationWorker

        # One process only; with several workers run `hbm notify run --every N` instead.
        NotificationWorker(store, notify).start()
