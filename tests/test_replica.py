"""A read replica: the map reads from a streaming standby, never shows an older revision, and says when it lags.

Runs against a real hot standby of the PostGIS cluster (``.ci/standby.sh`` makes one with
``pg_basebackup -R`` on port 5434): ``HBM_TEST_REPLICA_URL`` points at the test database on it.
Replay on the standby is paused to make it lag on purpose, then resumed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from dashboard.callbacks import LAYER_ORDER, refresh_map
from dashboard.settings import load_app_settings
from data.open import open_store
from data.settings import load_store_settings
from data.store import SqlStore, Store
from tests.helpers import POSTGIS_URL, reset_postgis, sample_events, sample_features, unavailable

pytestmark = pytest.mark.postgis
REPLICA_URL = os.environ.get("HBM_TEST_REPLICA_URL", "")
STATUS, STATE = len(LAYER_ORDER), len(LAYER_ORDER) + 3
INPUTS = ("24h", None, None, "events", "auto", 8, None)  # window, custom start/end, metric, res, zoom, bounds


def _revision(store: Store) -> int:
    return store.revisions()["_all"].revision


def _caught_up(primary: Store, replica: Store, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _revision(replica) == _revision(primary):
                return
        except Exception:  # noqa: BLE001 - tables still being created on the standby
            pass
        time.sleep(0.2)
    raise AssertionError("the standby did not catch up with the primary")


def _replay(replica: SqlStore, action: str) -> None:
    with replica.engine.connect() as conn:
        conn.execute(text(f"SELECT pg_wal_replay_{action}()"))


@pytest.fixture
def pair() -> Iterator[tuple[SqlStore, SqlStore]]:
    """A fresh primary test database and the same database on the streaming standby."""
    if not (POSTGIS_URL and REPLICA_URL):
        unavailable("replica tests need HBM_TEST_POSTGIS_URL and HBM_TEST_REPLICA_URL (a standby: .ci/standby.sh)")
    reset_postgis(POSTGIS_URL)
    primary = open_store(load_store_settings(database_url=POSTGIS_URL))
    replica = open_store(load_store_settings(database_url=REPLICA_URL))
    assert isinstance(primary, SqlStore) and isinstance(replica, SqlStore)
    primary.init_schema()
    for table, rows in sample_features().items():
        primary.upsert(table, rows)
    primary.upsert("events", sample_events(now=datetime.now(UTC)))
    _caught_up(primary, replica)
    yield primary, replica
    _replay(replica, "resume")
    primary.dispose()
    replica.dispose()


def test_the_replica_is_read_only_and_streams_the_primarys_writes(pair: tuple[SqlStore, SqlStore]) -> None:
    primary, replica = pair
    with replica.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
    before = _revision(primary)
    primary.upsert("events", sample_events(3, now=datetime.now(UTC)))
    _caught_up(primary, replica)
    assert _revision(replica) > before


def test_map_reads_come_from_the_replica_and_its_lag_is_shown(pair: tuple[SqlStore, SqlStore]) -> None:
    primary, replica = pair
    settings = load_app_settings(replica_max_lag_seconds=0.5)
    _replay(replica, "pause")
    old = _revision(replica)
    time.sleep(1.2)  # the primary's next write is over a second newer than anything the replica has
    primary.upsert("events", sample_events(4, hours_back=1, now=datetime.now(UTC) + timedelta(seconds=1)))
    assert _revision(primary) > old
    out = refresh_map(primary, settings, *INPUTS, None, read_store=replica)
    assert out[STATE]["revision"] == old  # a new screen is served from the replica, as it stands
    status = "".join(c if isinstance(c, str) else "" for c in out[STATUS])
    assert "replica" in status and "s behind" in status
    # Without a replica setting, the same call reads the primary: the difference is the routing.
    assert refresh_map(primary, settings, *INPUTS, None)[STATE]["revision"] == _revision(primary)


def test_a_client_never_goes_back_to_an_older_revision(pair: tuple[SqlStore, SqlStore]) -> None:
    primary, replica = pair
    settings = load_app_settings(replica_max_lag_seconds=3600)
    first = refresh_map(primary, settings, *INPUTS, None, read_store=replica)[STATE]
    _replay(replica, "pause")
    primary.upsert("events", sample_events(4, hours_back=1, now=datetime.now(UTC)))
    newest = _revision(primary)
    seen_on_primary = {**first, "revision": newest}  # this screen was just served the newest data elsewhere
    out = refresh_map(primary, settings, *INPUTS, seen_on_primary, read_store=replica)
    assert out[STATE]["revision"] == newest > _revision(replica)
    lagging_ok = refresh_map(primary, settings, *INPUTS, first, read_store=replica)
    assert lagging_ok[STATE]["revision"] == first["revision"]  # not newer than what the replica has: replica serves
    _replay(replica, "resume")
    _caught_up(primary, replica)
    assert refresh_map(primary, settings, *INPUTS, first, read_store=replica)[STATE]["revision"] == newest


def test_the_app_reads_its_map_from_hbm_database_read_url(pair: tuple[SqlStore, SqlStore]) -> None:
    from dashboard.app import create_app
    from tests.benchmarks.refresh import _callback_body, _layout_props

    primary, replica = pair
    app = create_app(load_app_settings(database_read_url=REPLICA_URL, replica_max_lag_seconds=0.5), primary)
    client = app.server.test_client()
    props = _layout_props(client.get("/_dash-layout").get_json(), {})
    dep = next(d for d in client.get("/_dash-dependencies").get_json() if "client-state.data" in d["output"])
    _replay(replica, "pause")
    old = _revision(replica)
    time.sleep(1.2)
    primary.upsert("events", sample_events(4, hours_back=1, now=datetime.now(UTC)))
    out = client.post("/_dash-update-component", json=_callback_body(dep, props, {})).get_json()["response"]
    assert out["client-state"]["data"]["revision"] == old < _revision(primary)
    assert "s behind" in str(out["status-line"]["children"])
