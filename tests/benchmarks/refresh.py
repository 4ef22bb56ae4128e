"""Benchmark the refresh path: ingest, hotspot queries, no-change refresh, first load, memory.

Run from the repo root::

    python -m tests.benchmarks.refresh --events 1000000 [--postgis-url URL] [--sqlite-path PATH] [--repeats 30]

Prints one JSON line per figure on stdout (progress goes to stderr). The targets are those for
1M events over 30 days and a 7-day window on PostGIS; SQLite is measured against the same ones.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import h3
import pandas as pd
from sqlalchemy import text

from dashboard.app import create_app
from dashboard.auth import LOGIN_PATH
from dashboard.callbacks import LAYER_ORDER, refresh_map
from dashboard.screen import Screen, screen_view
from dashboard.settings import load_app_settings
from data import users
from data.demo import demo_features
from data.demo_events import demo_events
from data.open import open_store
from data.settings import load_store_settings
from data.store import BBox, SqlStore
from geo.cells import resolution_for_zoom
from layers.refresh import refresh

# Benchmark convention (tests/test_benchmarks.py, tests/benchmarks/report.py): the arguments of a
# small-scale CI run, and the figures every run must print.
SMALL_ARGS: tuple[str, ...] = ("--events", "2000", "--repeats", "3")
FIGURES: tuple[str, ...] = (
    "ingest_rate",
    "hotspot_query",
    "refresh_unchanged",
    "refresh_callback_unchanged",
    "first_load_bytes",
    "peak_rss",
)

ZOOMS = (6, 8, 10)
WEEK = timedelta(days=7)
# Chunks the browser fetches lazily on first render: the GeoJSON layers and the H3 dropdown.
SUITES = "/_dash-component-suites/"
ASYNC_CHUNKS = (SUITES + "dash_leaflet/async-GeoJSON.js", SUITES + "dash/dcc/async-dropdown.js")
GZIP = {"Accept-Encoding": "gzip"}
HEXGRID_SQL = """
SELECT h.i, h.j, COUNT(*) AS events, SUM(e.people) AS people
FROM ST_HexagonGrid(:size, ST_MakeEnvelope(:w, :s, :e, :n, 4326)) AS h
JOIN events e ON ST_Intersects(e.geom, h.geom)
WHERE e.occurred_at >= :start AND e.occurred_at < :end AND e.deleted_at IS NULL
GROUP BY h.i, h.j
"""


def emit(figure: str, value: Any, unit: str, target: str | None, met: bool | None, **extra: Any) -> None:
    """Print one figure as a JSON line on stdout."""
    line = {"figure": figure, **extra, "value": value, "unit": unit, "target": target, "met": met}
    print(json.dumps(line), flush=True)


def timings_ms(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[float, float]:
    """Return (p50, p95) wall time of ``fn`` in ms over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    p95 = statistics.quantiles(samples, n=20, method="inclusive")[18] if repeats > 1 else samples[0]
    return round(statistics.median(samples), 3), round(p95, 3)


def open_url(url: str, reset: bool = False) -> SqlStore:
    """Return the store for ``url`` via the app's own settings; ``reset`` drops PostGIS tables and inits."""
    store = open_store(load_store_settings(database_url=url))
    assert isinstance(store, SqlStore)
    if reset:
        if store.backend == "postgis":
            with store.engine.begin() as conn:  # every table the schema may have created
                tables = conn.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'"
                ).scalars()
                for table in list(tables):
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        store.init_schema()
    return store


def settle(store: SqlStore) -> None:
    """VACUUM (ANALYZE) a PostGIS store after a bulk load: what autovacuum does within a minute or so.

    Autovacuum vacuums a table after inserts (PostgreSQL 13+), which sets the visibility map that
    index-only scans need, and analyzes it; a benchmark that queries the second the load ends would
    measure a state no running server stays in. SQLite needs nothing.
    """
    if store.backend != "postgis":
        return
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")


def seed(store: SqlStore, frame: pd.DataFrame, now: datetime, chunk: int, gen_s: float) -> None:
    """Write the demo features, then the events in chunks; emit the events ingest rate."""
    for table, rows in demo_features(now).items():
        store.upsert(table, rows)
    elapsed = 0.0
    for start in range(0, len(frame), chunk):
        t0 = time.perf_counter()
        store.upsert_events(frame.iloc[start : start + chunk])
        elapsed += time.perf_counter() - t0
        print(f"{store.backend}: {min(start + chunk, len(frame)):,} events, {elapsed:.1f} s", file=sys.stderr)
    rate = round(len(frame) / elapsed)
    extra = {"events": len(frame), "chunk": chunk, "upsert_s": round(elapsed, 2), "generate_s": round(gen_s, 2)}
    emit("ingest_rate", rate, "events/s", ">= 50000", rate >= 50_000, backend=store.backend, **extra)


