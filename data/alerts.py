"""Stored alert rules and alerts: the persistence half of early warning.

Rules are evaluated by ``layers.services.alerts``; this module only reads and writes rows, so an
alert, its evidence and its acknowledgement survive a restart of the app.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from data import audit_log
from data.interfaces import Store
from geo.errors import HbmError

RULE_KINDS = ("hotspot_surge", "distress_in_sar", "crossing_closed")
SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


class AlertError(HbmError):
    """A rule or alert request that cannot be carried out."""


@dataclass
class Rule:
    """One stored alert rule."""

    id: str
    name: str
    kind: str
    params: dict[str, Any]
    severity: str = "warning"
    enabled: bool = True
    clear_after_s: int = 6 * 3600
    state: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass
class Alert:
    """One alert: opened once per ongoing condition, updated while it lasts, closed when clear."""

    id: str
    rule_id: str
    subject: str
    status: str
    severity: str
    title: str
    lat: float | None
    lng: float | None
    evidence: dict[str, Any]
    cells: list[str]
    opened_at: datetime
    updated_at: datetime
    last_true_at: datetime
    closed_at: datetime | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the alert as JSON-safe values (times in ISO 8601 UTC)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out


def _check_rule(rule: Rule) -> None:
    if rule.kind not in RULE_KINDS:
        raise AlertError(f"unknown rule kind {rule.kind!r}; use one of {', '.join(RULE_KINDS)}")
    if rule.severity not in SEVERITIES:
        raise AlertError(f"unknown severity {rule.severity!r}; use one of {', '.join(SEVERITIES)}")
    if not rule.id.strip() or not rule.name.strip():
        raise AlertError("a rule needs an id and a name")
    if rule.clear_after_s < 0:
        raise AlertError("clear_after_s must be >= 0")


_RULE_AUDIT = ("name", "kind", "params", "severity", "enabled", "clear_after_s")  # what a rule_change row keeps


def save_rule(store: Store, rule: Rule, now: datetime, who: str | None = None) -> None:
    """Insert or replace a rule (its evaluation memory is kept unless the rule is new)."""
    _check_rule(rule)
    params = {
        "id": rule.id,
        "name": rule.name,
        "kind": rule.kind,
        "params": json.dumps(rule.params, sort_keys=True),
        "severity": rule.severity,
        "enabled": int(rule.enabled),
        "clear_after_s": int(rule.clear_after_s),
        "state": json.dumps(rule.state),
        "now": store.to_db_time(now),
        "who": who,
    }
    with store.connect(write=True) as conn:
        done = conn.execute(
            text(
                "UPDATE alert_rules SET name = :name, kind = :kind, params = :params, severity = :severity, "
                "enabled = :enabled, clear_after_s = :clear_after_s, updated_at = :now, updated_by = :who "
                "WHERE id = :id"
            ),
            params,
        ).rowcount
        if not done:
            conn.execute(
                text(
                    "INSERT INTO alert_rules (id, name, kind, params, severity, enabled, clear_after_s, state, "
                    "updated_at, updated_by) VALUES (:id, :name, :kind, :params, :severity, :enabled, "
                    ":clear_after_s, :state, :now, :who)"
                ),
                params,
            )
        audit_log.note(store, "rule_change", rule.id, {k: params[k] for k in _RULE_AUDIT}, who=who, conn=conn)


def save_rule_state(store: Store, rule_id: str, state: dict[str, Any]) -> None:
    """Store a rule's memory between evaluations."""
    with store.connect(write=True) as conn:
        conn.execute(text("UPDATE alert_rules SET state = :s WHERE id = :id"), {"s": json.dumps(state), "id": rule_id})


def load_rules(store: Store, enabled_only: bool = False) -> list[Rule]:
    """Return the stored rules, by id."""
    sql = (
        "SELECT id, name, kind, params, severity, enabled, clear_after_s, state, updated_at, updated_by "
        "FROM alert_rules" + (" WHERE enabled = 1" if enabled_only else "") + " ORDER BY id"
    )
    with store.connect() as conn:
        rows = conn.execute(text(sql)).all()
    return [
        Rule(
            id=r[0],
            name=r[1],
            kind=r[2],
            params=json.loads(r[3] or "{}"),
            severity=r[4],
            enabled=bool(r[5]),
            clear_after_s=int(r[6]),
            state=json.loads(r[7] or "{}"),
            updated_at=store.from_db_time(r[8]),
            updated_by=r[9],
        )
        for r in rows
    ]


