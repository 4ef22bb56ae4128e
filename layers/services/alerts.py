"""Early-warning rules: evaluate the stored rules against the store, one alert per ongoing condition.

Each rule kind turns the current data into *findings* (a subject, a place, the evidence).
A finding that matches an open alert of the same rule updates it (a growing surge stays
one alert); a new finding opens an alert; an open alert whose condition has been clear for
the rule's ``clear_after_s`` closes itself.

Rule kinds and their parameters:

- ``hotspot_surge``: ``res`` (H3 resolution), ``window`` (6h/24h/7d/30d), ``min_people``,
  ``categories`` (change categories that count, e.g. large_increase, new), ``min_gi_bin``,
  ``combine`` ("and" or "or"), optional ``cycle`` (the baseline cycle for this rule: auto,
  daily, weekly, adjacent) and ``min_change_pct`` (a stricter rise than the category).
  A cell is flagged when it has a listed category and/or a Gi* bin of at least
  ``min_gi_bin``; flagged cells that touch form one surge, which fires when its people
  in the window reach ``min_people``. The default rule uses "and": a rise that is also
  a significant cluster. "or" is noisier: a busy crossing is a Gi* hot spot every day,
  and small cells swing by more than 25 % from one day to the next. A later surge is
  the same alert when it shares or touches one of the alert's cells. Cells whose baseline is too
  short (``insufficient_baseline``) are never flagged.
- ``distress_in_sar``: ``window``, ``kinds`` (default distress). Fires per SAR zone holding
  such an event; an event counts in the smallest zone that contains it.
- ``crossing_closed``: fires when a crossing point's status changes to closed, and stays
  true while it is closed. The first evaluation only records the statuses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
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
from layers.view import WINDOWS, View

DEFAULT_RULES = (
    Rule(
        id="surge-r6-24h",
        name="Surge: ≥ +60 % on the same weekday and a Gi* hot spot (95 %) at res 6, ≥ 50 people in 24 h",
        kind="hotspot_surge",
        params={
            "res": 6,
            "window": "24h",
            "min_people": 50,
            "categories": ["large_increase", "new"],
            "min_gi_bin": 2,
            "combine": "and",
            "cycle": "weekly",  # tuned on tests/benchmarks/alerts.py: market days are no surge
            "min_change_pct": 60,  # +25 % is within a busy site's day-to-day noise
        },
        severity="critical",
        clear_after_s=24 * 3600,  # one surge, one alert: a dip of a few hours does not re-open it
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
class Finding:
    """One place where a rule's condition holds now."""

    subject: str
    title: str
    lat: float | None
    lng: float | None
    evidence: dict[str, Any]
    cells: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    """What one evaluation changed."""

    opened: list[Alert] = field(default_factory=list)
    updated: list[Alert] = field(default_factory=list)
    closed: list[Alert] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def ensure_default_rules(store: Store, now: datetime) -> None:
    """Store the default rules when the store has none yet (user edits are never overwritten)."""
    if load_rules(store):
        return
    for rule in DEFAULT_RULES:
        save_rule(store, rule, now, who="default")


def nearest_place(store: Store, lat: float, lng: float) -> str:
    """Return where a point is, for an alert title: "near Elegu (4 km)", or "" with no crossing points stored."""
    points = store.features("crossing_points")
    if points.empty:
        return ""
    xs, ys = points.geometry.x.to_numpy(float), points.geometry.y.to_numpy(float)
    # Equirectangular distance: plenty for naming the closest crossing point.
    dx = (xs - lng) * 111.32 * math.cos(math.radians(lat))
    dy = (ys - lat) * 110.57
    km = (dx**2 + dy**2) ** 0.5
    i = int(km.argmin())
    return f"near {points['name'].iloc[i]} ({km[i]:,.0f} km)"


def _window(params: dict[str, Any]) -> Any:
    name = params.get("window", "24h")
    if name not in WINDOWS:
        raise AlertError(f"rule window {name!r} must be one of {', '.join(WINDOWS)}")
    return WINDOWS[name]


def _surge_findings(store: Store, rule: Rule, now: datetime, region: BBox | None) -> list[Finding]:
    from dataclasses import replace

    from geo.hotspots import INSUFFICIENT
    from geo.windows import CYCLES
    from layers.hotspots import flagged_groups, hotspot_table, load_hotspot_settings

    p = rule.params
    res = int(p.get("res", 6))
    view = View(start=now - _window(p), end=now, resolution=res, bbox=region, metric="people")
    settings, _k = load_hotspot_settings()
    if "cycle" in p:
        if p["cycle"] not in CYCLES:
            raise AlertError(f"rule cycle {p['cycle']!r} must be one of {', '.join(CYCLES)}")
        settings = replace(settings, baseline_cycle=p["cycle"])
    table = hotspot_table(store, view, settings)
    spans = table.attrs["windows"]
    rising = table["category"].isin(p.get("categories", ["large_increase"]))
    if "min_change_pct" in p:  # a stricter rise than the category's threshold ("new" has no percentage)
        rising &= (table["change_pct"] >= float(p["min_change_pct"])) | (table["category"] == "new")
    clustered = table["gi_bin"] >= int(p.get("min_gi_bin", 3))
    combine = p.get("combine", "or")
    if combine not in ("and", "or"):
        raise AlertError(f"rule combine {combine!r} must be 'and' or 'or'")
    flagged = table[((rising & clustered) if combine == "and" else (rising | clustered))]
    flagged = flagged[flagged["category"] != INSUFFICIENT]  # too short a baseline is never alerted on
    findings = []
    for group in flagged_groups(flagged):
        people, events = int(group["people"].sum()), int(group["events"].sum())
        if people < int(p.get("min_people", 0)):
            continue
        top = group.sort_values(["people", "cell"], ascending=[False, True]).iloc[0]
        lat, lng = h3.cell_to_latlng(h3.int_to_str(int(top["cell"])))
        cells = sorted(h3.int_to_str(int(c)) for c in group["cell"])
        place = nearest_place(store, lat, lng)
        findings.append(
            Finding(
                subject=f"surge:{cells[0]}",
                title=(
                    f"Surge {place}: {people:,} people, {events:,} events in {p.get('window', '24h')}, "
                    f"{len(cells)} cells"
                ).replace("Surge :", "Surge:"),
                lat=lat,
                lng=lng,
                cells=cells,
                evidence={
                    "place": place,
                    "people": people,
                    "events": events,
                    "cells": len(cells),
                    "baseline_mean_people": round(float(group["baseline_mean"].sum()), 1),
                    "categories": sorted(set(group["category"])),
                    "max_gi_bin": int(group["gi_bin"].max()),
                    "max_gi_z": round(float(group["gi_z"].max()), 2),
                    "resolution": res,
                    "window": p.get("window", "24h"),
                    "window_start": spans[0].to_json()["start"],
                    "window_end": spans[0].to_json()["end"],
                    "baseline_windows": [
                        [w["start"], w["end"]] for w in (s.to_json() for s in spans[1:]) if w["covered"]
                    ],
                },
            )
        )
    return findings


def _distress_findings(store: Store, rule: Rule, now: datetime, region: BBox | None) -> list[Finding]:
    p = rule.params
    events = store.event_points(now - _window(p), now, region, p.get("kinds") or ["distress"])
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


FINDERS = {"hotspot_surge": _surge_findings, "distress_in_sar": _distress_findings, "crossing_closed": _closed_findings}


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
