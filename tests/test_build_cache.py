"""One layer build per (View, revision), shared by the worker processes of one machine."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from plotly.io.json import to_json_plotly

from data.store import Store
from layers.build_cache import BuildCache
from layers.refresh import refresh
from layers.view import View
from tests.helpers import NOW, sample_events, sample_features


def wire(layers: dict[str, Any]) -> Any:
    """Return layers as the browser receives them (Dash's JSON encoding)."""
    return json.loads(to_json_plotly(layers))


def _slow_build(marker: Path) -> dict[str, Any]:
    with marker.open("a") as f:
        f.write("built\n")
    time.sleep(0.3)  # while it builds, the other processes ask for the same entry
    return {"type": "FeatureCollection", "features": [{"n": 1}]}


def _in_process(folder: str, marker: str, results: Any) -> None:
    cache = BuildCache(Path(folder), "scope")
    results.put(cache.get_or_build("hotspots", "rev7|view", lambda: _slow_build(Path(marker))))


def test_four_processes_asking_at_once_build_the_entry_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    marker = tmp_path / "builds.txt"
    procs = [ctx.Process(target=_in_process, args=(str(tmp_path / "c"), str(marker), results)) for _ in range(4)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert marker.read_text().count("built") == 1
    assert all(g == {"type": "FeatureCollection", "features": [{"n": 1}]} for g in got)


def test_threads_share_one_build_and_scopes_and_keys_do_not_mix(tmp_path: Path) -> None:
    marker = tmp_path / "builds.txt"
    caches = [BuildCache(tmp_path / "c", "db-one") for _ in range(8)]
    gate = threading.Barrier(8)

    def ask(i: int) -> dict[str, Any]:
        gate.wait()
        return caches[i].get_or_build("hotspots", "k1", lambda: _slow_build(marker))

    with ThreadPoolExecutor(8) as pool:
        assert len({str(r) for r in pool.map(ask, range(8))}) == 1
    assert marker.read_text().count("built") == 1
    assert sum(c.builds for c in caches) == 1 and sum(c.hits for c in caches) == 7
    other_db = BuildCache(tmp_path / "c", "db-two")
    other_db.get_or_build("hotspots", "k1", lambda: _slow_build(marker))
    caches[0].get_or_build("hotspots", "k2", lambda: _slow_build(marker))
    assert marker.read_text().count("built") == 3


def test_clients_on_one_view_share_builds_until_the_data_changes(store: Store, tmp_path: Path) -> None:
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", sample_events())
    view = View(start=NOW - timedelta(days=7), end=NOW, resolution=6, window_label="custom")
    worker_a, worker_b = BuildCache(tmp_path / "c", "s"), BuildCache(tmp_path / "c", "s")
    first = refresh(store, view, None, cache=worker_a)
    second = refresh(store, view, None, cache=worker_b)  # another client, another worker, same View
    assert wire(first.layers) == wire(second.layers) and first.layers
    assert worker_b.builds == 0 and worker_b.hits == len(first.layers) == worker_a.builds
    store.upsert("events", sample_events(5, now=NOW - timedelta(hours=1)))  # the data changes: rebuilt once
    third = refresh(store, view, second.keys, cache=worker_b)
    fourth = refresh(store, view, second.keys, cache=worker_a)
    assert wire(third.layers) == wire(fourth.layers) and "hotspots" in third.layers
    assert worker_b.builds == len(third.layers) and worker_a.builds == len(first.layers)
    assert wire(third.layers) == wire(refresh(store, view, second.keys).layers)  # what an uncached build gives


def test_the_cache_folder_is_private_to_its_user(tmp_path: Path) -> None:
    BuildCache(tmp_path / "c", "s").get_or_build("hotspots", "k", lambda: {"features": []})
    assert (tmp_path / "c").stat().st_mode & 0o077 == 0  # built layers may hold raw counts
