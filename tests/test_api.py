"""POST /api/v1/events: bearer token, size limits, malformed JSON, per-item results through the ingest checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.api import EVENTS_PATH, ApiSettings, is_authorised, load_api_settings, register_api
from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.ingest.settings import load_ingest_settings
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from geo.errors import ConfigError

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REGION = "29.5,-1.5,35.0,4.5"
GOOD = {"id": "api-1", "occurred_at": "2026-11-20T10:00:00Z", "kind": "sighting", "people": 3, "lat": 2.5, "lon": 31.2}


def client_for(store: Store, **api: object) -> FlaskClient:
    server = Flask("api-test")
    ingest = load_ingest_settings(region_bbox=REGION)  # swaps are corrected only into the region of interest
    register_api(server, store, api=ApiSettings(**{"token": TOKEN, **api}), ingest=ingest)  # type: ignore[arg-type]
    return server.test_client()


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"Bearer {TOKEN}x", False),
        (f"Basic {TOKEN}", False),
        ("Bearer ", False),
        (None, False),
    ],
)
def test_bearer_token_check(header: str | None, ok: bool) -> None:
    assert is_authorised(header, TOKEN) is ok


def test_without_a_configured_token_the_endpoint_refuses(sqlite_store: Store) -> None:
    server = Flask("no-token")
    register_api(server, sqlite_store, api=ApiSettings(token=None))
    answer = server.test_client().post(EVENTS_PATH, json=[GOOD], headers=AUTH)
    assert answer.status_code == 503 and "HBM_API_TOKEN" in answer.get_json()["error"]
    assert sqlite_store.counts()["events"] == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_missing_or_wrong_token_is_401(sqlite_store: Store, headers: dict[str, str]) -> None:
    answer = client_for(sqlite_store).post(EVENTS_PATH, json=[GOOD], headers=headers)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert sqlite_store.counts()["events"] == 0


def test_batch_with_good_and_bad_items_gets_per_item_results(store: Store) -> None:
    items = [
        GOOD,
        {**GOOD, "id": "api-2", "people": -1},
        {**GOOD, "id": "api-3", "lat": 31.2, "lon": 2.5},  # swapped: only the exchange lies in the region
        {**GOOD, "id": "api-4", "kind": "teleport", "occurred_at": "soon"},
    ]
    answer = client_for(store).post(EVENTS_PATH, json=items, headers=AUTH)
    body = answer.get_json()
    assert answer.status_code == 207
    assert (body["received"], body["accepted"], body["corrected"], body["rejected"]) == (4, 2, 1, 2)
    statuses = [(i["index"], i["status"]) for i in body["items"]]
    assert statuses == [(0, "accepted"), (1, "rejected"), (2, "corrected"), (3, "rejected")]
    assert body["items"][1]["problems"] == [{"field": "people", "reason": "negative_count: -1 is below zero"}]
    assert {p["reason"].split(":")[0] for p in body["items"][3]["problems"]} == {"unknown_value", "date_unparseable"}
    assert body["items"][2]["corrections"][0]["reason"].startswith("swapped_lat_lon")
    assert store.counts()["events"] == 2
    again = client_for(store).post(EVENTS_PATH, json=items[:1], headers=AUTH)
    assert again.status_code == 200 and store.counts()["events"] == 2  # upsert by id: no duplicate


def test_feature_collection_is_accepted(sqlite_store: Store) -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [31.2, 2.5]},
                "properties": {"occurred_at": "2026-11-20T10:00:00Z", "kind": "rescue", "people": 2},
            }
        ],
    }
    answer = client_for(sqlite_store).post(
        EVENTS_PATH, data=json.dumps(collection), headers=AUTH, content_type="application/json"
    )
    assert answer.status_code == 200
    assert answer.get_json()["items"][0]["ids"][0].startswith("ev-")
    assert sqlite_store.counts()["events"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[{", "malformed JSON: line 1, column 3"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"rows": []}', "not GeoJSON"),
        (b'"just text"', "not GeoJSON"),
    ],
)
def test_malformed_bodies_are_400_with_one_line(sqlite_store: Store, body: bytes, message: str) -> None:
    answer = client_for(sqlite_store).post(EVENTS_PATH, data=body, headers=AUTH, content_type="application/json")
    error = answer.get_json()["error"]
    assert answer.status_code == 400 and message in error and "\n" not in error


def test_payload_limits_are_413(sqlite_store: Store) -> None:
    client = client_for(sqlite_store, max_bytes=1_000, max_items=2)
    big = client.post(
        EVENTS_PATH, data=json.dumps([{**GOOD, "notes": "x" * 2_000}]), headers=AUTH, content_type="application/json"
    )
    assert big.status_code == 413 and "HBM_API_MAX_BYTES" in big.get_json()["error"]
    many = client.post(EVENTS_PATH, json=[{**GOOD, "id": f"a{i}"} for i in range(3)], headers=AUTH)
    assert many.status_code == 413 and "HBM_API_MAX_ITEMS" in many.get_json()["error"]
    assert sqlite_store.counts()["events"] == 0


def test_store_down_is_503(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    broken = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path}/a-file/x.sqlite"))
    answer = client_for(broken).post(EVENTS_PATH, json=[GOOD], headers=AUTH)
    assert answer.status_code == 503 and "nothing was written" in answer.get_json()["error"]


def test_create_app_serves_the_endpoint_with_the_token_from_settings(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HBM_API_TOKEN", TOKEN)
    app = create_app(load_app_settings(), sqlite_store)
    client = app.server.test_client()
    assert client.post(EVENTS_PATH, json=[GOOD]).status_code == 401
    assert client.post(EVENTS_PATH, json=[GOOD], headers=AUTH).status_code == 200
    assert sqlite_store.counts()["events"] == 1


def test_bad_api_settings_are_one_line_config_errors() -> None:
    with pytest.raises(ConfigError, match="HBM_MAX_BYTES|max_bytes|HBM_"):
        load_api_settings(max_bytes=5)