_ALERT_COLUMNS = (
    "id, rule_id, subject, status, severity, title, lat, lng, evidence, cells, opened_at, updated_at, "
    "last_true_at, closed_at, acked_by, acked_at"
)


def _alert(store: Store, r: Sequence[Any]) -> Alert:
    t = store.from_db_time
    return Alert(
        id=r[0],
        rule_id=r[1],
        subject=r[2],
        status=r[3],
        severity=r[4],
        title=r[5],
        lat=r[6],
        lng=r[7],
        evidence=json.loads(r[8] or "{}"),
        cells=json.loads(r[9] or "[]"),
        opened_at=t(r[10]),  # type: ignore[arg-type]
        updated_at=t(r[11]),  # type: ignore[arg-type]
        last_true_at=t(r[12]),  # type: ignore[arg-type]
        closed_at=t(r[13]),
        acked_by=r[14],
        acked_at=t(r[15]),
    )


def list_alerts(
    store: Store, status: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[Alert]:
    """Return alerts, newest first: all, or only ``open``/``closed``; optionally updated since a time."""
    where: list[str] = ["1 = 1"]
    params: dict[str, Any] = {"limit": int(limit)}
    if status:
        where.append("status = :status")
        params["status"] = status
    if since is not None:
        where.append("updated_at >= :since")
        params["since"] = store.to_db_time(since)
    sql = f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE {' AND '.join(where)} ORDER BY opened_at DESC, id LIMIT :limit"
    with store.connect() as conn:
        rows = conn.execute(text(sql), params).all()
    return [_alert(store, r) for r in rows]


def open_alerts(store: Store, rule_id: str) -> list[Alert]:
    """Return the open alerts of one rule."""
    sql = f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE rule_id = :r AND status = 'open' ORDER BY opened_at, id"
    with store.connect() as conn:
        rows = conn.execute(text(sql), {"r": rule_id}).all()
    return [_alert(store, r) for r in rows]


def get_alert(store: Store, alert_id: str) -> Alert | None:
    """Return one alert by id, or None."""
    with store.connect() as conn:
        row = conn.execute(text(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = :id"), {"id": alert_id}).first()
    return None if row is None else _alert(store, row)


def new_alert_id() -> str:
    """Return a fresh alert id."""
    return "al-" + uuid.uuid4().hex[:12]


def write_alert(store: Store, alert: Alert) -> None:
    """Insert or update one alert by id."""
    values = {
        **alert.__dict__,
        "evidence": json.dumps(alert.evidence, sort_keys=True, default=str),
        "cells": json.dumps(alert.cells),
    }
    for key in ("opened_at", "updated_at", "last_true_at", "closed_at", "acked_at"):
        values[key] = None if values[key] is None else store.to_db_time(values[key])
    columns = [c.strip() for c in _ALERT_COLUMNS.split(",")]
    with store.connect(write=True) as conn:
        done = conn.execute(
            text(f"UPDATE alerts SET {', '.join(f'{c} = :{c}' for c in columns if c != 'id')} WHERE id = :id"),
            values,
        ).rowcount
        if not done:
            conn.execute(
                text(f"INSERT INTO alerts ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"),
                values,
            )


def acknowledge(store: Store, alert_id: str, who: str, now: datetime) -> Alert:
    """Record who acknowledged an alert and when; return the updated alert."""
    who = (who or "").strip()
    if not who:
        raise AlertError("say who acknowledges the alert (a name or call sign)")
    if len(who) > 80:
        raise AlertError("the acknowledging name is longer than 80 characters")
    with store.connect(write=True) as conn:
        done = conn.execute(
            text("UPDATE alerts SET acked_by = :who, acked_at = :now WHERE id = :id"),
            {"who": who, "now": store.to_db_time(now), "id": alert_id},
        ).rowcount
        row = conn.execute(text(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = :id"), {"id": alert_id}).first()
        if done and row is not None:
            audit_log.note(store, "alert_ack", alert_id, {"acked_by": who, "title": row[5]}, conn=conn)
    if not done or row is None:
        raise AlertError(f"no alert {alert_id!r}")
    return _alert(store, row)
