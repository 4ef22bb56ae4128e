"""The synthetic demo crisis: features, events and the injected surge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import shapely

from data.demo import DEMO_SOURCE, SURGE_CROSSING_ID, demo_features
from data.demo_events import demo_events, live_events
from data.records import prepare_events, prepare_rows

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def test_crossing_points_cover_all_kinds() -> None:
    points = demo_features(NOW)["crossing_points"]
    assert len(points) >= 12
    assert {p["kind"] for p in points} == {"official", "informal", "flow_monitoring"}
    assert all(p["id"].startswith("demo-cp-") for p in points)
    assert {c for p in points for c in (p["country_a"], p["country_b"])} == {"UGA", "COD", "SSD"}


def test_routes_include_recent_boat_route() -> None:
    routes = demo_features(NOW)["routes"]
    assert len(routes) >= 6
    assert any(r["mode"] == "boat" for r in routes)
    assert all(NOW - timedelta(days=7) <= r["last_observed_at"] <= NOW for r in routes)


def test_sectors_tile_the_search_area() -> None:
    zones = demo_features(NOW)["sar_zones"]
    srr = [z for z in zones if z["kind"] == "srr"]
    areas = [z for z in zones if z["kind"] == "search_area"]
    assert len(srr) == 1 and len(areas) == 1
    area = areas[0]
    assert area["parent_id"] == srr[0]["id"]
    sectors = [z for z in zones if z["kind"] == "sector"]
    assert len(sectors) >= 4
    assert all(s["parent_id"] == area["id"] for s in sectors)
    union = shapely.union_all([s["geometry"] for s in sectors])
    diff = union.symmetric_difference(area["geometry"]).area
    assert diff <= 0.005 * area["geometry"].area
    assert abs(sum(s["poa"] for s in sectors) - 1) < 0.01
    assert all(0 <= s["pod"] <= 1 for s in sectors)


def test_features_pass_store_validation() -> None:
    for table, rows in demo_features(NOW).items():
        assert len(prepare_rows(table, rows)) == len(rows)


def test_event_ids_are_deterministic() -> None:
    first, second = demo_events(2000, NOW), demo_events(2000, NOW)
    assert first["id"].is_unique
    assert first["id"].tolist() == second["id"].tolist()
    pd.testing.assert_frame_equal(first, second)
    assert first["id"].iloc[0] == "demo-ev-0000000"


def test_events_are_synthetic_and_within_the_window() -> None:
    events = demo_events(20_000, NOW)
    assert len(events) == 20_000
    assert events["occurred_at"].min() > NOW - timedelta(days=30)
    assert events["occurred_at"].max() <= NOW
    assert (events["source"] == DEMO_SOURCE).all()
    assert events["notes"].str.startswith("SYNTHETIC").all()
    assert (events["people"] >= 0).all()
    assert len(prepare_events(events)) == len(events)


def test_surge_stands_out_in_the_last_three_days() -> None:
    events = demo_events(50_000, NOW)
    at = events[events["crossing_point_id"] == SURGE_CROSSING_ID]
    recent = at.loc[at["occurred_at"] > NOW - timedelta(days=3), "people"].sum()
    earlier = at.loc[at["occurred_at"] <= NOW - timedelta(days=3), "people"].sum() * 3 / 27
    assert recent > 3 * earlier


def test_live_events_are_new_and_near_now() -> None:
    live = live_events(NOW, np.random.default_rng(1), count=5)
    assert len(live) == 5 and live["id"].is_unique
    assert live["id"].str.startswith("demo-live-").all()
    assert (abs(live["occurred_at"] - NOW) < timedelta(minutes=1)).all()
    assert len(prepare_events(live)) == 5
