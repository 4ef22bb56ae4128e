"""Register the interoperability endpoints (issue 16) on the Dash server: OGC API – Features and the live KML."""

from __future__ import annotations

import os

from flask import Flask

from dashboard.kml import kml_blueprint
from dashboard.ogc import ogc_blueprint
from dashboard.settings import AppSettings
from data.store import Store


def register_interop(server: Flask, store: Store, settings: AppSettings) -> None:
    """Add ``/ogc/…`` and ``/kml/…`` to ``server`` (behind the sign-in gate, which accepts API tokens there)."""
    server.register_blueprint(ogc_blueprint(store, settings))
    server.register_blueprint(kml_blueprint(store, settings))
    if os.environ.get("HBM_NOTIFY_WORKER", "").lower() in ("1", "on", "true", "yes"):
        from data.notify import NotificationWorker

        NotificationWorker(store).start()  # one process only; with several workers run `hbm notify run --every N`
