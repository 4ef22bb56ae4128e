"""PostgreSQL really stops and starts under a running app: the banner appears, then the map recovers.

Uses a dedicated cluster (``.ci/run`` creates ``15 outage`` on port 5433) so stopping it never
touches the shared cluster the other tests use. Needs HBM_TEST_OUTAGE_CLUSTER ("15 outage") and
HBM_TEST_OUTAGE_URL; on a laptop without them the test skips, in CI it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import Point

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.open import open_store
from data.postgis_store import RetryBackoff
from data.settings import load_store_settings
from geo.errors import StoreUnavailable
from tests.helpers import chrome_available, free_port, reset_postgis, sample_events, sample_features, unavailable

REFRESH_S = 1.0


def _ctl(cluster: str, action: str, *extra: str) -> None:
    version, name = cluster.split()
    cmd = ["pg_ctlcluster", version, name, action, *extra]
    if os.geteuid() != 0:
        cmd = ["sudo", "-n", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    said = done.stdout + done.stderr
    if done.returncode != 0 and "already running" not in said and "is not running" not in said:
        raise RuntimeError(f"{' '.join(cmd)} failed: {said.strip()}")


@pytest.fixture
def outage_cluster() -> tuple[str, str]:
    reason = chrome_available()
    if reason:
        unavailable(reason)
    cluster, url = os.environ.get("HBM_TEST_OUTAGE_CLUSTER", ""), os.environ.get("HBM_TEST_OUTAGE_URL", "")
    if not cluster or not url:
        unavailable("the outage test needs HBM_TEST_OUTAGE_CLUSTER and HBM_TEST_OUTAGE_URL (.ci/run sets both)")
    if not shutil.which("pg_ctlcluster"):
        unavailable("the outage test needs pg_ctlcluster (Debian postgresql-common)")
    try:
        _ctl(cluster, "start")
        reset_postgis(url)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the cluster is the reason
        unavailable(f"outage cluster {cluster} is not usable: {str(exc).splitlines()[0]}")
    return cluster, url


@pytest.mark.browser
@pytest.mark.postgis
def test_postgres_stops_and_starts_under_the_running_app(dash_duo, outage_cluster: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    cluster, url = outage_cluster
    store = open_store(load_store_settings(database_url=url))
    store.init_schema()
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", sample_events(now=datetime.now(UTC) - timedelta(minutes=1)))
    now = datetime.now(UTC)
    expected, _ = store.event_totals(now - timedelta(hours=24), now)
    settings = load_app_settings(refresh_seconds=REFRESH_S, region_bbox="29.5,0.5,33.5,4.5")
    dash_duo.start_server(create_app(settings, store), port=free_port())
    dash_duo.wait_for_text_to_equal("#status-events", f"{expected:,}", timeout=20)
    dash_duo.wait_for_element_by_css_selector(".cp-marker", timeout=10)
    dash_duo.driver.execute_script("window.__hbm_marker = 42;")
    try:
        _ctl(cluster, "stop", "-m", "fast")
        dash_duo.wait_for_contains_text("#store-banner", "Store unreachable since", timeout=20)
        assert len(dash_duo.find_elements(".cp-marker")) == len(sample_features()["crossing_points"])
        assert dash_duo.find_element("#status-events").text == f"{expected:,}"  # the last good data stays
    finally:
        _ctl(cluster, "start")
    back = time.monotonic()
    writer = open_store(load_store_settings(database_url=url))
    writer.upsert(
        "events",
        [{"id": "ev-after-outage", "occurred_at": datetime.now(UTC), "kind": "rescue", "people": 3,
          "geometry": Point(31.5, 2.0), "source": "outage test"}],
    )  # fmt: skip
    writer.dispose()
    # Two refresh cycles after the store is reachable, plus the browser's own round trip.
    dash_duo.wait_for_text_to_equal("#status-events", f"{expected + 1:,}", timeout=2 * REFRESH_S + 4)
    dash_duo.wait_for_text_to_equal("#store-banner", "", timeout=2)
    recovered_s = time.monotonic() - back
    assert dash_duo.driver.execute_script("return window.__hbm_marker") == 42  # same page, no reload
    print(f"outage: recovered {recovered_s:.1f} s after PostgreSQL was back (refresh every {REFRESH_S:g} s)")
    store.dispose()


def test_backoff_fails_fast_then_lets_one_probe_through() -> None:
    backoff = RetryBackoff(first_s=0.05, cap_s=0.2)
    assert backoff.admit("db") is False  # healthy: no probe, no delay
    backoff.failed("connection refused")
    with pytest.raises(StoreUnavailable, match="connection refused"):
        backoff.admit("db")  # within the delay: fail fast without touching the server
    time.sleep(0.06)
    assert backoff.admit("db") is True  # the one probe
    with pytest.raises(StoreUnavailable):
        backoff.admit("db")  # while the probe runs, everyone else fails fast
    backoff.failed("connection refused")
    assert 0.05 < backoff.retry_at - time.monotonic() <= 0.1  # the delay doubled
    for _ in range(6):
        backoff.failed("connection refused")
    assert backoff.retry_at - time.monotonic() <= 0.2  # capped
    time.sleep(0.21)
    assert backoff.admit("db") is True
    backoff.succeeded()
    assert backoff.admit("db") is False and backoff.failures == 0
