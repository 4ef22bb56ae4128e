"""Early-warning rules: evaluate the stored rules against the store, one alert per ongoing condition.

Each rule kind turns the current data into *findings* (a subject, a place, the evidence).
A finding that matches an open alert of the same rule updates it (a growing surge stays
one alert); a new finding opens an alert; an open alert whose condition has been clear for
the rule's ``clear_after_s`` closes itself.

Rule kinds and their parameters:

- ``hotspot_surge``: a rise of the events at a place above its usual level for the same hours;
  ``method`` "rate" (the default rule: an exact Poisson rate test against the same hours in earlier
  weeks, with hysteresis) or "category" (change category and Gi* bin; rules stored before the rate
  test). Parameters and statistics: ``layers.services.surge_alerts``, ``geo.surge``, docs/early-warning.md.
  A later surge is the same alert when it shares or touches one of the alert's cells. Cells whose
  baseline is too short (``insufficient_baseline``) are never flagged.
- ``distress_in_sar``: ``window``, ``kinds`` (default distress). Fires per SAR zone holding
  such an event; an event counts in the smallest zone that contains it.
- ``crossing_closed``: fires when a crossing point's status changes to closed, and stays
  true while it is closed. The first evaluation only records the statuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import h3
import pandas as pd
import shapely

from data.alerts import (
    SEVERITY_RANK,
    Alert,
    AlertError,
    Rule,
    load_rules,
    new_alert_id,
    open_alerts,
    save_rule,
    save_rule_state,
    write_alert,
)
from data.interfaces import BBox, Store
from geo.errors import HbmError
from geo.suppression import withhold_small_counts_in_text
from layers.i18n import _, ngettext
from layers.services.findings import Finding, nearest_place, rule_window
from layers.services.surge_alerts import surge_findings

__all__ = ["DEFAULT_RULES", "Evaluation", "Finding", "evaluate_rules", "nearest_place"]

DEFAULT_RULES = (
    Rule(
        id="surge-r6-24h",
        name=(
            "Surge: events of the last 3–48 h above the same hours on the same weekday "
            "(exact Poisson test, p ≤ 0.001) at res 6, ≥ 50 people in 24 h"
        ),
        kind="hotspot_surge",
        params={  # tuned on seeds 0-99 of tests/benchmarks/alerts.py (docs/early-warning.md)
            "method": "rate",
            "res": 6,
            "lengths_h": [3, 6, 12, 24, 48],
            "cycle": "weekly",  # market days are no surge
            "weeks": 8,  # as many as are covered, up to 8
            "ratio0": 1.0,
            "alpha": 1e-3,
            "alpha_keep": 0.05,  # hysteresis: an open alert stays open while p <= 0.05
            "min_people": 50,
        },
        severity="critical",
        clear_after_s=24 * 3600,  # one surge, one alert: closes after 24 h back to normal
    ),
    Rule(
        id="distress-in-sar",
        name="Distress event inside a SAR zone (last 6 h)",
        kind="distress_in_sar",
        params={"window": "6h", "kinds": ["distress"]},
        severity="critical",
        clear_after_s=3600,
    ),
    Rule(
        id="crossing-closed",
        name="A crossing point's status changes to closed",
        kind="crossing_closed",
        params={},
        severity="warning",
        clear_after_s=0,
    ),
)


@dataclass
class Evaluation:
    """What one evaluation changed."""

    opened: list[Alert] = field(default_factory=list)
    updated: list[Alert] = field(default_factory=list)
    closed: list[Alert] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def ensure_default_rules(store: Store, now: datetime) -> None:
    """Store the default rules when the store has none yet; bring untouched default rules up to date.

    A stored rule last saved by "default" whose parameters differ from today's default (the surge
    rule before the rate test) is replaced; a rule anyone edited is never overwritten.
    """
    stored = {r.id: r for r in load_rules(store)}
    for rule in DEFAULT_RULES if not stored else ():
        save_rule(store, rule, now, who="default")
    for rule in DEFAULT_RULES:
        old = stored.get(rule.id)
        if old is not None and old.updated_by == "default" and (old.params, old.name) != (rule.params, rule.name):
            save_rule(store, replace(rule, enabled=old.enabled, state=old.state), now, who="default")


def _distress_findings(store: Store, rule: Rule, now: datetime, region: BBox | None) -> list[Finding]:
    p = rule.params
    events = store.event_points(now - rule_window(p), now, region, p.get("kinds") or ["distress"])
    zones = store.features("sar_zones")
    if events.empty or zones.empty:
        return []
    zones = zones.assign(_area=shapely.area(zones.geometry.values)).sort_values("_area")  # nesting order only
    points = shapely.points(events["lng"].to_numpy(float), events["lat"].to_numpy(float))
    owner = pd.Series([None] * len(events), dtype=object)
    for zid, geom in zip(zones["id"], zones.geometry, strict=True):  # smallest first: innermost zone wins
        inside = shapely.contains(geom, points) & owner.isna().to_numpy()
        owner[inside] = zid
    events = events.assign(zone=owner.to_numpy())
    names = dict(zip(zones["id"], zones["name"], strict=True))
    parents = dict(zip(zones["id"], zones["parent_id"], strict=True)) if "parent_id" in zones else {}
    findings = []
    for zid, group in events.dropna(subset=["zone"]).groupby("zone", sort=True):
        latest = group.iloc[-1]
        parent = parents.get(zid)
        plan = str(names[parent]) if parent in names else ""  # two plans can both have a "Sector AA"
        where = f"{names[zid]}" + (f" of “{plan}”" if plan else "")
        place = nearest_place(store, float(latest["lat"]), float(latest["lng"]))
        count = len(group)
        findings.append(
            Finding(
                subject=f"sar:{zid}",
                title=f"Distress: {count} event{'s' if count != 1 else ''} in {where}"
                + (f", {place}" if place else ""),
                lat=float(latest["lat"]),
                lng=float(latest["lng"]),
                evidence={
                    "zone": str(names[zid]),
                    "plan": plan or None,
                    "place": place,
                    "events": count,
                    "people": int(group["people"].sum()),
                    "latest": latest["occurred_at"].isoformat(),
                    "zone_id": str(zid),
                    "event_ids": [str(i) for i in group["id"].tail(10)],
                },
            )
        )
    return findings


def _closed_findings(store: Store, rule: Rule, now: datetime, region: BBox | None) -> list[Finding]:
    points = store.features("crossing_points", region)
    statuses = dict(zip(points["id"], points["status"], strict=True))
    before: dict[str, str] | None = rule.state.get("statuses")
    ongoing = {a.subject for a in open_alerts(store, rule.id)}
    findings = []
    if before is not None:
        for row in points.itertuples():
            subject = f"crossing:{row.id}"
            changed = row.status == "closed" and before.get(row.id) not in (None, "closed")
            if changed or (row.status == "closed" and subject in ongoing):
                findings.append(
                    Finding(
                        subject=subject,
                        title=f"Crossing point {row.name} is closed",
                        lat=float(row.geometry.y),
                        lng=float(row.geometry.x),
                        evidence={
                            "crossing_point_id": str(row.id),
                            "name": str(row.name),
                            "previous_status": before.get(row.id, "closed"),
                            "status": "closed",
                        },
                    )
                )
    if statuses != before:
        save_rule_state(store, rule.id, {**rule.state, "statuses": statuses})
    return findings


FINDERS = {"hotspot_surge": surge_findings, "distress_in_sar": _distress_findings, "crossing_closed": _closed_findings}


def _touches(alert: Alert, finding: Finding) -> bool:
    if alert.subject == finding.subject:
        return True
    if not alert.cells or not finding.cells:
        return False
    near = set(alert.cells)
    for cell in alert.cells:
        near.update(h3.grid_disk(cell, 1))
    return not near.isdisjoint(finding.cells)


def _reconcile(store: Store, rule: Rule, findings: list[Finding], now: datetime, out: Evaluation) -> None:
    current = open_alerts(store, rule.id)
    matched: set[str] = set()
    for finding in findings:
        alert = next((a for a in current if a.id not in matched and _touches(a, finding)), None)
        if alert is None and not finding.opens:
            continue  # not back to normal, but not strong enough to open an alert of its own
        if alert is None:
            alert = Alert(
                id=new_alert_id(),
                rule_id=rule.id,
                subject=finding.subject,
                status="open",
                severity=rule.severity,
                title=finding.title,
                lat=finding.lat,
                lng=finding.lng,
                evidence=finding.evidence,
                cells=finding.cells,
                opened_at=now,
                updated_at=now,
                last_true_at=now,
            )
            current.append(alert)
            out.opened.append(alert)
        else:
            alert.title, alert.lat, alert.lng = finding.title, finding.lat, finding.lng
            alert.evidence, alert.last_true_at, alert.updated_at = finding.evidence, now, now
            alert.cells = sorted(set(alert.cells) | set(finding.cells))
            if SEVERITY_RANK[rule.severity] > SEVERITY_RANK[alert.severity]:
                alert.severity = rule.severity
            out.updated.append(alert)
        matched.add(alert.id)
        write_alert(store, alert)
    for alert in current:
        if alert.id in matched:
            continue
        if (now - alert.last_true_at).total_seconds() >= rule.clear_after_s:
            alert.status, alert.closed_at, alert.updated_at = "closed", now, now
            write_alert(store, alert)
            out.closed.append(alert)


def evaluate_rules(store: Store, now: datetime, region: BBox | None = None) -> Evaluation:
    """Run every enabled rule once; return the alerts opened, updated and closed.

    A rule that fails (bad parameters) is reported in ``errors`` and does not stop the others.
    """
    out = Evaluation()
    for rule in load_rules(store, enabled_only=True):
        try:
            findings = FINDERS[rule.kind](store, rule, now, region)
        except AlertError as exc:
            out.errors.append(f"rule {rule.id}: {exc}")
            continue
        _reconcile(store, rule, findings, now, out)
    if out.opened or out.updated or out.closed:
        _queue_notifications(store, out)
    return out


def _queue_notifications(store: Store, out: Evaluation) -> None:
    """Queue e-mail/webhook notifications (issue 16): INSERTs into the outbox only; a worker sends them."""
    from data.notify import enqueue_evaluation
    from layers.hotspots import load_hotspot_settings

    try:
        enqueue_evaluation(store, out, load_hotspot_settings()[1])
    except HbmError as exc:
        out.errors.append(f"notifications not queued: {exc}")


def place_text(place: str | None) -> str:
    """Return ``nearest_place``'s English text ("near Elegu (4 km)") in the language in force."""
    match = re.fullmatch(r"near (.+) \(([\d,.]+) km\)", place or "")
    if not match:
        return place or ""
    return _("near {place} ({km} km)").format(place=match.group(1), km=match.group(2))


