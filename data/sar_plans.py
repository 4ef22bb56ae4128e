"""SAR search plans in the store: a search area row with sector children, sorties, optimistic concurrency.

A plan is one ``sar_zones`` row of kind ``search_area`` (its id is the plan id) and one row of kind
``sector`` per sector (``parent_id`` = plan id, a stable two-letter ``label``). Sorties go in
``sar_sorties``. Every edit passes the plan ``version`` the editor saw; the write claims the next
version with ``UPDATE … WHERE id = :id AND version = :seen`` in the same transaction as the rows it
writes, so two coordinators never overwrite each other: the second one gets :class:`PlanConflict`.
Each edit also bumps the ``sar_zones`` revision, so every open map refreshes the plan. The edits
themselves are in ``data/sar_edits.py``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text

from data import audit_log
from data.interfaces import Store
from data.records import FIELDS
from geo.errors import HbmError
from geo.search_theory import (
    uniform_poa,
    weighted_poa,
)
from geo.sectors import Sector, area_km2, check_area, distress_area, make_sectors

POA_MODES = ("uniform", "events")
UNSET: Any = object()


class PlanError(HbmError):
    """A plan or sector does not exist, or an edit is not allowed."""


class PlanConflict(HbmError):
    """Someone else changed the plan since the editor loaded it; nothing was written."""

    def __init__(self, seen: int, current: int) -> None:
        super().__init__(
            f"This plan was changed by someone else (version {seen} → {current}): your edit was not applied; "
            "the latest plan is now shown — reapply your change."
        )
        self.seen, self.current = seen, current


@dataclass
class Plan:
    """A plan as loaded from the store: the search area row, its sectors (NW→SE label order) and sorties."""

    id: str
    name: str
    version: int
    method: str | None
    target_km2: float | None
    rest_poa: float
    rest_initial: float
    area: BaseGeometry
    area_km2: float
    status: str
    authority: str | None
    notes: str | None
    parent_id: str | None
    revision: int
    sectors: gpd.GeoDataFrame
    sorties: pd.DataFrame = field(default_factory=pd.DataFrame)
    retired_labels: tuple[str, ...] = ()

    def sector(self, sector_id: str) -> dict[str, Any]:
        """Return one sector's row as a dict (with ``geometry``), or raise PlanError."""
        match = self.sectors[self.sectors["id"] == sector_id]
        if match.empty:
            raise PlanError(f"sector {sector_id!r} is not in plan {self.id!r} (it may have been deleted)")
        return match.iloc[0].to_dict()

    @property
    def total_pos(self) -> float:
        """Return the plan's cumulative probability of success so far (Σ sector POS)."""
        return float(self.sectors["pos"].fillna(0).sum()) if len(self.sectors) else 0.0

    def summary(self) -> list[dict[str, Any]]:
        """Return one plain row per sector: label, area, POA, POD, cumulative POD, POS, team, status, sorties."""
        counts = self.sorties.groupby("sector_id").size().to_dict() if len(self.sorties) else {}
        rows = []
        for rec in self.sectors.drop(columns="geometry").to_dict("records"):
            rows.append(
                {
                    "id": rec["id"],
                    "label": rec["label"],
                    "area_km2": _num(rec.get("area_km2")),
                    "poa": _num(rec.get("poa")),
                    "pod": _num(rec.get("pod")),
                    "cum_pod": _num(rec.get("cum_pod")) or 0.0,
                    "pos": _num(rec.get("pos")) or 0.0,
                    "team": rec.get("team") or "",
                    "status": rec.get("status"),
                    "sweep_width_m": _num(rec.get("sweep_width_m")),
                    "track_spacing_m": _num(rec.get("track_spacing_m")),
                    "sorties": int(counts.get(rec["id"], 0)),
                }
            )
        return rows


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


# -- planning -------------------------------------------------------------------------------------
def event_counts(store: Store, geoms: Sequence[BaseGeometry], start: datetime, end: datetime) -> list[int]:
    """Return the number of events in [start, end) inside each geometry (the hotspot data behind weighted POA)."""
    if not geoms:
        return []
    w, s, e, n = shapely.union_all([shapely.box(*g.bounds) for g in geoms]).bounds
    sql = (
        "SELECT lng, lat FROM events WHERE occurred_at >= :start AND occurred_at < :end AND deleted_at IS NULL "
        "AND lng BETWEEN :w AND :e AND lat BETWEEN :s AND :n"
    )
    params = {
        "start": store.to_db_time(start),
        "end": store.to_db_time(end),
        "w": w,
        "e": e,
        "s": s,
        "n": n,
    }
    with store.connect() as conn:
        pts = np.array(conn.execute(text(sql), params).all(), dtype=float).reshape(-1, 2)
    counts = []
    for geom in geoms:
        inside = shapely.contains_xy(geom, pts[:, 0], pts[:, 1]) if len(pts) else np.zeros(0, bool)
        counts.append(int(inside.sum()))
    return counts


