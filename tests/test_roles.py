"""Roles enforced on the server, called as plain functions: map, hotspot details, playback, exports, SAR, alerts.

Each check asks what a role gets whatever the client sent (a fixed resolution of 9, suppression
off); the same request as an analyst is made next to it, so every assertion could fail.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import pytest
from dash import no_update
from shapely.geometry import box, mapping

from dashboard.callbacks import event_kinds_text, refresh_map, role_controls
from dashboard.panels.alerts import ack_alert, fly_target, render_alert, who_controls
from dashboard.panels.exports import export_buttons, export_view, permalink_outputs, permalink_search
from dashboard.panels.playback import PlaybackCache, playback_frame
from dashboard.panels.sar import EDIT_CONTROLS, EXPORTS, edit_plan, export_plan, preview_geojson, role_state
from dashboard.panels.sar import save_new_plan as sar_save
from dashboard.permissions import DEMO_USER, Forbidden, User, clamp_view, denied_text
from dashboard.settings import load_app_settings
from data import audit_log
from data.alerts import Alert, get_alert, new_alert_id, write_alert
from data.audit import list_exports
from data.sar_plans import load_plan
from data.store import Store
from layers.hotspots import load_hotspot_settings
from layers.services.exports.collect import Page
from layers.services.exports.settings import load_export_settings
from layers.view import View
from tests.helpers import NOW

SETTINGS = load_app_settings()
K = load_hotspot_settings()[1]
MAX_RES = SETTINGS.viewer_max_res
VIEWER, ANALYST = User("vera", "viewer"), User("ana", "analyst")
SARCO, ADMIN = User("sam", "sar_coordinator"), User("ada", "admin")
BOUNDS = [[0.5, 29.0], [4.0, 33.0]]
CONTROLS: dict[str, Any] = {
    "window": "7d",
    "metric": "people",
    "resolution": "9",
    "statistic": "count",
    "suppress": [],
    "zoom": 9,
    "bounds": [[3.0, 31.5], [4.0, 32.5]],
    "overlays": ["Crossing points", "Hotspots (H3)"],
}


def _hotspot_cells(layer: Any) -> list[dict[str, Any]]:
    return [f["properties"] for f in layer["features"] if "cell" in f["properties"]]


def _refresh(store: Store, user: User | None, resolution: str = "9", suppress: Any = False) -> tuple:
    return refresh_map(
        store, SETTINGS, "7d", None, None, "people", resolution, 9, BOUNDS, None, now=NOW, suppress=suppress, user=user
    )


# -- the View ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "resolution", "zoom", "suppress", "expected"),
    [
        (ANALYST, 9, 8.0, False, (9, False)),  # raw access: untouched
        (ADMIN, None, 14.0, False, (None, False)),
        (VIEWER, 9, 8.0, False, (MAX_RES, True)),  # a fixed fine resolution is clamped
        (VIEWER, MAX_RES, 8.0, False, (MAX_RES, True)),  # exactly the limit stays
        (VIEWER, 4, 8.0, False, (4, True)),  # coarser stays
        (VIEWER, None, 14.0, False, (MAX_RES, True)),  # zoom-derived res 9 becomes a fixed limit
        (VIEWER, None, 5.0, True, (None, True)),  # zoom-derived and coarse enough: keeps following the zoom
        (None, 8, 8.0, False, (MAX_RES, True)),  # anonymous: the least
    ],
)
def test_clamp_view(user: User | None, resolution: int | None, zoom: float, suppress: bool, expected: tuple) -> None:
    view = View(start=NOW - timedelta(days=1), end=NOW, zoom=zoom, resolution=resolution, suppress=suppress)
    clamped = clamp_view(view, user, MAX_RES)
    assert (clamped.resolution, clamped.suppress) == expected
    assert clamped.res <= (9 if user in (ANALYST, ADMIN) else MAX_RES)
    assert clamp_view(view, VIEWER, 5).res <= 5


def test_denied_text_names_the_role() -> None:
    assert denied_text(VIEWER, "edit_sar") == "Your role (viewer) may not edit SAR plans."
    assert denied_text(SARCO, "edit_sar") == "" and denied_text(None, "view") == "Sign in first."


# -- the map ----------------------------------------------------------------------------------------------
def test_viewer_map_is_clamped_and_suppressed_whatever_the_client_sends(seeded: Store) -> None:
    fine = _hotspot_cells(_refresh(seeded, ANALYST)[2])
    assert fine and {c["res"] for c in fine} == {9}  # the same request gives an analyst res-9 cells...
    assert any(0 < c["people"] < K for c in fine)  # ...some of them small
    for suppress in (False, [], ["on"]):
        cells = _hotspot_cells(_refresh(seeded, VIEWER, suppress=suppress)[2])
        assert cells and max(c["res"] for c in cells) <= MAX_RES
        assert not [c for c in cells if 0 < c["people"] < K]
    assert sum(c["people"] for c in cells) <= sum(c["people"] for c in fine)


def _events_at(cells_people: list[tuple[str, int]], at: datetime) -> list[dict[str, Any]]:
    from shapely.geometry import Point

    rows = []
    for i, (cell, people) in enumerate(cells_people):
        lat, lng = h3.cell_to_latlng(cell)
        rows.append(
            {"id": f"edge-{i}", "occurred_at": at, "kind": "crossing", "people": people, "geometry": Point(lng, lat)}
        )
    return rows


@pytest.mark.parametrize("asked", ["4", "5", "6", "9"])
def test_viewer_map_suppression_edges_across_resolutions(store: Store, asked: str) -> None:
    exact = h3.latlng_to_cell(3.0, 31.0, 6)  # exactly k people: stays as it is
    lonely = sorted(h3.cell_to_children(h3.latlng_to_cell(0.0, 30.0, 5), 6))[:2]  # 1 + 1: still under k at res 4
    pair = sorted(h3.cell_to_children(h3.latlng_to_cell(2.0, 32.5, 5), 6))[:2]  # k-1 + 1: k in the parent
    store.upsert(
        "events",
        _events_at(
            [(exact, K), (lonely[0], 1), (lonely[1], 1), (pair[0], K - 1), (pair[1], 1)], NOW - timedelta(hours=1)
        ),
    )
    out = refresh_map(
        store, SETTINGS, "24h", None, None, "people", asked, 9, [[-1, 29], [4, 33]], None, now=NOW, user=VIEWER
    )
    got = {(c["cell"], c["res"], c["people"]) for c in _hotspot_cells(out[2])}
    res = min(int(asked), MAX_RES)
    pair_parent = h3.cell_to_parent(pair[0], 5)
    expected = {(h3.cell_to_parent(exact, res), res, K)}
    expected.add((pair_parent, 5, K) if res == 6 else (h3.cell_to_parent(pair[0], res), res, K))
    assert got == expected  # the lonely pair never shows, not even merged: its res-4 parent holds 2 < k
    assert {c["merged"] for c in _hotspot_cells(out[2]) if "merged" in c} == ({2} if res == 6 else set())


def test_viewer_sees_small_crossing_flows_as_under_k(seeded: Store) -> None:
    from shapely.geometry import Point

    at = NOW - timedelta(hours=2)
    row = {"id": "ev-b", "occurred_at": at, "kind": "crossing", "people": K - 1, "geometry": Point(30.9, 2.4)}
    seeded.upsert("events", [{**row, "crossing_point_id": "cp-b"}])
    flows = {}
    for user in (ANALYST, VIEWER):
        layer = _refresh(seeded, user)[0]
        flows[user.role] = {f["properties"]["id"]: f["properties"] for f in layer["features"]}
    assert flows["analyst"]["cp-b"]["people_24h"] == K - 1 and flows["analyst"]["cp-b"]["events_24h"] == 1
    assert flows["viewer"]["cp-b"]["people_24h"] == f"under {K}" and flows["viewer"]["cp-b"]["events_24h"] is None
    big = flows["analyst"]["cp-a"]["people_window"]
    assert big >= K and flows["viewer"]["cp-a"]["people_window"] == big  # k or more: shown as it is


def test_a_callback_that_forgets_the_user_acts_as_the_signed_in_user(seeded: Store) -> None:
    from flask import Flask, g

    with Flask(__name__).test_request_context("/"):
        g.hbm_user = VIEWER  # what the sign-in gate sets; the call below passes no user at all
        out = refresh_map(seeded, SETTINGS, "7d", None, None, "people", "9", 9, BOUNDS, None, now=NOW)
        cells = [f["properties"] for f in out[2]["features"] if "cell" in f["properties"]]
        assert cells and max(p["res"] for p in cells) <= MAX_RES
        g.hbm_user = None  # anonymous
        out = refresh_map(seeded, SETTINGS, "7d", None, None, "people", "9", 9, BOUNDS, None, now=NOW)
        assert out[:4] == (no_update,) * 4


def test_anonymous_gets_no_layers(seeded: Store) -> None:
    out = _refresh(seeded, None)
    assert out[:4] == (no_update,) * 4 and out[8] == "Sign in first."


def test_role_controls_offer_only_what_the_role_may_see() -> None:
    options, suppress_opts, value = role_controls(VIEWER, MAX_RES)
    assert [o["value"] for o in options] == ["auto", *[str(r) for r in range(4, MAX_RES + 1)]]
    assert suppress_opts[0]["disabled"] and value == ["on"]
    options, suppress_opts, value = role_controls(ANALYST, MAX_RES)
    assert options[-1]["value"] == "9" and not suppress_opts[0].get("disabled") and value is no_update


def test_hotspot_details_do_not_reveal_fine_or_small_cells(seeded: Store) -> None:
    start, end = NOW - timedelta(days=7), NOW
    fine = _hotspot_cells(_refresh(seeded, ANALYST)[2])
    parent = h3.latlng_to_cell(3.58, 32.06, MAX_RES)  # the crossing point's cell: many people in all
    small = next(c for c in fine if 0 < c["people"] < K and h3.cell_to_parent(c["cell"], MAX_RES) == parent)
    assert event_kinds_text(seeded, small["cell"], start, end, ANALYST, MAX_RES, K).startswith("crossing ")
    assert event_kinds_text(seeded, small["cell"], start, end, VIEWER, MAX_RES, K).startswith("hidden")
    as_viewer = event_kinds_text(seeded, parent, start, end, VIEWER, MAX_RES, K)
    assert as_viewer.startswith("crossing ")  # >= k people: shown as to an analyst
    assert as_viewer == event_kinds_text(seeded, parent, start, end, ANALYST, MAX_RES, K)
    # A res-6 cell holding fewer than k people (crafted by a client) is suppressed for a viewer.
    seeded.upsert("events", [{**_lone_event(NOW - timedelta(hours=1)), "people": K - 1}])
    lone = h3.latlng_to_cell(-1.0, 29.0, MAX_RES)
    assert event_kinds_text(seeded, lone, start, end, VIEWER, MAX_RES, K).startswith("suppressed")
    assert event_kinds_text(seeded, lone, start, end, ANALYST, MAX_RES, K) == "sighting 1"


def _lone_event(at: datetime) -> dict[str, Any]:
    from shapely.geometry import Point

    return {"id": "ev-lone", "occurred_at": at, "kind": "sighting", "people": 1, "geometry": Point(29.0, -1.0)}


# -- playback ---------------------------------------------------------------------------------------------
def test_playback_frames_are_clamped_and_suppressed_for_a_viewer(sqlite_store: Store) -> None:
    from tests.helpers import sample_events, sample_features

    now = datetime.now(UTC)
    for table, rows in sample_features().items():
        sqlite_store.upsert(table, rows)
    sqlite_store.upsert("events", sample_events(now=now - timedelta(minutes=5)))
    view = View(start=now - timedelta(days=1), end=now, zoom=9, resolution=9, bbox=(29.0, 0.5, 33.0, 4.0))
    data, _state, _label = playback_frame(sqlite_store, PlaybackCache(), view, "1d", "cumulative", 29, ANALYST)
    assert {f["properties"]["res"] for f in data["features"]} == {9}
    assert any(0 < f["properties"]["people"] < K for f in data["features"])
    data, _state, _label = playback_frame(sqlite_store, PlaybackCache(), view, "1d", "cumulative", 29, VIEWER)
    assert data["features"] and max(f["properties"]["res"] for f in data["features"]) <= MAX_RES
    assert not [f for f in data["features"] if 0 < f["properties"]["people"] < K]
    with pytest.raises(Forbidden):
        playback_frame(sqlite_store, PlaybackCache(), view, "1d", "cumulative", 29, None)


# -- exports and permalinks -------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv", "kml", "html", "pack", "view"])
def test_viewer_may_not_export_data(sqlite_store: Store, fmt: str) -> None:
    download, status = export_view(
        sqlite_store, SETTINGS, load_export_settings(), fmt, CONTROLS, now=NOW, who="vera", user=VIEWER
    )
    assert download is no_update and status == "Export refused: Your role (viewer) may not export data."
    assert list_exports(sqlite_store) == []


def test_viewer_png_is_clamped_and_analyst_exports_data(seeded: Store) -> None:
    settings = load_export_settings(allow_raw_events=True)
    download, status = export_view(
        seeded, SETTINGS, settings, "png", CONTROLS, Page(), now=NOW, who="vera", user=VIEWER
    )
    assert base64.b64decode(download["content"]).startswith(b"\x89PNG"), status
    record = list_exports(seeded)[0]
    assert (record.who, record.format) == ("vera", "png")
    assert record.view["resolution"] == MAX_RES and record.view["suppress"] is True
    assert "events" not in record.feature_counts  # raw points never go out for a viewer, even when allowed
    download, status = export_view(seeded, SETTINGS, settings, "gpkg", CONTROLS, now=NOW, who="ana", user=ANALYST)
    assert base64.b64decode(download["content"]).startswith(b"SQLite format 3"), status
    record = list_exports(seeded)[0]
    assert (record.who, record.format, record.view["resolution"]) == ("ana", "gpkg", 9)
    assert record.feature_counts["events"] > 0


def test_export_buttons_per_role() -> None:
    formats = ["pdf", "png", "html", "gpkg", "view"]
    assert export_buttons(VIEWER, formats)[0] == [False, False, True, True, True]
    assert export_buttons(ANALYST, formats)[0] == [False] * 5
    assert export_buttons(None, formats)[0] == [True] * 5


def test_a_shared_link_opened_by_a_viewer_is_clamped() -> None:
    link = "?window_label=7d&resolution=9&suppress=0&zoom=12&bbox=31,2.5,33,4.5"
    out = permalink_outputs(link, now=NOW, user=ANALYST, max_res=MAX_RES)
    assert (out[4], out[6]) == ("9", [])
    out = permalink_outputs(link, now=NOW, user=VIEWER, max_res=MAX_RES)
    assert (out[4], out[6]) == (str(MAX_RES), ["on"])
    search = permalink_search(SETTINGS, CONTROLS, now=NOW, user=VIEWER)
    assert f"resolution={MAX_RES}" in search and "suppress=1" in search


# -- SAR ----------------------------------------------------------------------------------------------------
FORM = {
    "source": "drawn",
    "drawn": {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": mapping(box(30.6, 1.3, 30.8, 1.45))}],
    },
    "datum": None,
    "radius": None,
    "event": None,
    "method": "grid",
    "rotate": True,
    "size": 40,
    "poa": "uniform",
    "rest": 0,
    "name": "Roles plan",
}


def test_only_sar_coordinators_and_admins_edit_plans(sqlite_store: Store) -> None:
    for user in (VIEWER, ANALYST, None):
        with pytest.raises(Forbidden):
            preview_geojson(sqlite_store, FORM, user)
        with pytest.raises(Forbidden):
            sar_save(sqlite_store, FORM, user)
    plan_id = sar_save(sqlite_store, FORM, SARCO)
    plan = load_plan(sqlite_store, plan_id)
    seen, sector = {"plan_id": plan_id, "version": plan.version}, [str(plan.sectors["id"].iloc[0])]
    for user in (VIEWER, ANALYST):
        with pytest.raises(Forbidden):
            edit_plan(sqlite_store, "sector", seen, sector, "Boat 9", "assigned", None, None, None, user=user)
    assert load_plan(sqlite_store, plan_id).version == plan.version  # nothing was written
    rows, _t, _s, message, _c = edit_plan(
        sqlite_store, "sortie", seen, sector, "", "", 500, 500, None, who="sam", user=SARCO
    )
    assert "Sortie recorded" in message and load_plan(sqlite_store, plan_id).version == plan.version + 1
    with pytest.raises(Forbidden):
        export_plan(sqlite_store, plan_id, "kml", False, VIEWER)
    assert export_plan(sqlite_store, plan_id, "kml", False, ANALYST)["filename"].endswith(".kml")
    rows = [(e.who, e.target) for e in audit_log.query(sqlite_store, action="export")]
    assert rows == [("ana", "sar_kml")]  # the refused viewer export left no row; the analyst's is audited


def test_sar_controls_per_role() -> None:
    note, draw, *disabled = role_state(VIEWER)
    assert note == "Your role (viewer) may not edit SAR plans. Your role (viewer) may not export data."
    assert not any(draw.values()) and disabled[: len(EDIT_CONTROLS)] == [True] * len(EDIT_CONTROLS)
    assert disabled[-1] == [True] * len(EXPORTS)
    note, draw, *disabled = role_state(ANALYST)
    assert note == "Your role (analyst) may not edit SAR plans." and disabled[-1] == [False] * len(EXPORTS)
    note, draw, *disabled = role_state(SARCO)
    assert note == "" and draw is no_update and not any(disabled[:-1]) and not any(disabled[-1])


# -- alerts -------------------------------------------------------------------------------------------------
def _alert(store: Store, people: int) -> Alert:
    alert = Alert(
        id=new_alert_id(),
        rule_id="distress-sar-6h",
        subject="sar:srr",
        severity="critical",
        status="open",
        title="2 distress event(s) in SRR",
        lat=1.10123,
        lng=31.10456,
        cells=[],
        evidence={"zone": "srr", "people": people, "events": 2},
        opened_at=NOW,
        updated_at=NOW,
        last_true_at=NOW,
    )
    write_alert(store, alert)  # type: ignore[arg-type]
    return alert


def test_acknowledge_needs_the_permission_and_names_the_account(sqlite_store: Store) -> None:
    alert = _alert(sqlite_store, 3)
    with pytest.raises(Forbidden):
        ack_alert(sqlite_store, alert.id, VIEWER, "someone", NOW)  # type: ignore[arg-type]
    assert get_alert(sqlite_store, alert.id).acked_by is None  # type: ignore[arg-type,union-attr]
    acked = ack_alert(sqlite_store, alert.id, ANALYST, "typed free text", NOW)  # type: ignore[arg-type]
    assert acked.acked_by == "ana"  # the signed-in account, not the typed name
    other = _alert(sqlite_store, 3)
    assert ack_alert(sqlite_store, other.id, DEMO_USER, "Night shift", NOW).acked_by == "Night shift"  # type: ignore[arg-type]
    assert who_controls(DEMO_USER) == ({}, "")
    assert who_controls(ANALYST) == ({"display": "none"}, "Acknowledging as ana.")
    assert who_controls(VIEWER)[1] == "Your role (viewer) may not acknowledge alerts."


def test_viewer_alert_cards_hide_small_counts_and_fly_to_a_cell_not_a_point(sqlite_store: Store) -> None:
    alert = _alert(sqlite_store, K - 1)
    assert fly_target(alert, ANALYST, MAX_RES) == (alert.lat, alert.lng)
    lat, lng = fly_target(alert, VIEWER, MAX_RES)  # type: ignore[misc]
    assert (lat, lng) != (alert.lat, alert.lng)
    assert h3.latlng_to_cell(lat, lng, MAX_RES) == h3.latlng_to_cell(alert.lat, alert.lng, MAX_RES)
    card = render_alert(alert, can_ack=False, small_k=K)
    evidence, actions = str(card.children[3]), card.children[4].children
    assert f"fewer than {K}" in evidence and f"'{K - 1}'" not in evidence
    assert actions[1].disabled is True
    full = render_alert(alert)
    assert f"'{K - 1}'" in str(full.children[3]) and not getattr(full.children[4].children[1], "disabled", False)