def alert_title(alert: Alert, small_k: int | None = None) -> str:
    """Return an alert's title in the language in force, rebuilt from its evidence (the stored English title else).

    The stored title stays English (audit, CLI, API); the panel, badge and map marker rebuild it from
    the evidence, which holds every value the title names. With ``small_k`` (a role without raw access)
    every count of 1..k-1 people or events reads "under k", as ``withhold_small_counts_in_text`` does.
    """
    ev, kind = alert.evidence or {}, alert.subject.split(":", 1)[0]

    def count(value: Any) -> str:
        number = int(value)
        return _("under {k}").format(k=small_k) if small_k and 0 < number < small_k else f"{number:,}"

    try:
        if kind == "surge":
            place = place_text(ev.get("place"))
            template = (
                _("Surge {place}: {people} people, {events} events in {window}, {cells} cells")
                if place
                else _("Surge: {people} people, {events} events in {window}, {cells} cells")
            )
            return template.format(
                place=place,
                people=count(ev["people"]),
                events=count(ev["events"]),
                window=ev["window"],
                cells=ev["cells"],
            )
        if kind == "sar":
            n = int(ev["events"])
            zone = str(ev.get("zone_name") or ev["zone"])
            where = _("{zone} of “{plan}”").format(zone=zone, plan=ev["plan"]) if ev.get("plan") else zone
            shown = count(n)
            plural = small_k if small_k and 0 < n < small_k else n  # "under 5 events": the plural form
            title = ngettext("Distress: {n} event in {where}", "Distress: {n} events in {where}", plural).format(
                n=shown, where=where
            )
            place = place_text(ev.get("place"))
            return _("{title}, {place}").format(title=title, place=place) if place else title
        if kind == "crossing":
            return _("Crossing point {name} is closed").format(name=ev["name"])
    except (KeyError, TypeError, ValueError):
        pass
    return withhold_small_counts_in_text(alert.title, small_k) if small_k else alert.title
