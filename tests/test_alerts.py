"""Alerts: one alert per ongoing surge, acknowledged, closed when clear, and still there after a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from data.alerts import AlertError, Rule, acknowledge, list_alerts, load_rules, save_rule
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from layers.services.alerts import DEFAULT_RULES, ensure_default_rules, evaluate_rules
from tests.helpers import NOW, sample_features
from tests.helpers.alerts import REGION, background, events, surge_rule


def test_one_surge_raises_one_alert_that_grows_and_can_be_acknowledged(store: Store) -> None:
    save_rule(store, surge_rule(), NOW)  # type: ignore[arg-type]
    background(store)
    store.upsert("events", events("surge-a", 20, NOW - timedelta(hours=2), 3.58, 32.06))
    first = evaluate_rules(store, NOW, REGION)  # type: ignore[arg-type]
    assert len(first.opened) == 1 and first.opened[0].evidence["people"] >= 50
    # The surge grows into the next cell: the same alert is updated, not a second one.
    store.upsert("events", events("surge-b", 30, NOW - timedelta(hours=1), 3.58, 32.10))
    second = evaluate_rules(store, NOW + timedelta(minutes=5), REGION)  # type: ignore[arg-type]
    assert second.opened == [] and len(second.updated) == 1
    alerts = list_alerts(store, status="open")  # type: ignore[arg-type]
    assert len(alerts) == 1 and alerts[0].evidence["people"] > first.opened[0].evidence["people"]
    acked = acknowledge(store, alerts[0].id, "Duty officer A", NOW + timedelta(minutes=6))  # type: ignore[arg-type]
    assert acked.acked_by == "Duty officer A" and acked.acked_at is not None
    with pytest.raises(AlertError):
        acknowledge(store, alerts[0].id, "  ", NOW)  # type: ignore[arg-type]


def test_an_alert_closes_itself_once_the_condition_has_been_clear_long_enough(store: Store) -> None:
    rule = Rule(
        id="distress",
        name="Distress in SAR",
        kind="distress_in_sar",
        params={"window": "6h"},
        severity="critical",
        clear_after_s=3600,
    )
    save_rule(store, rule, NOW)  # type: ignore[arg-type]
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", events("sos", 1, NOW - timedelta(hours=1), 1.1, 31.1, people=6, kind="distress"))
    opened = evaluate_rules(store, NOW, REGION).opened  # type: ignore[arg-type]
    # The event lies in sector AA inside the SRR: one alert, for the innermost zone.
    assert [a.subject for a in opened] == ["sar:sec-aa"]
    last_seen = evaluate_rules(store, NOW + timedelta(hours=4, minutes=55), REGION)  # type: ignore[arg-type]
    assert last_seen.opened == [] and len(last_seen.updated) == 1
    # The event leaves the 6 h window at NOW+5h; the alert waits out its hour before closing.
    still = evaluate_rules(store, NOW + timedelta(hours=5, minutes=30), REGION)  # type: ignore[arg-type]
    assert still.closed == [] and still.updated == []
    later = evaluate_rules(store, NOW + timedelta(hours=6, minutes=30), REGION)  # type: ignore[arg-type]
    assert [a.subject for a in later.closed] == ["sar:sec-aa"]
    assert list_alerts(store, status="open") == []  # type: ignore[arg-type]


def test_a_crossing_that_closes_raises_an_alert_once(store: Store) -> None:
    save_rule(store, next(r for r in DEFAULT_RULES if r.kind == "crossing_closed"), NOW)  # type: ignore[arg-type]
    features = sample_features()
    store.upsert("crossing_points", features["crossing_points"])
    assert evaluate_rules(store, NOW, REGION).opened == []  # type: ignore[arg-type]  # first run only records
    alpha = {**features["crossing_points"][0], "status": "closed"}
    store.upsert("crossing_points", [alpha])
    opened = evaluate_rules(store, NOW + timedelta(minutes=1), REGION).opened  # type: ignore[arg-type]
    assert [a.subject for a in opened] == ["crossing:cp-a"]
    # Bravo was closed all along: no alert for it. Evaluating again keeps the one alert open.
    again = evaluate_rules(store, NOW + timedelta(minutes=2), REGION)  # type: ignore[arg-type]
    assert again.opened == [] and [a.subject for a in again.updated] == ["crossing:cp-a"]


def test_alerts_and_acknowledgements_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.sqlite'}"
    first = open_store(load_store_settings(database_url=url))
    first.init_schema()
    ensure_default_rules(first, NOW)  # type: ignore[arg-type]
    background(first)
    first.upsert("events", events("surge", 20, NOW - timedelta(hours=2), 3.58, 32.06))
    alert = evaluate_rules(first, NOW, REGION).opened[0]  # type: ignore[arg-type]
    acknowledge(first, alert.id, "Night shift", NOW)  # type: ignore[arg-type]
    first.dispose()

    second = open_store(load_store_settings(database_url=url))
    second.init_schema()
    ensure_default_rules(second, NOW)  # type: ignore[arg-type]  # must not duplicate or reset rules
    assert len(load_rules(second)) == len(DEFAULT_RULES)  # type: ignore[arg-type]
    again = evaluate_rules(second, NOW + timedelta(minutes=1), REGION)  # type: ignore[arg-type]
    assert again.opened == []
    kept = list_alerts(second, status="open")  # type: ignore[arg-type]
    assert [(a.id, a.acked_by) for a in kept] == [(alert.id, "Night shift")]
    second.dispose()


def test_a_rule_with_bad_parameters_is_reported_and_does_not_stop_the_others(sqlite_store: Store) -> None:
    save_rule(sqlite_store, Rule(id="bad", name="Bad", kind="distress_in_sar", params={"window": "2y"}), NOW)  # type: ignore[arg-type]
    result = evaluate_rules(sqlite_store, NOW, REGION)  # type: ignore[arg-type]
    assert result.errors and "2y" in result.errors[0]
    with pytest.raises(AlertError):
        save_rule(sqlite_store, Rule(id="x", name="X", kind="nonsense", params={}), NOW)  # type: ignore[arg-type]
