"""Complete, cycle-aware and coverage-aware hotspot windows (issue 11, measured problems 1, 2, 3, 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from data.store import Store
from layers.hotspots import hotspot_table
from layers.view import WINDOWS, View

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def _feed(times: np.ndarray, lat: float = 2.0, lng: float = 31.0, people: int = 1) -> pd.DataFrame:
    """Events at one place, one per epoch-millisecond time."""
    n = times.size
    return pd.DataFrame(
        {
            "id": [f"w-{i:07d}" for i in range(n)],
            "occurred_at": pd.to_datetime(times, unit="ms", utc=True),
            "kind": "crossing",
            "people": people,
            "lat": lat,
            "lng": lng,
            "location_precision_m": 10.0,
            "source": "test",
            "crossing_point_id": None,
            "route_id": None,
            "notes": "",
        }
    )


def _table(store: Store, window: str, now: datetime, res: int = 6) -> pd.DataFrame:
    view = View(start=now - WINDOWS[window], end=now, resolution=res, metric="events")
    return hotspot_table(store, view)


def _open(path: object) -> Store:
    from data.open import open_store
    from data.settings import load_store_settings

    store = open_store(load_store_settings(database_url=f"sqlite:///{path}"))
    store.init_schema()
    return store


@pytest.fixture(scope="module", params=[0, 7, 23, 41, 59])
def constant_feed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, datetime]:
    """One event per minute for 36 days, up to ``now`` (a few minutes past the hour): nothing after now."""
    now = DAY0 + timedelta(days=36, hours=5, minutes=request.param, seconds=13)
    store = _open(tmp_path_factory.mktemp("constant") / "c.sqlite")
    start, end = int(DAY0.timestamp() * 1000), int(now.timestamp() * 1000)
    store.upsert_events(_feed(np.arange(start, end, 60_000, dtype=np.int64)))
    return store, now


@pytest.mark.parametrize("window", ["6h", "24h", "7d"])
def test_constant_feed_reads_no_change_at_any_minute(constant_feed: tuple[Store, datetime], window: str) -> None:
    store, now = constant_feed
    table = _table(store, window, now)
    assert len(table) == 1
    row = table.iloc[0]
    assert abs(row["change_pct"]) <= 2.0, (window, now, row["change_pct"])
    assert row["category"] == "limited_change"
    spans = table.attrs["windows"]
    assert len(spans) == 5 and all(w.covered for w in spans)
    assert {w.end - w.start for w in spans} == {WINDOWS[window]}  # every window the same elapsed length
    assert len({(w.start.minute, w.start.second) for w in spans}) == 1  # aligned to the same minute
    assert spans[0].end <= now


@pytest.fixture(scope="module")
def daily_cycle_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A strong daily cycle (busy by day, quiet by night) with Poisson noise, 35 days, no surge."""
    store = _open(tmp_path_factory.mktemp("cycle") / "d.sqlite")
    rng = np.random.default_rng(11)
    hours = np.arange(35 * 24)
    rate = 40 * (1.05 + np.sin(2 * np.pi * ((hours % 24) - 9) / 24))  # 2..82 events per hour
    counts = rng.poisson(rate)
    t0 = int(DAY0.timestamp() * 1000)
    times = np.concatenate(
        [t0 + h * 3_600_000 + rng.integers(0, 3_600_000, c) for h, c in zip(hours, counts, strict=True)]
    )
    store.upsert_events(_feed(np.sort(times)))
    return store


@pytest.mark.parametrize("hour", [3, 9, 15, 21])
@pytest.mark.parametrize("window", ["6h", "24h"])
def test_daily_cycle_without_surge_is_limited_change(daily_cycle_store: Store, window: str, hour: int) -> None:
    now = DAY0 + timedelta(days=34, hours=hour, minutes=17)
    table = _table(daily_cycle_store, window, now)
    row = table.iloc[0]
    # Poisson noise on >= 30 events per window against a 4-window mean stays well inside +-25 %
    assert row["category"] not in ("large_increase", "large_decrease", "new"), (window, hour, row["change_pct"])
    assert abs(row["change_pct"]) < 25


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, datetime, str]:
    """The demo's 30 days of SYNTHETIC events."""
    from data.demo import demo_features
    from data.demo_events import demo_events

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    store = _open(path)
    now = datetime(2026, 11, 28, 4, 27, tzinfo=UTC)
    for table, rows in demo_features(now).items():
        store.upsert(table, rows)
    store.upsert_events(demo_events(20_000, now))
    return store, now, f"sqlite:///{path}"


