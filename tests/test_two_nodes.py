"""Two app nodes on one PostGIS: two `hbm serve --workers 2` processes on two loopback ports.

What one node writes, the other serves at its next refresh; a user disabled on one is refused by
the other at the next request; a surge raises one alert between them; and they share one sign-in
limit. Nothing here is mocked: real gunicorn processes, real HTTP, one real database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from data import users
from data.alerts import list_alerts
from data.open import open_store
from data.settings import load_store_settings
from data.store import SqlStore
from tests.helpers import POSTGIS_URL, free_port, reset_postgis, unavailable
from tests.nodes import ROOT, MapClient, Node, node_env, sign_in, start_node

pytestmark = pytest.mark.postgis

PASSWORD = "correct horse battery staple"
TOKEN = "two-nodes-ingest-token"
SURGE = (3.58, 32.06)  # lat, lng: inside the demo region, away from the background traffic


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node, SqlStore]]:
    """Node A and node B (2 gunicorn workers each) on one fresh PostGIS database."""
    if not POSTGIS_URL:
        unavailable("two-node tests need HBM_TEST_POSTGIS_URL")
    reset_postgis(POSTGIS_URL)
    store = open_store(load_store_settings(database_url=POSTGIS_URL))
    assert isinstance(store, SqlStore)
    store.init_schema()
    from argon2 import PasswordHasher

    users.HASHER, saved = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1), users.HASHER
    for name, role in (("ops", "admin"), ("alice", "analyst"), ("bob", "viewer"), ("carol", "viewer")):
        users.add_user(store, name, role, PASSWORD)
    users.HASHER = saved
    _background(store, datetime.now(UTC))
    folder = tmp_path_factory.mktemp("nodes")
    env = node_env(POSTGIS_URL, HBM_API_TOKEN=TOKEN, HBM_LOG_FORMAT="json")
    a = start_node(free_port(), env, folder / "a.log", workers=2)
    try:
        b = start_node(free_port(), env, folder / "b.log", workers=2)
    except BaseException:
        a.stop()
        raise
    yield a, b, store
    a.stop()
    b.stop()
    store.dispose()


def _events(prefix: str, n: int, when: datetime, lat: float, lng: float, people: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}-{i}",
            "occurred_at": (when - timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "kind": "crossing",
            "people": people,
            "lat": lat,
            "lon": lng + 0.001 * (i % 5),
        }
        for i in range(n)
    ]


def _background(store: SqlStore, now: datetime) -> None:
    """Steady traffic at many places over 22 days: the default rule compares 24 h with the same weekday."""
    import pandas as pd
    from shapely.geometry import Point

    rows = []
    for day in range(22):
        for place in range(12):
            for item in _events(f"bg{day}-{place}", 3, now - timedelta(days=day, hours=3), 0.5 + 0.3 * place, 30.0, 2):
                rows.append(
                    {
                        **item,
                        "occurred_at": pd.Timestamp(item["occurred_at"]),
                        "geometry": Point(item["lon"], item["lat"]),
                    }
                )
    store.upsert("events", [{k: v for k, v in r.items() if k not in ("lat", "lon")} for r in rows])


def _post(node: Node, items: list[dict[str, Any]]) -> dict[str, Any]:
    answer = requests.post(
        node.url + "/api/v1/events", json=items, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    )
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()


def _status_events(out: dict[str, Any]) -> int:
    """Return the event count the status line shows ("Data as of … · N events · …")."""
    children = out["status-line"]["children"]
    found = next(c for c in children if isinstance(c, dict) and c["props"].get("id") == "status-events")
    return int(found["props"]["children"].replace(",", ""))


def test_an_event_posted_to_node_a_shows_on_node_b_at_its_next_refresh(cluster: tuple[Node, Node, SqlStore]) -> None:
    a, b, _ = cluster
    screen = MapClient(b, "alice", PASSWORD)
    status, first = screen.call("client-state.data")
    assert status == 200 and "layer-hotspots" in first
    before, revision = _status_events(first), first["client-state"]["data"]["revision"]
    assert _post(a, _events("via-a", 7, datetime.now(UTC) - timedelta(minutes=5), 2.5, 31.2, 3))["written"] == 7
    status, second = screen.call("client-state.data")  # one refresh on node B
    assert status == 200
    assert second["client-state"]["data"]["revision"] > revision
    assert _status_events(second) == before + 7
    assert "layer-hotspots" in second  # the hotspot layer was rebuilt with them


def test_a_surge_seen_by_both_nodes_raises_one_alert(cluster: tuple[Node, Node, SqlStore]) -> None:
    a, b, store = cluster
    walls = [
        MapClient(a, "ops", PASSWORD),
        MapClient(b, "ops", PASSWORD),
        MapClient(a, "ops", PASSWORD),
        MapClient(b, "ops", PASSWORD),
    ]
    _post(a, _events("surge", 20, datetime.now(UTC) - timedelta(hours=1), *SURGE, 10))
    with ThreadPoolExecutor(len(walls)) as pool:  # the wall screens of both nodes poll at once
        statuses = list(pool.map(lambda w: w.call("alerts-list.children")[0], walls))
    assert statuses == [200] * len(walls)
    surges = [x for x in list_alerts(store, status="open") if x.rule_id.startswith("hotspot") or "surge" in x.rule_id]
    assert len(surges) == 1, [(x.rule_id, x.title) for x in surges]
    for wall in walls:  # polling again on either node does not open another
        wall.call("alerts-list.children")
    assert len([x for x in list_alerts(store, status="open") if x.rule_id == surges[0].rule_id]) == 1


def test_the_sign_in_limit_is_shared_by_both_nodes(cluster: tuple[Node, Node, SqlStore]) -> None:
    a, b, _ = cluster
    # The limit is 5 failures per name (HBM_LOGIN_MAX_FAILURES): 3 on A and 2 on B use it up.
    for node in (a, a, a, b, b):
        assert sign_in(node, "bob", "wrong password!")[1].status_code == 401
    for node in (a, b):  # now even the right password is refused on both nodes
        resp = sign_in(node, "bob", PASSWORD)[1]
        assert resp.status_code == 429 and "Too many failed sign-ins" in resp.text


def test_a_user_disabled_on_node_a_is_refused_by_node_b_at_the_next_request(
    cluster: tuple[Node, Node, SqlStore],
) -> None:
    a, b, _ = cluster
    screen = MapClient(b, "carol", PASSWORD)
    assert screen.call("client-state.data")[0] == 200
    env = node_env(POSTGIS_URL)  # node A's machine: its own `hbm users disable`
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "users", "disable", "carol"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert screen.call("client-state.data")[0] == 401
    assert screen.session.get(b.url + "/_dash-layout", timeout=30).status_code == 401


def test_node_logs_are_json_lines(cluster: tuple[Node, Node, SqlStore]) -> None:
    a, _, _ = cluster
    lines = [json.loads(line) for line in a.output().splitlines() if line.startswith("{")]
    assert any(line.get("kind") == "access" and line.get("path") == "/api/v1/events" for line in lines)
    assert Path(a.log).exists()
