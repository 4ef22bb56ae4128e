"""Editing a SAR plan (data/sar_plans.py): each change applies to the version the user saw.

The change commits in one audited transaction, or raises PlanConflict when the plan moved on.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from data import audit_log
from data.interfaces import Store
from data.records import FIELDS, prepare_rows
from data.sar_plans import SORTIE_COLUMNS, UNSET, Plan, PlanConflict, PlanError, load_plan, sector_row
from data.schema import SAR_STATUSES
from geo.errors import HbmError
from geo.search_theory import (
    PlanProbabilities,
    coverage_from_spacing,
    coverage_from_track,
    cumulative_pod,
    plan_probabilities,
    pod_from_coverage,
)
from geo.sectors import Sector, area_km2, check_area, next_labels, split_in_two


@dataclass
class _Edit:
    """What one edit writes: sector rows to upsert, sector ids to retire, sortie rows to insert."""

    upserts: dict[str, dict[str, Any]] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    sorties: list[dict[str, Any]] = field(default_factory=list)
    plan_fields: dict[str, Any] = field(default_factory=dict)


def _row_of(rec: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: rec.get(k) for k in ("id", *FIELDS["sar_zones"])}
    for k, v in row.items():
        if isinstance(v, float) and math.isnan(v):
            row[k] = None
        elif isinstance(v, np.integer):
            row[k] = int(v)
        elif isinstance(v, np.floating):
            row[k] = float(v)
    row["geometry"] = rec["geometry"]
    return row


def _plan_row(plan: Plan) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": plan.id,
        "name": plan.name,
        "kind": "search_area",
        "parent_id": plan.parent_id,
        "authority": plan.authority,
        "status": plan.status,
        "team": None,
        "pod": None,
        "label": None,
        "area_km2": plan.area_km2,
        "sweep_width_m": None,
        "track_spacing_m": None,
        "method": plan.method,
        "target_km2": plan.target_km2,
        "notes": plan.notes,
        "geometry": plan.area,
    }
    return row


def _recompute(plan: Plan, edit: _Edit) -> list[dict[str, Any]]:
    """Return every row to write: all live sectors with Bayes-updated POA/POD/POS, and the plan row."""
    sectors = {rec["id"]: _row_of(rec) for rec in plan.sectors.to_dict("records")}
    sectors.update(edit.upserts)
    for rid in edit.deletes:
        sectors.pop(rid, None)
    live = sorted(sectors.values(), key=lambda r: r.get("label") or "")
    recorded: dict[str, list[float]] = {}
    for s in plan.sorties.to_dict("records"):
        recorded.setdefault(s["sector_id"], []).append(float(s["pod"]))
    added: dict[str, list[float]] = {}
    last: dict[str, float] = {}
    for s in edit.sorties:
        added.setdefault(s["sector_id"], []).append(float(s["pod"]))
        last[s["sector_id"]] = float(s["pod"])
    pods = []
    for row in live:
        # Coverage the store holds but no sortie row explains (imported or demo data, a split sector's
        # searches) counts as one earlier sortie, so an edit never loses it.
        own = recorded.get(row["id"], [])
        miss = 1.0 - cumulative_pod(own)
        prior = 1.0 - (1.0 - float(row.get("cum_pod") or 0.0)) / miss if miss > 1e-12 else 0.0
        prior = min(1.0, max(0.0, prior))
        pods.append(([prior] if prior > 1e-9 else []) + own + added.get(row["id"], []))
        if row["id"] not in last and row.get("pod") is not None:
            last[row["id"]] = float(row["pod"])
    initial = [float(r.get("poa_initial") or 0.0) for r in live]
    probs: PlanProbabilities = plan_probabilities(initial, plan.rest_initial, pods)
    for row, poa, cum, pos in zip(live, probs.poa, probs.cum_pod, probs.pos, strict=True):
        row.update(poa=poa, cum_pod=cum, pos=pos, pod=last.get(row["id"]))
    head = _plan_row(plan)
    head.update(
        poa=1.0 - probs.rest,
        poa_initial=1.0 - plan.rest_initial,
        rest_poa=probs.rest,
        pos=probs.total_pos,
        cum_pod=None,
        version=plan.version + 1,
    )
    head.update(edit.plan_fields)
    return [head, *live]


def _apply(store: Store, plan_id: str, seen_version: int, change: Callable[[Plan], _Edit]) -> Plan:
    """Run ``change`` on the plan as of ``seen_version`` and write the result atomically, or raise PlanConflict."""
    plan = load_plan(store, plan_id)
    if plan.version != int(seen_version):
        raise PlanConflict(int(seen_version), plan.version)
    edit = change(plan)
    now = datetime.now(UTC)
    rows = prepare_rows("sar_zones", _recompute(plan, edit))
    # One transaction: claim the next version, bump the revision, write rows, retire sectors, add sorties.
    # The conditional UPDATE takes the row lock, so a concurrent edit waits, then finds the version moved.
    with store.connect(write=True) as conn:
        claimed = conn.execute(
            text(
                "UPDATE sar_zones SET version = :next WHERE id = :id AND kind = 'search_area' "
                "AND version = :seen AND deleted_at IS NULL"
            ),
            {"next": plan.version + 1, "id": plan_id, "seen": plan.version},
        ).rowcount
        if claimed != 1:
            current = conn.execute(text("SELECT version FROM sar_zones WHERE id = :id"), {"id": plan_id}).scalar()
            raise PlanConflict(plan.version, int(current or 0))
        _write_rows(store, conn, rows, edit, now)
        # Audited in the same transaction; the action names the edit function (sar_plan_update_sector, …).
        action = "sar_plan_" + change.__qualname__.split(".")[0]
        detail = {"version": plan.version + 1, "changed": sorted(edit.upserts), "retired": list(edit.deletes)}
        audit_log.note(store, action, plan_id, detail, conn=conn)
    return load_plan(store, plan_id)


def _write_rows(store: Store, conn: Connection, rows: list[dict[str, Any]], edit: _Edit, now: datetime) -> None:
    # The store's own revision bump and row writer, inside this transaction (store.upsert would open a
    # second one, and the version claim must commit together with the rows it guards).
    rev = store.bump_revisions(conn, ["sar_zones"])
    store.write_features(conn, "sar_zones", rows, rev)
    for rid in edit.deletes:
        conn.execute(
            text("UPDATE sar_zones SET deleted_at = :now, revision = :rev WHERE id = :id"),
            {"now": store.to_db_time(now), "rev": rev, "id": rid},
        )
    for sortie in edit.sorties:
        conn.execute(
            text(
                f"INSERT INTO sar_sorties (plan_id, {', '.join(SORTIE_COLUMNS)}) "
                f"VALUES (:plan_id, {', '.join(':' + c for c in SORTIE_COLUMNS)})"
            ),
            {**sortie, "at": store.to_db_time(sortie["at"])},
        )


def update_sector(
    store: Store,
    plan_id: str,
    seen_version: int,
    sector: str,
    *,
    team: str | None = UNSET,
    status: str = UNSET,
    notes: str | None = UNSET,
    sweep_width_m: float | None = UNSET,
    track_spacing_m: float | None = UNSET,
) -> Plan:
    """Set a sector's team, status, notes or planned sweep width / track spacing; return the updated plan."""
    if status is not UNSET and status not in SAR_STATUSES:
        raise PlanError(f"status {status!r} is not one of {', '.join(SAR_STATUSES)}")
    for name, value in (("sweep width", sweep_width_m), ("track spacing", track_spacing_m)):
        if value is not UNSET and value is not None and not (math.isfinite(value) and value > 0):
            raise PlanError(f"{name} must be a positive number of metres (got {value!r})")

    def change(plan: Plan) -> _Edit:
        row = _row_of(plan.sector(sector))
        for key, value in (
            ("team", team),
            ("status", status),
            ("notes", notes),
            ("sweep_width_m", sweep_width_m),
            ("track_spacing_m", track_spacing_m),
        ):
            if value is not UNSET:
                row[key] = (value.strip()[:200] or None) if isinstance(value, str) else value
        return _Edit(upserts={row["id"]: row})

    return _apply(store, plan_id, seen_version, change)


