"""Open the store named by the settings."""

from __future__ import annotations

from data.interfaces import Store
from data.settings import StoreSettings


def open_store(settings: StoreSettings) -> Store:
    """Return the SQLite or PostGIS store for ``settings.database_url`` (no connection is made yet)."""
    url = settings.url
    if url.drivername == "sqlite":
        from data.sqlite_store import SQLiteStore

        return SQLiteStore(url)
    from data.postgis_store import PostGISStore

    return PostGISStore(url, connect_timeout_s=settings.connect_timeout_s)
