"""The audit log (both backends): append-only in the store, filters, and the hooks in exports, SAR plans and alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from data import audit_log
from data.alerts import Alert, Rule, acknowledge, new_alert_id, save_rule, write_alert
from data.audit import record_export
from data.sar_edits import record_sortie, split_sector, update_sector
from data.sar_plans import create_plan, delete_plan, load_plan, plan_sectors
from data.store import Store
from geo.errors import HbmError, StoreUnavailable
from geo.sectors import circle_area


def test_record_and_query_with_filters(store: Store) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    first = audit_log.record(store, "alice", "login", "alice", {"role": "admin"}, ip="10.0.0.1")
    audit_log.record(store, "bob", "login_failed", "bob", {"reason": "wrong"}, ip="10.0.0.2")
    audit_log.record(store, "alice", "export", "pdf", {"file": "brief.pdf"})
    entries = audit_log.query(store)
    assert [e.action for e in entries] == ["export", "login_failed", "login"]  # newest first
    assert entries[-1].id == first and entries[-1].ip == "10.0.0.1" and entries[-1].detail == {"role": "admin"}
    assert [e.action for e in audit_log.query(store, who="alice")] == ["export", "login"]
    assert [e.who for e in audit_log.query(store, action="login_failed")] == ["bob"]
    assert {e.action for e in audit_log.query(store, action="login*")} == {"login", "login_failed"}
    assert [e.action for e in audit_log.query(store, target="pdf")] == ["export"]
    assert len(audit_log.query(store, since=start)) == 3
    assert audit_log.query(store, until=start) == []
    assert len(audit_log.query(store, limit=2)) == 2
    assert json.loads(json.dumps([e.as_dict() for e in entries]))[0]["who"] == "alice"
    with pytest.raises(HbmError, match="limit"):
        audit_log.query(store, limit=0)


def test_the_store_refuses_to_change_or_delete_audit_rows(store: Store) -> None:
    audit_log.record(store, "alice", "login")
    sql = store
    for statement in ("UPDATE audit_log SET who = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(StoreUnavailable, match="append-only"), sql.connect(write=True) as conn:
            conn.execute(text(statement))
    assert [(e.who, e.action) for e in audit_log.query(store)] == [("alice", "login")]
    assert not any(hasattr(audit_log, name) for name in ("update", "delete", "remove", "purge"))


def test_note_names_the_caller_else_the_signed_in_user(sqlite_store: Store) -> None:
    audit_log.note(sqlite_store, "rule_change", "r1")
    audit_log.note(sqlite_store, "rule_change", "r2", who="cli")
    with audit_log.acting_as("alice", "10.9.9.9"):
        audit_log.note(sqlite_store, "alert_ack", "a1", {"acked_by": "Duty officer"})
        audit_log.note(sqlite_store, "rule_change", "r3", who="default")
    rows = {e.target: e for e in audit_log.query(sqlite_store)}
    assert rows["r1"].who == "system" and rows["r2"].who == "cli" and rows["r2"].ip is None
    assert (
        rows["a1"].who == "alice" and rows["a1"].ip == "10.9.9.9" and rows["a1"].detail == {"acked_by": "Duty officer"}
    )
    assert rows["r3"].who == "default" and rows["r3"].detail["signed_in"] == "alice" and rows["r3"].ip == "10.9.9.9"
    assert audit_log.current_actor() is None  # the context manager restored it


def test_every_export_also_lands_in_the_audit_log_in_the_same_transaction(store: Store) -> None:
    export_id = record_export(store, who="cli", fmt="gpkg", view={"window_label": "24h"}, feature_counts={"x": 1})
    (entry,) = audit_log.query(store, action="export")
    assert entry.who == "cli" and entry.target == "gpkg" and entry.detail["export_audit_id"] == export_id


def test_sar_plan_changes_are_audited(store: Store) -> None:
    area = circle_area(1.4, 30.7, 6)
    sectors, poas = plan_sectors(area, "grid", 30.0)
    with audit_log.acting_as("sarah"):
        plan_id = create_plan(store, area, sectors, poas, name="Lake search", method="grid", target_km2=30.0)
        first = load_plan(store, plan_id).sectors.iloc[0]["id"]
        update_sector(store, plan_id, 1, first, team="Boat 2")
        record_sortie(store, plan_id, 2, first, sweep_width_m=500, track_spacing_m=500)
        split_sector(store, plan_id, 3, first)
        delete_plan(store, plan_id, 4)
    rows = audit_log.query(store, action="sar_plan_*")
    assert [r.action for r in reversed(rows)] == [
        "sar_plan_create",
        "sar_plan_update_sector",
        "sar_plan_record_sortie",
        "sar_plan_split_sector",
        "sar_plan_delete",
    ]
    assert {r.who for r in rows} == {"sarah"} and {r.target for r in rows} == {plan_id}
    assert rows[1].detail["retired"] == [first] and rows[1].detail["version"] == 4
    assert rows[-1].detail["name"] == "Lake search"


def test_rule_changes_and_acknowledgements_are_audited(store: Store) -> None:
    sql = store
    now = datetime.now(UTC)
    save_rule(sql, Rule("r-1", "Crossings", "crossing_closed", {}, severity="info"), now, who="cli")
    alert = Alert(
        id=new_alert_id(),
        rule_id="r-1",
        subject="cp-a",
        status="open",
        severity="info",
        title="Alpha closed",
        lat=None,
        lng=None,
        evidence={},
        cells=[],
        opened_at=now,
        updated_at=now,
        last_true_at=now,
    )
    write_alert(sql, alert)
    acknowledge(sql, alert.id, "Desk 3", now)
    with pytest.raises(HbmError, match="no alert"):
        acknowledge(sql, "al-missing", "Desk 3", now)
    (rule_row,) = audit_log.query(store, action="rule_change")
    assert rule_row.who == "cli" and rule_row.target == "r-1" and rule_row.detail["kind"] == "crossing_closed"
    (ack,) = audit_log.query(store, action="alert_ack")
    assert ack.target == alert.id and ack.detail == {"acked_by": "Desk 3", "title": "Alpha closed"}
