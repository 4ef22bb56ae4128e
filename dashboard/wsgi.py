"""The WSGI entry point for gunicorn: ``gunicorn 'dashboard.wsgi:create_server()'``.

Each worker process calls the factory itself (no ``--preload``): a database connection pool must
not cross a fork. Everything comes from ``HBM_*`` settings, as for ``hbm serve``.
"""

from __future__ import annotations

import logging

from flask import Flask

from dashboard.logs import configure_logging
from dashboard.settings import load_app_settings
from data.open import open_store
from data.settings import load_store_settings


def create_server(**overrides: object) -> Flask:
    """Return the dashboard's Flask server, built from the environment's settings (one per worker)."""
    from dashboard.app import create_app

    settings = load_app_settings(**overrides)
    configure_logging(settings.log_format, logging.INFO)
    store = open_store(load_store_settings())
    return create_app(settings, store).server