def hotspots(store: SqlStore, now: datetime, bbox: BBox, repeats: int) -> dict[int, float]:
    """Emit cell_counts p50/p95 (7-day window) at each zoom's resolution; return the p50 per zoom."""
    p50s = {}
    for zoom in ZOOMS:
        res = resolution_for_zoom(zoom)
        query = partial(store.cell_counts, res, now - WEEK, now, bbox)
        cells = query()
        p50s[zoom], p95 = timings_ms(query, repeats)
        extra = {"zoom": zoom, "res": res, "p95": p95, "cells": len(cells), "events": int(cells["events"].sum())}
        emit("hotspot_query", p50s[zoom], "ms", "p50 <= 150", p50s[zoom] <= 150, backend=store.backend, **extra)
    return p50s


def hexgrid_ratio(store: SqlStore, now: datetime, bbox: BBox, h3_p50: dict[int, float], repeats: int) -> None:
    """Emit PostGIS ST_HexagonGrid + ST_Intersects p50 over the H3 p50, at equal hexagon area.

    The baseline gets the spatial index a PostGIS user would give it (events keep no GiST index: no
    query of the app needs one, docs/performance-ingest.md); without it each query scans every event
    once per hexagon (minutes). The index is built for this figure and dropped after it.
    """
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS bench_events_geom ON events USING gist (geom)")
        conn.exec_driver_sql("ANALYZE events")
    try:
        _hexgrid_figures(store, now, bbox, h3_p50, repeats)
    finally:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX IF EXISTS bench_events_geom")


def _hexgrid_figures(store: SqlStore, now: datetime, bbox: BBox, h3_p50: dict[int, float], repeats: int) -> None:
    for zoom in ZOOMS:
        res = resolution_for_zoom(zoom)
        edge_m = math.sqrt(2 * h3.average_hexagon_area(res, unit="m^2") / (3 * math.sqrt(3)))  # same area
        size = edge_m / 111_320  # in degrees: the region straddles the equator
        params = dict(zip("wsen", bbox, strict=True), size=size, start=now - WEEK, end=now)

        def run(p: dict[str, Any] = params) -> list[Any]:
            with store.engine.connect() as conn:
                return list(conn.execute(text(HEXGRID_SQL), p))

        rows = run()
        p50, p95 = timings_ms(run, repeats, warmup=0)
        ratio = round(p50 / h3_p50[zoom], 1)
        extra = {"zoom": zoom, "res": res, "hex_edge_deg": round(size, 5), "hexgrid_p50_ms": p50, "hexgrid_p95_ms": p95}
        counts = {"h3_p50_ms": h3_p50[zoom], "hexes": len(rows), "events": sum(r[2] for r in rows)}
        emit("hexgrid_ratio", ratio, "x", ">= 10", ratio >= 10, backend=store.backend, **extra, **counts)


def refresh_unchanged(store: SqlStore, repeats: int) -> None:
    """Emit the server time of a refresh, and of the Dash callback, when nothing changed."""
    settings, now = load_app_settings(synthetic=True), datetime.now(UTC)
    inputs = ("7d", None, None, "events", "auto", 8, None)  # window, custom x2, metric, res, zoom, bounds
    view = screen_view(settings, Screen(*inputs), now)
    t0 = time.perf_counter()
    keys = refresh(store, view, None).keys
    full_ms = round((time.perf_counter() - t0) * 1000, 1)
    assert not refresh(store, view, keys).layers, "nothing changed, yet layers were rebuilt"
    p50, p95 = timings_ms(lambda: refresh(store, view, keys), repeats)
    extra = {"p95": p95, "calls": repeats, "first_full_refresh_ms": full_ms}
    emit("refresh_unchanged", p50, "ms", "p95 <= 5", p95 <= 5, backend=store.backend, **extra)

    # The callback returns 4 layers, status, banner text, banner class, client state, view error.
    state = refresh_map(store, settings, *inputs, None, now=now)[len(LAYER_ORDER) + 3]
    p50, p95 = timings_ms(lambda: refresh_map(store, settings, *inputs, state, now=now), repeats)
    emit("refresh_callback_unchanged", p50, "ms", "p95 <= 5", p95 <= 5, backend=store.backend, p95=p95, calls=repeats)


def _id_key(cid: Any) -> str:
    """Return a component id as the Dash renderer writes it (dict ids as sorted, compact JSON)."""
    return json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else str(cid)


