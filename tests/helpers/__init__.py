"""Shared test code: sample data, service checks, ports, browser options.

Test files import from here, never from each other (tests/test_docs.py checks).
"""

from __future__ import annotations

import os
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root, so tests never depend on the working directory."""

IN_CI = bool(os.environ.get("CI"))


POSTGIS_URL = os.environ.get("HBM_TEST_POSTGIS_URL", "")


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def unavailable(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where every test must run."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def reset_postgis(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        # Every table the schema may have created, so features adding tables need no change here.
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'")
        ).scalars()
        for table in list(tables):
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    engine.dispose()


def sample_features() -> dict[str, list[dict]]:
    """A tiny inline data set: two crossing points, a route, an SRR with a sector."""
    area = Polygon([(31.0, 1.0), (31.2, 1.0), (31.2, 1.2), (31.0, 1.2)])
    return {
        "crossing_points": [
            {
                "id": "cp-a",
                "name": "Alpha",
                "kind": "official",
                "status": "open",
                "country_a": "UGA",
                "country_b": "SSD",
                "capacity_per_day": 100,
                "geometry": Point(32.06, 3.58),
            },
            {
                "id": "cp-b",
                "name": "Bravo <script>x</script>",
                "kind": "informal",
                "status": "closed",
                "geometry": Point(30.9, 2.4),
            },
        ],
        "routes": [
            {
                "id": "rt-a",
                "name": "Lake",
                "mode": "boat",
                "risk": "critical",
                "last_observed_at": NOW - timedelta(hours=3),
                "geometry": LineString([(30.5, 1.5), (31.0, 1.6)]),
            },
        ],
        "sar_zones": [
            {
                "id": "srr",
                "name": "SRR",
                "kind": "srr",
                "status": "in_progress",
                "authority": "Police",
                "geometry": area,
            },
            {
                "id": "sec-aa",
                "name": "AA",
                "kind": "sector",
                "parent_id": "srr",
                "status": "assigned",
                "team": "Boat 1",
                "poa": 0.5,
                "pod": 0.2,
                "geometry": area.buffer(-0.05),
            },
        ],
    }


def sample_events(n: int = 40, hours_back: float = 48.0, now: datetime = NOW) -> list[dict]:
    """``n`` events spread over ``hours_back`` hours before ``now``, near cp-a and on rt-a."""
    rows = []
    for i in range(n):
        near_cp = i % 2 == 0
        rows.append(
            {
                "id": f"ev-{i:03d}",
                "occurred_at": now - timedelta(hours=hours_back * i / n),
                "kind": "crossing" if near_cp else "distress",
                "people": i % 7,
                "geometry": Point(32.06 + 0.001 * i, 3.58) if near_cp else Point(30.6 + 0.01 * i, 1.55),
                "crossing_point_id": "cp-a" if near_cp else None,
                "route_id": None if near_cp else "rt-a",
                "location_precision_m": 50.0,
                "source": "test",
                "notes": "inline test event",
            }
        )
    return rows


def free_port() -> int:
    """Return a TCP port free right now, so browser tests never collide on 8050."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chrome_available() -> str | None:
    """Return None when chromium and chromedriver are installed, else the reason."""
    if not shutil.which("chromedriver"):
        return "browser tests need chromedriver (Debian: apt install chromium chromium-driver)"
    if not (shutil.which("chromium") or shutil.which("google-chrome")):
        return "browser tests need chromium (Debian: apt install chromium)"
    return None


def chrome_options() -> Any:
    """Options for dash_duo's Chrome: headless Debian chromium, runnable as root."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--window-size=1400,900",
    ):
        options.add_argument(arg)
    binary = shutil.which("chromium") or shutil.which("google-chrome")
    if binary:
        options.binary_location = binary
    return options


def sar_save_form(name: str) -> dict[str, Any]:
    """The SAR panel's new-plan form as a callback request's state: a 5 km datum circle, 20 km² grid sectors."""
    return {
        "sar-source.value": "datum",
        "sar-datum.value": "1.4,30.7",
        "sar-radius.value": 5,
        "sar-method.value": "grid",
        "sar-rotate.value": ["on"],
        "sar-size.value": 20,
        "sar-poa.value": "uniform",
        "sar-rest.value": 0,
        "sar-name.value": name,
        "sar-save-btn.n_clicks": 1,
    }


def open_panels(dash_duo: Any) -> None:
    """Open every side panel, as a user clicking each heading would (only Alerts starts open, issue 12)."""
    dash_duo.wait_for_element("details.hbm-panel", timeout=20)
    for summary in dash_duo.find_elements("details.hbm-panel:not([open]) > summary"):
        summary.click()