def sortie_pod(
    sweep_width_m: float, track_spacing_m: float | None, track_length_km: float | None, sector_km2: float
) -> tuple[float, float]:
    """Return (coverage, POD) of a sortie from its sweep width and its track spacing or track length."""
    if (track_spacing_m is None) == (track_length_km is None):
        raise PlanError("give either the track spacing (m) or the track length (km) of the sortie, not both")
    try:
        if track_spacing_m is not None:
            coverage = coverage_from_spacing(sweep_width_m, track_spacing_m)
        else:
            coverage = coverage_from_track(sweep_width_m, float(track_length_km or 0), sector_km2)
    except HbmError as exc:
        raise PlanError(str(exc)) from None
    return coverage, pod_from_coverage(coverage)


def record_sortie(
    store: Store,
    plan_id: str,
    seen_version: int,
    sector: str,
    *,
    sweep_width_m: float,
    track_spacing_m: float | None = None,
    track_length_km: float | None = None,
    team: str | None = None,
    recorded_by: str | None = None,
    notes: str | None = None,
    at: datetime | None = None,
) -> Plan:
    """Record a completed, unsuccessful sortie in a sector; POD, cumulative POD, POS and every POA update."""

    def change(plan: Plan) -> _Edit:
        row = _row_of(plan.sector(sector))
        coverage, pod = sortie_pod(sweep_width_m, track_spacing_m, track_length_km, float(row["area_km2"] or 0))
        if row["status"] in ("planned", "assigned", "in_progress"):
            row["status"] = "searched"
        sortie = {
            "id": uuid.uuid4().hex,
            "plan_id": plan.id,
            "sector_id": row["id"],
            "at": at or datetime.now(UTC),
            "sweep_width_m": float(sweep_width_m),
            "track_spacing_m": None if track_spacing_m is None else float(track_spacing_m),
            "track_length_km": None if track_length_km is None else float(track_length_km),
            "coverage": coverage,
            "pod": pod,
            "team": (team or row.get("team") or None),
            "recorded_by": recorded_by,
            "notes": notes,
        }
        return _Edit(upserts={row["id"]: row}, sorties=[sortie])

    return _apply(store, plan_id, seen_version, change)