def _layout_props(node: Any, found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return ``{component id: props}`` for every component of a serialised Dash layout."""
    if isinstance(node, list):
        for child in node:
            _layout_props(child, found)
    elif isinstance(node, dict) and "props" in node:
        if "id" in node["props"]:
            found[_id_key(node["props"]["id"])] = node["props"]
        for value in node["props"].values():
            _layout_props(value, found)
    return found


def _matches(pattern: dict[str, Any], props: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the dict ids in the layout that a pattern-matching id (ALL/MATCH/ALLSMALLER) selects."""
    found = []
    for key in props:
        if not key.startswith("{"):
            continue
        cid = json.loads(key)
        fixed = {k: v for k, v in pattern.items() if not isinstance(v, list)}
        if cid.keys() == pattern.keys() and all(cid[k] == v for k, v in fixed.items()):
            found.append(cid)
    return found


def _callback_body(dep: dict[str, Any], props: dict[str, dict[str, Any]], state: dict[tuple[str, str], Any]) -> dict:
    """Return the JSON the Dash renderer POSTs to call ``dep`` with the current prop values."""

    def value_of(cid: Any, prop: str) -> Any:
        key = _id_key(cid)
        return state.get((key, prop), props.get(key, {}).get(prop))

    def spec(item: dict[str, Any]) -> Any:
        if isinstance(item["id"], str) and item["id"].startswith("{"):  # pattern-matching: one entry per match
            cids = _matches(json.loads(item["id"]), props)
            return [{"id": c, "property": item["property"], "value": value_of(c, item["property"])} for c in cids]
        value = value_of(item["id"], item["property"])
        return item if value is None else {**item, "value": value}

    names = dep["output"].strip(".").split("...")  # "..a.prop...b.prop.." for several outputs
    outputs: list[Any] = []
    for name in names:
        cid, prop = name.rsplit(".", 1)
        if cid.startswith("{"):
            outputs.append([{"id": c, "property": prop} for c in _matches(json.loads(cid), props)])
        else:
            outputs.append({"id": cid, "property": prop})
    body = {"output": dep["output"], "outputs": outputs if len(outputs) > 1 else outputs[0], "changedPropIds": []}
    return body | {"inputs": [spec(i) for i in dep["inputs"]], "state": [spec(s) for s in dep["state"]]}


def first_load(client: Any, polls: int) -> dict[str, Any]:
    """Fetch what a browser fetches on first load and return the bytes; then poll ``polls`` times."""
    sizes: dict[str, tuple[int, int]] = {}  # path -> (wire, uncompressed) bytes

    def fetch(path: str, body: dict[str, Any] | None = None) -> bytes:
        resp = client.get(path, headers=GZIP) if body is None else client.post(path, json=body, headers=GZIP)
        assert resp.status_code == 200, f"{path}: HTTP {resp.status_code}"
        wire = resp.get_data()
        raw = gzip.decompress(wire) if resp.headers.get("Content-Encoding") == "gzip" else wire
        old = sizes.get(path, (0, 0))
        sizes[path] = (old[0] + len(wire), old[1] + len(raw))
        return raw

    html = fetch("/").decode()
    for path in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html) + list(ASYNC_CHUNKS):
        fetch(path)
    props = _layout_props(json.loads(fetch("/_dash-layout")), {})
    deps = json.loads(fetch("/_dash-dependencies"))
    state: dict[tuple[str, str], Any] = {}
    for dep in deps:  # the initial callbacks, in order, each seeing the outputs of the ones before
        if not dep["prevent_initial_call"] and not dep["clientside_function"]:
            out = json.loads(fetch("/_dash-update-component", _callback_body(dep, props, state)))
            state |= {(cid, prop): v for cid, values in out.get("response", {}).items() for prop, v in values.items()}
    wire, raw = (sum(pair[i] for pair in sizes.values()) for i in (0, 1))
    largest = dict(sorted(((p.split("?")[0], w) for p, (w, _) in sizes.items()), key=lambda kv: -kv[1])[:5])
    result = {"wire": wire, "uncompressed": raw, "requests": len(sizes), "largest_wire": largest}
    result["initial_callbacks_wire"], result["initial_callbacks_raw"] = sizes["/_dash-update-component"]
    refresh_dep = next(d for d in deps if "client-state.data" in d["output"])
    for _ in range(polls):  # steady polling, sending back the client state the server returned
        fetch("/_dash-update-component", _callback_body(refresh_dep, props, state))
    return result


