"""A viewer replays every callback the page can send and never receives a count of 1..k-1.

The viewer signs in through the real login form. The callbacks come from the app's own
``/_dash-dependencies``; their values from ``/_dash-layout`` (each control's initial value), one
variant per option of every control (window, metric, resolution, statistic, suppression off,
playback on…), and the hostile values a browser could send (a 30-minute custom window, H3 res 9,
suppression off). Outputs feed later callbacks (layer data → clicks on its first features → the
details panel), for a few rounds. Every response is walked: every number under a count-like key
(people, events, windows, baseline means, evidence, totals) and every number written next to
"people" or "events" in rendered text must be 0 or at least k.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data import users
from data.demo import demo_features
from data.demo_events import demo_events
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from layers.hotspots import load_hotspot_settings
from tests.helpers.auth import PASSWORD, auth_env, callback_outputs, sign_in

K = load_hotspot_settings()[1]
REGION = "29.5,-1.5,33.5,4.5"
BOUNDS = [[-1.5, 29.5], [4.5, 33.5]]
COUNT_KEY = re.compile(r"(people|events|windows|baseline|count|persons|killed|missing)", re.I)
TEXT_COUNT = re.compile(r"(\d[\d,]*)\s*(?:people|persons|events?|distress)\b", re.I)
LABEL_COUNT = re.compile(r"(people|events|baseline|persons)", re.I)
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
SKIP_KEYS = {"_s", "cell", "id", "res", "gi_bin", "gi_z", "gi_p", "change_pct", "zoom"}


def _small(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < K


def _text(node: Any) -> str:
    """Return the visible text of a Dash component tree (as JSON) or a string."""
    if isinstance(node, str):
        return node
    if isinstance(node, int | float) and not isinstance(node, bool):
        return str(node)
    if isinstance(node, list):
        return " ".join(_text(n) for n in node)
    if isinstance(node, dict) and "props" in node:
        return _text(node["props"].get("children"))
    return ""


def leaks(node: Any, path: str = "") -> list[str]:
    """Return where ``node`` (a callback response) holds a count of people or events in 1..k-1."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "Tr" and "props" in node:  # a label / value row of a rendered table
            cells = node["props"].get("children") or []
            if isinstance(cells, list) and len(cells) >= 2 and LABEL_COUNT.search(_text(cells[0])):
                value_text = _text(cells[1:])
                for number in NUMBER.findall(value_text):
                    if _small(float(number.replace(",", ""))):
                        found.append(f"{path}: row {_text(cells[0])!r} = {value_text!r}")
        for key, value in node.items():
            here = f"{path}.{key}"
            if key in SKIP_KEYS:
                continue
            if COUNT_KEY.search(str(key)):
                values = value if isinstance(value, list) else [value]
                found += [f"{here} = {value!r}" for v in values if _small(v)][:1]
            found += leaks(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += leaks(value, f"{path}[{i}]")
        # Children such as [B("3"), " events · "]: a number in one child, its noun at the start of the next.
        texts = [_text(n).strip() for n in node]
        for first, second in zip(texts, texts[1:], strict=False):
            if NUMBER.fullmatch(first) and re.match(r"(people|persons|events?|distress)\b", second, re.I):
                if _small(float(first.replace(",", ""))):
                    found.append(f"{path}: text {first!r} {second!r}")
    elif isinstance(node, str):
        found += [f"{path}: text {node!r}" for m in TEXT_COUNT.finditer(node) if _small(int(m[1].replace(",", "")))]
    return found


def layout_values(client: FlaskClient) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Return ("id.prop" → initial value, "id.prop" → the values its options allow) from the page's layout."""
    values: dict[str, Any] = {}
    options: dict[str, list[Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
            return
        if not isinstance(node, dict) or "props" not in node:
            return
        props = node["props"]
        cid = props.get("id")
        if isinstance(cid, str):
            for prop, value in props.items():
                values[f"{cid}.{prop}"] = value
            opts = props.get("options")
            if isinstance(opts, list) and opts:
                allowed = [o.get("value") if isinstance(o, dict) else o for o in opts]
                multi = node.get("type") == "Checklist" or props.get("multi")
                options[f"{cid}.value"] = [[v] for v in allowed] + [[]] if multi else allowed
        for value in props.values():
            walk(value)

    walk(client.get("/_dash-layout").get_json())
    return values, options


def _fill(deps: list[dict[str, Any]], values: dict[str, Any]) -> list[Any]:
    filled: list[Any] = []
    for d in deps:
        if d["id"].startswith("{"):  # a pattern-matching input: the page's components of that type (none yet)
            filled.append([])
        else:
            filled.append({**d, "value": values.get(f"{d['id']}.{d['property']}")})
    return filled


def post(client: FlaskClient, spec: dict[str, Any], values: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST one callback request as the browser would; return (status, the response's outputs)."""
    first = spec["inputs"][0]
    body = {
        "output": spec["output"],
        "outputs": callback_outputs(spec),
        "inputs": _fill(spec["inputs"], values),
        "state": _fill(spec["state"], values),
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }
    reply = client.post("/_dash-update-component", json=body)
    if reply.status_code != 200:
        return reply.status_code, {}
    return 200, (reply.get_json(silent=True) or {}).get("response", {})


def variants(spec: dict[str, Any], base: dict[str, Any], options: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """Yield the base values, then one variant per option of each input or state the callback reads."""
    yield base
    for dep in spec["inputs"] + spec["state"]:
        key = f"{dep['id']}.{dep['property']}"
        for value in options.get(key, []):
            if value != base.get(key):
                yield {**base, key: value}
        if dep["property"] in ("clickData", "click_feature"):
            data = base.get(f"{dep['id']}.data") or {}
            for feature in (data.get("features") or [])[:6]:
                yield {**base, key: feature}


@pytest.fixture
def viewer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_hashing: None) -> Iterator[FlaskClient]:
    """A signed-in viewer's client on the synthetic demo data (30 days, with small counts in most cells)."""
    auth_env(monkeypatch)
    now = datetime.now(UTC)
    store: Store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'replay.sqlite'}"))
    store.init_schema()
    for table, rows in demo_features(now).items():
        store.upsert(table, rows)
    store.upsert_events(demo_events(60_000, now))
    users.add_user(store, "vera", "viewer", PASSWORD, created_by="test")
    app = create_app(load_app_settings(region_bbox=REGION), store)
    client = app.server.test_client()
    assert sign_in(client, "vera") == 303
    yield client
    store.dispose()


def test_a_viewer_receives_no_small_count_from_any_callback(viewer: FlaskClient) -> None:
    deps = [d for d in viewer.get("/_dash-dependencies").get_json() if not d.get("clientside_function")]
    values, options = layout_values(viewer)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    hostile = {
        "window.value": "7d",
        "metric.value": "people",
        "resolution.value": "9",
        "suppress.value": [],
        "map.zoom": 8,
        "map.bounds": BOUNDS,
        "refresh-interval.n_intervals": 1,
    }
    thirty_minutes = {
        "window.value": "custom",
        "custom-start.value": (now - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M"),
        "custom-end.value": (now - timedelta(hours=2, minutes=30)).strftime("%Y-%m-%d %H:%M"),
    }
    values.update(hostile)
    problems: list[str] = []
    calls = 0
    for round_values in (values, {**values, **thirty_minutes}):
        state = dict(round_values)
        for _round in range(2):  # outputs of one round (layer data) feed the next (clicks, details)
            for spec in deps:
                for request_values in variants(spec, state, options):
                    status, response = post(viewer, spec, request_values)
                    calls += 1
                    assert status in (200, 204), f"{spec['output'][:60]}: HTTP {status}"
                    problems += [f"{spec['output'][:50]} {p}" for p in leaks(response)]
                    if request_values is state:
                        for cid, props in response.items():
                            for prop, value in props.items():
                                state[f"{cid}.{prop}"] = value
    assert calls > 50, "the replay reached the page's callbacks"
    assert any(k.startswith("layer-hotspots.data") for k in state), "the map sent its hotspot layer"
    assert not problems, f"{len(problems)} small counts reached a viewer, e.g.:\n" + "\n".join(problems[:15])


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"properties": {"people": 3, "windows": [0, 6, 0]}}, 1),
        ({"properties": {"people": 0, "windows": [0, 1, 0], "baseline_mean": 0.3}}, 2),
        ({"props": {"children": "2 people in 24h"}, "type": "Span"}, 1),
        ({"props": {"children": [{"props": {"children": "3"}, "type": "B"}, " events · "]}, "type": "Div"}, 1),
        ("under 5 distress event(s) in Sector AA", 0),
        ({"evidence": {"events": 2}}, 1),
        ({"properties": {"people": 12, "windows": [5, 0, None], "baseline_mean": None}}, 0),
        ("Surge: 120 people, 14 events in 24h", 0),
    ],
)
def test_the_walker_finds_small_counts(node: Any, expected: int) -> None:
    assert len(leaks(node)) == expected
