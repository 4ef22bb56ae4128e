"""Locust load test of one HBM node: wall screens, analysts, exporters and a feed (loopback only).

Run it through ``python -m tests.load.run`` (which seeds the store, creates the users, starts
``hbm serve --workers N``, runs locust headless for a bounded time and prints the figures). Locust
needs urllib3 2, which the test extras pin below, so it lives in its own virtualenv::

    python3 -m venv /tmp/locust && /tmp/locust/bin/pip install "locust>=2.20"

The mix per 100 users: 80 wall screens polling the map every ``HBM_REFRESH_SECONDS`` (10 s), 15
analysts changing the View every 10 s, 5 exporters downloading a CSV every 30 s; plus a feed posting
``HBM_LOAD_RATE`` events/s (default 200) to the events API in batches of 20.
"""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from datetime import UTC, datetime
from itertools import count
from typing import Any
from urllib.parse import urlsplit

from locust import HttpUser, constant_pacing, events, task

PASSWORD = os.environ.get("HBM_LOAD_PASSWORD", "")
TOKEN = os.environ.get("HBM_LOAD_TOKEN", "")
RATE = float(os.environ.get("HBM_LOAD_RATE", "200"))
FEEDS = int(os.environ.get("HBM_LOAD_FEEDS", "4"))  # feed users sharing the rate (each posts 20 per request)
POLL_S = float(os.environ.get("HBM_REFRESH_SECONDS", "10"))
REGION = (28.8, -1.8, 33.2, 4.4)
_names = count()
POSTED = {"events": 0}


@events.test_start.add_listener
def _loopback_only(environment: Any, **_kw: Any) -> None:
    host = urlsplit(environment.host or "").hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"the HBM load test runs against loopback only, not {host!r}")


@events.test_stop.add_listener
def _report_posted(environment: Any, **_kw: Any) -> None:
    path = os.environ.get("HBM_LOAD_POSTED_FILE")
    if path:
        with open(path, "w") as fh:
            json.dump(POSTED, fh)


def _id_key(cid: Any) -> str:
    return json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else str(cid)


def _props(node: Any, found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    if isinstance(node, list):
        for child in node:
            _props(child, found)
    elif isinstance(node, dict) and "props" in node:
        if "id" in node["props"]:
            found[_id_key(node["props"]["id"])] = node["props"]
        for value in node["props"].values():
            _props(value, found)
    return found


def _matches(pattern: dict[str, Any], props: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    fixed = {k: v for k, v in pattern.items() if not isinstance(v, list)}
    ids = [json.loads(k) for k in props if k.startswith("{")]
    return [c for c in ids if c.keys() == pattern.keys() and all(c[k] == v for k, v in fixed.items())]


def _body(dep: dict[str, Any], props: dict[str, dict[str, Any]], state: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """Return the JSON the Dash renderer POSTs for ``dep`` (pattern-matching ids expanded)."""

    def value(cid: Any, prop: str) -> Any:
        return state.get((_id_key(cid), prop), props.get(_id_key(cid), {}).get(prop))

    def spec(item: dict[str, Any]) -> Any:
        if isinstance(item["id"], str) and item["id"].startswith("{"):
            ids = _matches(json.loads(item["id"]), props)
            return [{"id": c, "property": item["property"], "value": value(c, item["property"])} for c in ids]
        v = value(item["id"], item["property"])
        return item if v is None else {**item, "value": v}

    outputs: list[Any] = []
    for name in dep["output"].strip(".").split("..."):
        cid, prop = name.rsplit(".", 1)
        if cid.startswith("{"):
            outputs.append([{"id": c, "property": prop} for c in _matches(json.loads(cid), props)])
        else:
            outputs.append({"id": cid, "property": prop})
    body = {"output": dep["output"], "outputs": outputs if len(outputs) > 1 else outputs[0], "changedPropIds": []}
    return body | {"inputs": [spec(i) for i in dep["inputs"]], "state": [spec(s) for s in dep["state"]]}


class MapUser(HttpUser):
    """A signed-in browser: sign in, load the layout, then poll the map."""

    abstract = True
    wait_time = constant_pacing(POLL_S)

    def on_start(self) -> None:
        self.name_ = f"load{next(_names):03d}"
        page = self.client.get("/login", name="login page").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        form = {"name": self.name_, "password": PASSWORD, "csrf": csrf[1] if csrf else "", "next": "/"}
        with self.client.post("/login", data=form, allow_redirects=False, name="sign in", catch_response=True) as r:
            if r.status_code != 303:
                r.failure(f"sign-in: HTTP {r.status_code}")
        self.props = _props(self.client.get("/_dash-layout", name="layout").json(), {})
        self.deps = self.client.get("/_dash-dependencies", name="dependencies").json()
        self.refresh_dep = next(d for d in self.deps if "client-state.data" in d["output"])
        self.state: dict[tuple[str, str], Any] = {}

    def call(self, dep: dict[str, Any], name: str, body: dict[str, Any] | None = None) -> None:
        body = body or _body(dep, self.props, self.state)
        with self.client.post("/_dash-update-component", json=body, name=name, catch_response=True) as r:
            if r.status_code == 204:  # PreventUpdate
                return
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
                return
            out = r.json().get("response", {})
            self.state |= {(cid, prop): v for cid, values in out.items() for prop, v in values.items()}


class WallScreen(MapUser):
    """A wall screen: polls the map on the refresh interval, never changes the View."""

    weight = 80

    @task
    def poll(self) -> None:
        self.call(self.refresh_dep, "refresh (wall screen)")


class Analyst(MapUser):
    """An analyst: changes the window or resolution, then the map refreshes."""

    weight = 15

    @task
    def change_view(self) -> None:
        self.state[("window", "value")] = random.choice(["6h", "24h", "7d"])
        self.state[("resolution", "value")] = random.choice(["auto", "5", "6", "7"])
        self.call(self.refresh_dep, "refresh (analyst, view change)")


class Exporter(MapUser):
    """A briefer downloading the data behind the map as CSV."""

    weight = 5
    wait_time = constant_pacing(30)

    @task
    def export_csv(self) -> None:
        dep = next((d for d in self.deps if "export-download.data" in d["output"] or "download" in d["output"]), None)
        if dep is None:
            return
        body = _body(dep, self.props, self.state)
        buttons = body["inputs"][0]
        if not isinstance(buttons, list) or not buttons:
            return
        pick = next((b for b in buttons if b["id"].get("format") == "csv"), buttons[0])
        pick["value"] = 1
        body["changedPropIds"] = [f"{_id_key(pick['id'])}.n_clicks"]
        self.call(dep, f"export ({pick['id'].get('format')})", body)


class Feed(HttpUser):
    """The live feed: ``FEEDS`` users posting batches of 20 events, ``RATE`` events/s between them."""

    fixed_count = FEEDS
    wait_time = constant_pacing(20 * FEEDS / RATE)

    @task
    def post(self) -> None:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        items = [
            {
                "id": f"load-{uuid.uuid4().hex}",
                "occurred_at": now,
                "kind": random.choice(["sighting", "crossing", "distress"]),
                "people": random.randint(1, 30),
                "lat": random.uniform(REGION[1], REGION[3]),
                "lon": random.uniform(REGION[0], REGION[2]),
            }
            for _ in range(20)
        ]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with self.client.post(
            "/api/v1/events", json=items, headers=headers, name="events API (20)", catch_response=True
        ) as r:
            if r.status_code == 200:
                POSTED["events"] += r.json().get("written", 0)
            else:
                r.failure(f"HTTP {r.status_code}")