def plan_sectors(
    area: BaseGeometry,
    method: str,
    target_km2: float,
    poa_mode: str = "uniform",
    rest: float = 0.0,
    store: Store | None = None,
    now: datetime | None = None,
    window_hours: float = 168.0,
    rotate: bool = True,
) -> tuple[list[Sector], list[float]]:
    """Return the sectors of ``area`` and their POAs (uniform by area, or weighted by recent events)."""
    if poa_mode not in POA_MODES:
        raise PlanError(f"POA mode {poa_mode!r} is not one of {', '.join(POA_MODES)}")
    sectors = make_sectors(area, method, target_km2, rotate=rotate)
    areas = [s.area_km2 for s in sectors]
    if poa_mode == "events" and store is not None:
        end = now or datetime.now(UTC)
        counts = event_counts(store, [s.geometry for s in sectors], end - timedelta(hours=window_hours), end)
        return sectors, weighted_poa(areas, counts, rest)
    return sectors, uniform_poa(areas, rest)


def new_plan_id() -> str:
    """Return a fresh plan id."""
    return f"sar-plan-{uuid.uuid4().hex[:10]}"


def sector_id(plan_id: str, label: str) -> str:
    """Return the id of the sector labelled ``label`` in plan ``plan_id``."""
    return f"{plan_id}-{label}"


def sector_row(plan_id: str, sector: Sector, poa: float, authority: str | None) -> dict[str, Any]:
    """Return the ``sar_zones`` row of one sector of plan ``plan_id``."""
    return {
        "id": sector_id(plan_id, sector.label),
        "name": f"Sector {sector.label}",
        "kind": "sector",
        "parent_id": plan_id,
        "authority": authority,
        "status": "planned",
        "team": None,
        "poa": poa,
        "pod": None,
        "label": sector.label,
        "area_km2": sector.area_km2,
        "poa_initial": poa,
        "cum_pod": 0.0,
        "pos": 0.0,
        "geometry": sector.geometry,
    }


def create_plan(
    store: Store,
    area: BaseGeometry,
    sectors: Sequence[Sector],
    poas: Sequence[float],
    *,
    name: str,
    method: str,
    target_km2: float,
    rest: float = 0.0,
    authority: str | None = None,
    notes: str | None = None,
    parent_id: str | None = None,
    plan_id: str | None = None,
    sweep_width_m: float | None = None,
    track_spacing_m: float | None = None,
) -> str:
    """Save a new plan (search area + sectors, version 1) and return its id.

    ``sweep_width_m`` and ``track_spacing_m``, when given, are the planned values for every sector.
    """
    if len(sectors) != len(poas) or not sectors:
        raise PlanError("a plan needs at least one sector, each with a POA")
    name = (name or "").strip() or "Search area"
    plan_id = plan_id or new_plan_id()
    area = check_area(area)
    rows = [
        {
            "id": plan_id,
            "name": name[:200],
            "kind": "search_area",
            "parent_id": parent_id,
            "authority": authority,
            "status": "planned",
            "poa": 1.0 - rest,
            "poa_initial": 1.0 - rest,
            "rest_poa": rest,
            "cum_pod": None,
            "pos": 0.0,
            "area_km2": area_km2(area),
            "method": method,
            "target_km2": float(target_km2),
            "version": 1,
            "notes": notes,
            "geometry": area,
        }
    ]
    for sector, poa in zip(sectors, poas, strict=True):
        row = sector_row(plan_id, sector, float(poa), authority)
        row.update(sweep_width_m=sweep_width_m, track_spacing_m=track_spacing_m)
        rows.append(row)
    store.upsert("sar_zones", rows)
    audit_log.note(store, "sar_plan_create", plan_id, {"name": name[:200], "method": method, "sectors": len(sectors)})
    return plan_id


# -- loading --------------------------------------------------------------------------------------
_PLAN_COLUMNS = ["id", *FIELDS["sar_zones"], "revision"]
SORTIE_COLUMNS = [
    "id",
    "sector_id",
    "at",
    "sweep_width_m",
    "track_spacing_m",
    "track_length_km",
    "coverage",
    "pod",
    "team",
    "recorded_by",
    "notes",
]