def test_demo_7d_takes_nothing_from_a_baseline_before_the_data(demo_store: tuple[Store, datetime, str]) -> None:
    from dataclasses import replace

    from geo.hotspots import HotspotSettings, hotspot_statistics
    from layers.hotspots import window_counts

    store, now, _ = demo_store
    table = _table(store, "7d", now)
    spans = table.attrs["windows"]
    first = store.first_event_time(None)  # type: ignore[attr-defined]
    assert [s.covered for s in spans[1:]] == [s.start >= first for s in spans[1:]]
    assert not spans[4].covered and spans[3].covered  # 35 days back vs 30 days of data
    assert table["w4"].isna().all()
    # the categories are exactly those of the three covered baselines alone: the missing one adds nothing
    table_settings = HotspotSettings()
    settings = replace(table_settings, baseline_windows=3)
    counts = window_counts(store, 6, spans[0].end, WINDOWS["7d"], WINDOWS["7d"], 4, None)
    alone = hotspot_statistics(counts[counts["window"] <= 3], "events", settings)
    assert table_settings.baseline_windows == 4
    assert table["category"].tolist() == alone["category"].tolist()
    assert np.allclose(table["baseline_mean"], alone["baseline_mean"])


def test_demo_30d_has_no_baseline_so_every_cell_is_insufficient(demo_store: tuple[Store, datetime, str]) -> None:
    store, now, _ = demo_store
    table = _table(store, "30d", now)
    assert len(table) > 0
    assert set(table["category"]) == {"insufficient_baseline"}
    assert table["change_pct"].isna().all()


def test_json_states_every_window(
    demo_store: tuple[Store, datetime, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from dashboard.cli import main

    _, _, url = demo_store
    monkeypatch.setenv("HBM_DATABASE_URL", url)
    assert main(["hotspots", "--window", "6h", "--res", "6", "--json", "--limit", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    start = datetime.fromisoformat(out["window_start"])
    end = datetime.fromisoformat(out["window_end"])
    assert end - start == timedelta(hours=6) and end.minute == 0 and end <= datetime.now(UTC)
    ends = [datetime.fromisoformat(w["end"]) for w in out["baseline_windows"]]
    assert [end - e for e in ends] == [timedelta(days=i) for i in range(1, 5)]  # same hours on previous days
    assert main(["hotspots", "--window", "6h", "--res", "6", "--limit", "2"]) == 0
    text = capsys.readouterr().out
    assert f"{start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} UTC" in text
    assert text.count("UTC") >= 5


def _rule_store(tmp_path: object, days: int) -> tuple[Store, datetime]:
    """Steady 1 event / 10 min at one site for ``days`` days, then 6 h of a tenfold surge there."""
    now = DAY0 + timedelta(days=days, hours=12, minutes=5)
    store = _open(tmp_path)
    t0, t1 = int(DAY0.timestamp() * 1000), int(now.timestamp() * 1000)
    steady = _feed(np.arange(t0, t1, 600_000, dtype=np.int64), people=3)
    surge = _feed(np.arange(t1 - 6 * 3_600_000, t1, 60_000, dtype=np.int64), people=3)
    surge["id"] = "s-" + surge["id"]
    store.upsert_events(pd.concat([steady, surge], ignore_index=True))
    return store, now


@pytest.mark.parametrize("days", [2, 35])
def test_surge_alerts_state_their_windows_and_never_fire_on_an_insufficient_baseline(tmp_path, days: int) -> None:  # type: ignore[no-untyped-def]
    from data.alerts import save_rule
    from layers.services.alerts import DEFAULT_RULES, evaluate_rules

    store, now = _rule_store(tmp_path / "r.sqlite", days)
    rule = next(r for r in DEFAULT_RULES if r.kind == "hotspot_surge")
    save_rule(store, rule, now)  # type: ignore[arg-type]
    loose = type(rule)(**{**rule.__dict__, "id": "loose", "params": {**rule.params, "combine": "or", "min_gi_bin": 0}})
    save_rule(store, loose, now)  # type: ignore[arg-type]
    opened = evaluate_rules(store, now).opened  # type: ignore[arg-type]
    if days == 2:  # a same-weekday baseline needs 29 days: insufficient, so not even the loose rule fires
        assert opened == []
        return
    assert "loose" in {a.rule_id for a in opened}  # one lone site is no Gi* cluster: only the loose rule
    evidence = next(a for a in opened if a.rule_id == "loose").evidence
    start, end = (datetime.fromisoformat(evidence[k]) for k in ("window_start", "window_end"))
    assert end == now.replace(minute=0) and end - start == timedelta(hours=24)
    ends = [datetime.fromisoformat(e) for _, e in evidence["baseline_windows"]]
    assert [end - e for e in ends] == [timedelta(days=7 * i) for i in range(1, 5)]
