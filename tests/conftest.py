"""Shared fixtures: a store per backend, and the rules for PostGIS and browser tests.

On a laptop without PostgreSQL or chromium those tests skip with the reason; in CI
(``CI`` set) a missing service fails the run instead of skipping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from tests.helpers import (
    POSTGIS_URL,
    chrome_available,
    chrome_options,
    reset_postgis,
    sample_events,
    sample_features,
    unavailable,
)
from tests.helpers.auth import SECRET, TOKEN


@pytest.fixture(autouse=True)
def _run_elsewhere(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test from an empty directory: no test may depend on the working directory (or on a .env there)."""
    monkeypatch.chdir(tmp_path_factory.getbasetemp())


@pytest.fixture(autouse=True)
def _auth_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps built in tests skip sign-in (HBM_AUTH=off); the authentication tests turn it on explicitly."""
    monkeypatch.setenv("HBM_AUTH", "off")


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for tests that sign in often (each hash records its own parameters)."""
    from argon2 import PasswordHasher

    from data import users

    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(params=["sqlite", "postgis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, initialised store of each backend."""
    if request.param == "sqlite":
        s = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'test.sqlite'}"))
    else:
        if not POSTGIS_URL:
            unavailable("PostGIS tests need HBM_TEST_POSTGIS_URL=postgresql+psycopg://USER:PASS@HOST/DB")
        try:
            reset_postgis(POSTGIS_URL)
        except Exception as exc:  # noqa: BLE001 - report any connection problem as the reason
            unavailable(f"PostGIS at HBM_TEST_POSTGIS_URL is unreachable: {str(exc).splitlines()[0]}")
        s = open_store(load_store_settings(database_url=POSTGIS_URL))
    s.init_schema()
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store (for tests that need only one backend)."""
    s = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'one.sqlite'}"))
    s.init_schema()
    yield s
    s.dispose()


@pytest.fixture
def seeded(store: Store) -> Store:
    """A store of each backend holding the inline sample data."""
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", sample_events())
    return store


@pytest.fixture
def browser_ready() -> None:
    """Skip (laptop) or fail (CI) a browser test when chromium or chromedriver is missing."""
    reason = chrome_available()
    if reason:
        unavailable(reason)


@pytest.fixture
def auth_on(monkeypatch: pytest.MonkeyPatch, fast_hashing: None) -> pytest.MonkeyPatch:
    """Authentication on, as `hbm serve` runs it, over plain http (tests), re-reading users on every request."""
    for key, value in {
        "HBM_AUTH": "on",
        "HBM_SECRET_KEY": SECRET,
        "HBM_COOKIE_SECURE": "false",
        "HBM_AUTH_RECHECK_SECONDS": "0",
        "HBM_API_TOKEN": TOKEN,
    }.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def pytest_setup_options():  # type: ignore[no-untyped-def]
    """Options for dash_duo's Chrome: headless Debian chromium, runnable as root."""
    return chrome_options()