def _renormalised(rows: list[dict[str, Any]], total: float) -> None:
    s = sum(float(r["poa_initial"] or 0) for r in rows)
    for r in rows:
        r["poa_initial"] = total * float(r["poa_initial"] or 0) / s if s > 0 else total / len(rows)


def delete_sector(store: Store, plan_id: str, seen_version: int, sector: str) -> Plan:
    """Retire a sector (its label is never reused); the other sectors' initial POAs are renormalised."""

    def change(plan: Plan) -> _Edit:
        gone = _row_of(plan.sector(sector))
        rest = [_row_of(r) for r in plan.sectors.to_dict("records") if r["id"] != gone["id"]]
        if not rest:
            raise PlanError("a plan keeps at least one sector: delete the plan instead")
        _renormalised(rest, 1.0 - plan.rest_initial)
        area = shapely.union_all([r["geometry"] for r in rest])
        return _Edit(
            upserts={r["id"]: r for r in rest},
            deletes=[gone["id"]],
            plan_fields={"geometry": area, "area_km2": area_km2(area)},
        )

    return _apply(store, plan_id, seen_version, change)


def _used_labels(plan: Plan) -> list[str]:
    return [*plan.retired_labels, *(x for x in plan.sectors["label"] if isinstance(x, str))]


def split_sector(store: Store, plan_id: str, seen_version: int, sector: str) -> Plan:
    """Split a sector in two across its main axis: it is retired and the halves get the next unused labels.

    The halves share the old initial POA by area and keep its cumulative POD (they were searched alike);
    the old sector's sorties stay in the history under its retired label.
    """

    def change(plan: Plan) -> _Edit:
        old = _row_of(plan.sector(sector))
        halves = split_in_two(old["geometry"])
        labels = next_labels(_used_labels(plan), 2)
        areas = [area_km2(h) for h in halves]
        new_rows = {}
        for label, geom, a in zip(labels, halves, areas, strict=True):
            poa0 = float(old["poa_initial"] or 0) * a / sum(areas)
            row = {**old, **sector_row(plan.id, Sector(label, geom, a), poa0, old["authority"])}
            row.update(status=old["status"], team=old["team"], notes=old.get("notes"))
            row.update(sweep_width_m=old.get("sweep_width_m"), track_spacing_m=old.get("track_spacing_m"))
            row.update(pod=old.get("pod"), cum_pod=old.get("cum_pod"))  # searched alike: same coverage so far
            new_rows[row["id"]] = row
        return _Edit(upserts=new_rows, deletes=[old["id"]])

    return _apply(store, plan_id, seen_version, change)


def add_sector(store: Store, plan_id: str, seen_version: int, geometry: BaseGeometry) -> Plan:
    """Add a sector (the part of ``geometry`` outside the existing sectors) with the next unused label.

    Its initial POA is the plan's mean POA density times its area; all initial POAs are then renormalised.
    The search area grows to include it.
    """

    def change(plan: Plan) -> _Edit:
        existing = [_row_of(r) for r in plan.sectors.to_dict("records")]
        taken = shapely.union_all([r["geometry"] for r in existing]) if existing else None
        geom = check_area(geometry)
        if taken is not None:
            geom = geom.difference(taken)
            if geom.is_empty or area_km2(geom) < 1e-6:
                raise PlanError("the new sector lies inside existing sectors: draw it outside them")
            geom = check_area(geom)
        a = area_km2(geom)
        density = sum(float(r["poa_initial"] or 0) for r in existing) / max(
            1e-12, sum(float(r["area_km2"] or 0) for r in existing)
        )
        (label,) = next_labels(_used_labels(plan), 1)
        new = sector_row(plan.id, Sector(label, geom, a), density * a, plan.authority)
        rows = [*existing, new]
        _renormalised(rows, 1.0 - plan.rest_initial)
        area = shapely.union_all([plan.area, geom])
        return _Edit(upserts={r["id"]: r for r in rows}, plan_fields={"geometry": area, "area_km2": area_km2(area)})

    return _apply(store, plan_id, seen_version, change)