def peak_rss_mb() -> float:
    """Return this process's peak RSS in MB (Linux VmHWM: unlike ru_maxrss, not inherited across exec)."""
    status = Path("/proc/self/status")
    hwm = re.search(r"VmHWM:\s+(\d+) kB", status.read_text() if status.exists() else "")
    return round((int(hwm[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1)


def signed_in_client(app: Any, store: SqlStore) -> Any:
    """Return a test client signed in as a throwaway viewer, through the real login form."""
    name, password = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    users.add_user(store, name, "viewer", password)
    client = app.server.test_client()
    form = client.get(LOGIN_PATH).get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, "the login page has no CSRF token"
    fields = {"csrf": csrf[1], "next": "/", "name": name, "password": password}
    resp = client.post(LOGIN_PATH, data=fields)
    assert resp.status_code == 303, f"sign-in failed: HTTP {resp.status_code}"
    return client


def reset_peak_rss() -> None:
    """Reset this process's VmHWM to its current RSS (Linux ``clear_refs`` 5); a no-op elsewhere."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def child(url: str, polls: int) -> None:
    """Subprocess body: open the store, create the app with sign-in on, sign in, first load and polls.

    Prints bytes and peak RSS. Sign-in is on, as in production: the process gets its own session
    secret and a throwaway viewer account, so no HBM_SECRET_KEY or user is needed beforehand.
    """
    os.environ.setdefault("HBM_SECRET_KEY", secrets.token_urlsafe(32))
    os.environ["HBM_COOKIE_SECURE"] = "false"  # the test client speaks plain http
    store = open_url(url)
    app = create_app(load_app_settings(synthetic=True, auth=True), store)
    client = signed_in_client(app, store)
    reset_peak_rss()  # argon2id's 64 MiB for the one password check is freed; it is not the server's steady peak
    print(json.dumps(first_load(client, polls) | {"rss_mb": peak_rss_mb()}), flush=True)


def serve_figures(backend: str, url: str, polls: int) -> None:
    """Emit first-load bytes and peak server RSS, both measured in a fresh subprocess."""
    cmd = [sys.executable, "-m", "tests.benchmarks.refresh", "--child", url, "--repeats", str(polls)]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    if out.returncode != 0:  # say why, in one line on stdout, and fail
        reason = (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
        raise SystemExit(f"{backend}: the first-load child process failed: {reason}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    wire, rss = res.pop("wire"), res.pop("rss_mb")
    emit("first_load_bytes", wire, "bytes", "wire <= 1500000", wire <= 1_500_000, backend=backend, **res)
    extra = {"measured_in": f"subprocess: open store, create app, first load, {polls} polls"}
    emit("peak_rss", rss, "MB", "<= 400", rss <= 400, backend=backend, bench_process_mb=peak_rss_mb(), **extra)


def postgis_url(args: argparse.Namespace) -> str | None:
    """Return the PostGIS URL to use, or None after printing a JSON line saying why PostGIS is skipped."""
    url = args.postgis_url or os.environ.get("HBM_BENCH_POSTGIS_URL") or os.environ.get("HBM_TEST_POSTGIS_URL")
    reason = None if url else "no --postgis-url, HBM_BENCH_POSTGIS_URL or HBM_TEST_POSTGIS_URL"
    if url:
        try:
            open_url(url).ping()
        except Exception as exc:  # noqa: BLE001 - any failure means skip, with the reason
            reason = str(exc).splitlines()[0]
    if reason:
        print(json.dumps({"figure": "postgis", "skipped": True, "reason": reason}), flush=True)
    return None if reason else url


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, seed each backend and emit every figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgis-url", help="default: $HBM_BENCH_POSTGIS_URL, else $HBM_TEST_POSTGIS_URL")
    parser.add_argument("--sqlite-path", type=Path, help="a new SQLite file (default: in a temp dir)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--chunk", type=int, default=100_000, help="events per upsert_events call")
    parser.add_argument("--skip-sqlite", action="store_true", help="measure PostGIS only")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.repeats)
        return 0

    with tempfile.TemporaryDirectory(prefix="hbm-bench-") as tmp:
        path = (args.sqlite_path or Path(tmp) / "bench.sqlite").resolve()
        if path.exists():
            parser.error(f"--sqlite-path {path} exists; give a new file")
        backends = [] if args.skip_sqlite else [f"sqlite:///{path}"]
        backends += list(filter(None, [postgis_url(args)]))
        region = load_app_settings(synthetic=True).region  # the demo region
        now, t0 = datetime.now(UTC), time.perf_counter()
        frame = demo_events(args.events, now)
        gen_s = time.perf_counter() - t0
        for url in backends:
            store = open_url(url, reset=True)
            seed(store, frame, now, args.chunk, gen_s)
            settle(store)
            p50s = hotspots(store, now, region, args.repeats)
            if store.backend == "postgis":
                hexgrid_ratio(store, now, region, p50s, max(3, args.repeats // 6))
            refresh_unchanged(store, max(200, args.repeats))
            serve_figures(store.backend, url, args.repeats)
            store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