def load_plan(store: Store, plan_id: str) -> Plan:
    """Return the plan ``plan_id`` with its live sectors and sorties, or raise PlanError."""
    cols = ", ".join(_PLAN_COLUMNS)
    with store.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT {cols}, {store.geom_sql()} AS geom FROM sar_zones "
                "WHERE deleted_at IS NULL AND (id = :p OR (parent_id = :p AND kind = 'sector'))"
            ),
            {"p": plan_id},
        ).all()
        retired = conn.execute(
            text("SELECT label FROM sar_zones WHERE parent_id = :p AND kind = 'sector' AND deleted_at IS NOT NULL"),
            {"p": plan_id},
        ).scalars()
        retired_labels = tuple(sorted(label for label in retired if label))
        sortie_rows = conn.execute(
            text(f"SELECT {', '.join(SORTIE_COLUMNS)} FROM sar_sorties WHERE plan_id = :p ORDER BY at, id"),
            {"p": plan_id},
        ).all()
    frame = pd.DataFrame(rows, columns=[*_PLAN_COLUMNS, "geom"])
    geoms = shapely.from_wkb([bytes(g) for g in frame.pop("geom")]) if len(frame) else []
    frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")
    head = frame[(frame["id"] == plan_id) & (frame["kind"] == "search_area")]
    if head.empty:
        raise PlanError(f"no SAR plan with id {plan_id!r} (list plans with `hbm sar list`)")
    top = head.iloc[0]
    sectors = frame[frame["kind"] == "sector"].sort_values("label", na_position="last").reset_index(drop=True)
    sorties = pd.DataFrame(sortie_rows, columns=SORTIE_COLUMNS)
    if len(sorties):
        sorties["at"] = [store.from_db_time(v) for v in sorties["at"]]
    rest = _num(top["rest_poa"]) or 0.0
    initial_total = _num(top["poa_initial"])
    return Plan(
        id=plan_id,
        name=str(top["name"]),
        version=int(_num(top["version"]) or 0),
        method=_text(top["method"]),
        target_km2=_num(top["target_km2"]),
        rest_poa=rest,
        rest_initial=1.0 - initial_total if initial_total is not None else rest,
        area=top.geometry,
        area_km2=_num(top["area_km2"]) or area_km2(top.geometry),
        status=str(top["status"]),
        authority=_text(top["authority"]),
        notes=_text(top["notes"]),
        parent_id=_text(top["parent_id"]),
        revision=int(top["revision"]),
        sectors=sectors,
        sorties=sorties,
        retired_labels=retired_labels,
    )


def list_plans(store: Store) -> list[dict[str, Any]]:
    """Return every live plan: id, name, version, number of sectors, area in km² (newest revision first)."""
    with store.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.id, p.name, p.version, p.area_km2, p.revision, "
                "(SELECT COUNT(*) FROM sar_zones s WHERE s.parent_id = p.id AND s.kind = 'sector' "
                "AND s.deleted_at IS NULL) AS n FROM sar_zones p "
                "WHERE p.kind = 'search_area' AND p.deleted_at IS NULL ORDER BY p.revision DESC, p.id"
            )
        ).all()
    return [
        {"id": r[0], "name": r[1], "version": int(r[2] or 0), "area_km2": _num(r[3]), "sectors": int(r[5])}
        for r in rows
    ]


# -- editing --------------------------------------------------------------------------------------


def delete_plan(store: Store, plan_id: str, seen_version: int) -> None:
    """Retire a plan and all its sectors (soft delete: the history stays in the store)."""
    plan = load_plan(store, plan_id)
    if plan.version != int(seen_version):
        raise PlanConflict(int(seen_version), plan.version)
    store.soft_delete("sar_zones", [plan.id, *plan.sectors["id"].tolist()])
    audit_log.note(store, "sar_plan_delete", plan.id, {"version": plan.version, "name": plan.name})


def distress_event_area(store: Store, event_id: str, now: datetime | None = None, **kwargs: float) -> tuple[Any, str]:
    """Return (search area, description) around a stored event: its position, radius grown with age and precision."""
    with store.connect() as conn:
        row = conn.execute(
            text(
                "SELECT lat, lng, occurred_at, location_precision_m, kind FROM events "
                "WHERE id = :id AND deleted_at IS NULL"
            ),
            {"id": event_id},
        ).first()
    if row is None:
        raise PlanError(f"no event with id {event_id!r}")
    lat, lng, occurred, precision, kind = row
    when = store.from_db_time(occurred) or datetime.now(UTC)
    age_h = max(0.0, ((now or datetime.now(UTC)) - when).total_seconds() / 3600.0)
    area, radius = distress_area(float(lat), float(lng), age_h, _num(precision), **kwargs)
    note = f"{kind} event {event_id} at {lat:.5f}, {lng:.5f}, {age_h:.1f} h old: radius {radius:.1f} km"
    return area, note
