"""Retention (both backends): `hbm purge` hard-deletes old raw events in batches, keeps or drops their aggregates."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from shapely.geometry import Point
from sqlalchemy import text

from dashboard.cli import main
from data import audit_log
from data.open import open_store
from data.retention import count_older, load_retention_settings, parse_age, purge_events
from data.settings import load_store_settings
from data.store import Store
from geo.errors import ConfigError, HbmError

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)  # the cutoff falls at half past an hour


def _event(i: int, when: datetime, people: int = 2) -> dict:
    return {
        "id": f"ev-{i:04d}",
        "occurred_at": when,
        "kind": "crossing",
        "people": people,
        "geometry": Point(31.0 + 0.01 * (i % 7), 2.0 + 0.01 * (i % 5)),
        "location_precision_m": 50.0,
    }


def _seed(store: Store, now: datetime = NOW) -> tuple[list[dict], list[dict]]:
    """Recent events first, then old ones (so the old ones hold the highest SQLite rowids)."""
    cutoff = now - timedelta(days=365)
    recent = [_event(i, now - timedelta(hours=i)) for i in range(10)]
    recent.append(_event(10, cutoff + timedelta(minutes=10)))  # same hour as the cutoff, kept
    old = [_event(100 + i, cutoff - timedelta(hours=i * 7, minutes=5), people=i + 1) for i in range(12)]
    store.upsert("events", recent)
    store.upsert("events", old)
    store.soft_delete("events", ["ev-0105"])  # soft-deleted rows are purged too
    return recent, old


def _rollup(store: Store) -> dict[int, tuple[int, int]]:
    with store.connect() as conn:
        rows = conn.execute(text("SELECT hour, SUM(events), SUM(people) FROM event_cell_hours GROUP BY hour")).all()
    return {int(h): (int(e), int(p)) for h, e, p in rows}


def _ids(store: Store) -> set[str]:
    with store.connect() as conn:
        return set(conn.execute(text("SELECT id FROM events")).scalars())


def test_purge_keeps_aggregates_by_default(store: Store) -> None:
    recent, old = _seed(store)
    before = _rollup(store)
    cutoff_hour = int((NOW - timedelta(days=365)).timestamp()) // 3600
    assert any(h < cutoff_hour for h in before)
    revision = store.revisions()["events"].revision
    assert count_older(store, NOW - timedelta(days=365)) == len(old)

    result = purge_events(store, timedelta(days=365), keep_aggregates=True, now=NOW, batch=5)

    assert (result.events, result.batches, result.aggregate_rows) == (len(old), 3, 0)
    assert _ids(store) == {e["id"] for e in recent}  # hard-deleted, soft-deleted ones included
    assert _rollup(store) == before  # the hourly counts of purged events survive, untouched
    assert store.revisions()["events"].revision > revision  # open maps refresh
    (row,) = audit_log.query(store, action="purge")
    assert row.detail["events"] == len(old) and row.detail["keep_aggregates"] is True


def test_purge_can_drop_aggregates_and_recomputes_the_cutoff_hour(store: Store) -> None:
    recent, old = _seed(store)
    cutoff = NOW - timedelta(days=365)
    cutoff_hour = int(cutoff.timestamp()) // 3600
    store.upsert("events", [_event(999, cutoff - timedelta(minutes=20), people=40)])  # same hour, before cutoff
    before = _rollup(store)
    assert before[cutoff_hour] == (3, 2 + 40 + 1)  # the kept event, the one just added and the first old one

    result = purge_events(store, timedelta(days=365), keep_aggregates=False, now=NOW)

    after = _rollup(store)
    assert result.events == len(old) + 1 and result.aggregate_rows > 0
    assert min(after) == cutoff_hour and after[cutoff_hour] == (1, 2)  # only the kept event remains in that hour
    assert {h: v for h, v in after.items() if h > cutoff_hour} == {h: v for h, v in before.items() if h > cutoff_hour}
    assert audit_log.query(store, action="purge")[0].detail["aggregate_rows"] == result.aggregate_rows


def test_new_events_after_a_purge_reuse_nothing_stale(store: Store) -> None:
    _seed(store)
    purge_events(store, timedelta(days=365), keep_aggregates=True, now=NOW)
    # On SQLite the purged rows held the highest rowids; new rows reuse them (the R*Tree must not collide).
    fresh = [_event(500 + i, NOW - timedelta(minutes=i)) for i in range(20)]
    store.upsert("events", fresh)
    assert {e["id"] for e in fresh} <= _ids(store)
    assert store.event_totals(NOW - timedelta(hours=1), NOW + timedelta(minutes=1))[0] == 20 + 2


def test_nothing_recent_is_ever_purged(sqlite_store: Store) -> None:
    recent, _ = _seed(sqlite_store)
    with pytest.raises(HbmError, match="at least the last day"):
        purge_events(sqlite_store, timedelta(hours=23), keep_aggregates=True, now=NOW)
    assert purge_events(sqlite_store, timedelta(days=10_000), keep_aggregates=True, now=NOW).events == 0
    assert {e["id"] for e in recent} <= _ids(sqlite_store)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("365d", timedelta(days=365)), ("48h", timedelta(hours=48)), ("52w", timedelta(weeks=52)), (" 2D ", timedelta(2))],
)
def test_parse_age(raw: str, expected: timedelta) -> None:
    assert parse_age(raw) == expected


@pytest.mark.parametrize("raw", ["", "365", "d", "-5d", "1.5d", "12h", "5y"])
def test_bad_ages_are_one_line_errors(raw: str) -> None:
    with pytest.raises(HbmError) as err:
        parse_age(raw)
    assert "\n" not in str(err.value)


def test_retention_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (load_retention_settings().days, load_retention_settings().keep_aggregates) == (365, True)
    monkeypatch.setenv("HBM_RETENTION_DAYS", "90")
    monkeypatch.setenv("HBM_RETENTION_KEEP_AGGREGATES", "false")
    assert (load_retention_settings().days, load_retention_settings().keep_aggregates) == (90, False)
    monkeypatch.setenv("HBM_RETENTION_DAYS", "0")
    with pytest.raises(ConfigError):
        load_retention_settings()


def test_hbm_purge_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("HBM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("HBM_RETENTION_KEEP_AGGREGATES", "false")
    store = open_store(load_store_settings())
    store.init_schema()
    now = datetime.now(UTC)
    recent, old = _seed(store, now)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no confirmation possible

    assert main(["purge", "--older-than", "365d"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hbm: error:") and "--yes" in err and err.count("\n") == 1
    assert len(_ids(store)) == len(recent) + len(old)

    assert main(["purge", "--older-than", "365d", "--keep-aggregates", "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"purged {len(old)} events" in out and "keeping hourly aggregates" in out
    assert _ids(store) == {e["id"] for e in recent}
    (row,) = audit_log.query(store, action="purge")
    assert row.who.startswith("cli") and row.detail["keep_aggregates"] is True  # the flag beat the setting

    assert main(["purge", "--yes"]) == 0  # HBM_RETENTION_DAYS (365) by default; nothing left to delete
    assert "purged 0 events" in capsys.readouterr().out
    assert audit_log.query(store, action="purge")[0].detail["keep_aggregates"] is False  # from the setting
