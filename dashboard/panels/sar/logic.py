"""The SAR panel's logic as plain functions (no dash import): search area, preview, save, edits, exports."""

from __future__ import annotations

import io
import math
from typing import Any, NamedTuple

from shapely.geometry import mapping

from dashboard.downloads import send_bytes, send_string
from dashboard.panels.sar.ids import EMPTY
from dashboard.permissions import EDIT_SAR, EXPORT_DATA, REQUEST_USER, User, acting_user, require
from data import audit_log
from data.sar_edits import record_sortie, update_sector
from data.sar_plans import (
    Plan,
    PlanConflict,
    create_plan,
    distress_event_area,
    list_plans,
    load_plan,
    plan_sectors,
)
from data.store import Store
from geo.errors import HbmError
from geo.sectors import SectorError, circle_area, parse_latlng, polygon_from_geojson
from layers.i18n import _, value_label
from layers.services.exports.sar import export_text
from layers.services.exports.sar_sheets import write_plan_sheets


class Preview(NamedTuple):
    """The new-plan form's sectors as GeoJSON, the highest POA (colour scale) and a one-line summary."""

    features: dict[str, Any]
    top_poa: float
    summary: str


class PlanTable(NamedTuple):
    """What the plan table shows: rows, the summary line and the plan version they came from."""

    rows: list[dict[str, Any]]
    summary: str
    seen: dict[str, Any]


class PlanEdit(NamedTuple):
    """The plan table after an edit, plus the message line and its CSS class."""

    rows: list[dict[str, Any]]
    summary: str
    seen: dict[str, Any]
    message: str
    message_class: str


def _number(value: Any, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise SectorError(f"{name} must be a number (got {value!r})") from None
    if not math.isfinite(out):
        raise SectorError(f"{name} must be a number (got {value!r})")
    return out


def search_area(store: Store, source: str, drawn: Any, datum: str | None, radius: Any, event: str | None) -> Any:
    """Return the search area the form describes: the drawn polygon, a datum circle or a distress event's area."""
    if source == "datum":
        r = _number(radius, "radius (km)")
        if r is None:
            raise SectorError("give the radius around the datum in km")
        lat, lng = parse_latlng(datum or "")
        return circle_area(lat, lng, r)
    if source == "event":
        event_id = (event or "").strip()
        if not event_id:
            raise SectorError("give the id of a distress event")
        return distress_event_area(store, event_id)[0]
    return polygon_from_geojson(drawn)


def preview_geojson(
    store: Store, form: dict[str, Any], user: User | None = REQUEST_USER
) -> Preview:
    """Return (sector features with label/POA/area, highest POA, one-line summary) for the new-plan form."""
    user = acting_user(user)
    require(user, EDIT_SAR)  # a preview can place a distress event's exact position on the map
    area = search_area(store, form["source"], form["drawn"], form["datum"], form["radius"], form["event"])
    size = _number(form["size"], "sector size (km²)")
    if size is None:
        raise SectorError("give the target sector size in km²")
    rest = (_number(form["rest"], "rest-of-world share (%)") or 0.0) / 100.0
    if not 0 <= rest < 1:
        raise SectorError("the rest-of-world share must be between 0 and 99 %")
    sectors, poas = plan_sectors(area, form["method"], size, form["poa"], rest, store=store, rotate=form["rotate"])
    features = [
        {
            "type": "Feature",
            "geometry": mapping(s.geometry),
            "properties": {"label": s.label, "poa": p, "area_km2": round(s.area_km2, 3)},
        }
        for s, p in zip(sectors, poas, strict=True)
    ]
    total = sum(s.area_km2 for s in sectors)
    text = _("{n} sectors, {total} km² ({method}, ~{size} km² each), POA {poa}").format(
        n=len(sectors), total=f"{total:,.1f}", method=form["method"], size=f"{size:g}", poa=_(form["poa"])
    )
    return Preview({"type": "FeatureCollection", "features": features}, max(poas), text)


def save_new_plan(store: Store, form: dict[str, Any], user: User | None = REQUEST_USER) -> str:
    """Save the plan the form describes (the same sectors the preview showed) and return its id."""
    user = acting_user(user)
    require(user, EDIT_SAR)
    area = search_area(store, form["source"], form["drawn"], form["datum"], form["radius"], form["event"])
    size = _number(form["size"], "sector size (km²)") or 0.0
    rest = (_number(form["rest"], "rest-of-world share (%)") or 0.0) / 100.0
    sectors, poas = plan_sectors(area, form["method"], size, form["poa"], rest, store=store, rotate=form["rotate"])
    name = (form.get("name") or "").strip() or f"Search area ({form['source']})"
    return create_plan(store, area, sectors, poas, name=name, method=form["method"], target_km2=size, rest=rest)


def table_rows(plan: Plan) -> list[dict[str, Any]]:
    """Return the plan summary table rows (id, label, area, POA, POD, cumulative POD, POS, team, status)."""
    keys = ("id", "label", "area_km2", "poa", "pod", "cum_pod", "pos", "team", "status", "sorties")
    return [{**{k: row[k] for k in keys}, "status_label": value_label(row["status"])} for row in plan.summary()]


def summary_text(plan: Plan) -> str:
    """Return the one-line plan summary shown above the table."""
    return _(
        "{name} · version {version} · {n} sectors · {area} km² · POS so far {pos} · rest of world {rest}"
    ).format(
        name=plan.name,
        version=plan.version,
        n=len(plan.sectors),
        area=f"{plan.area_km2:,.1f}",
        pos=f"{plan.total_pos:.3f}",
        rest=f"{plan.rest_poa:.3f}",
    )


def plan_options(store: Store) -> list[dict[str, str]]:
    """Return the dropdown options for the saved plans (newest first)."""
    return [
        {"label": _("{name} ({n} sectors)").format(name=p["name"], n=p["sectors"]), "value": p["id"]}
        for p in list_plans(store)
    ]


def plan_view(store: Store, plan_id: str | None) -> PlanTable:
    """Return (table rows, summary line, seen version) for the selected plan, or an empty table with a hint."""
    if not plan_id:
        return PlanTable([], _("No plan selected: draw a search area and save a plan, or pick one above."), {})
    plan = load_plan(store, plan_id)
    return PlanTable(table_rows(plan), summary_text(plan), {"plan_id": plan.id, "version": plan.version})


def edit_plan(
    store: Store,
    action: str,
    seen: dict[str, Any] | None,
    selected: list[str] | None,
    team: str | None,
    status: str | None,
    sweep: Any,
    spacing: Any,
    length: Any,
    who: str = "dashboard",
    user: User | None = REQUEST_USER,
) -> PlanEdit:
    """Apply a sector edit ("sector") or a sortie ("sortie"); return (rows, summary, seen, message, message class).

    On a version conflict nothing is written and the latest plan is returned with the conflict message.
    """
    user = acting_user(user)
    require(user, EDIT_SAR)
    if not seen or not seen.get("plan_id"):
        raise SectorError("no plan selected")
    if not selected:
        raise SectorError("select a sector in the table first")
    plan_id, version, sector = seen["plan_id"], int(seen["version"]), selected[0]
    try:
        if action == "sector":
            plan = update_sector(store, plan_id, version, sector, team=team or None, status=status or "planned")
            label = plan.sector(sector)["label"]
            message = _("Sector {label}: team and status saved (version {version}).").format(
                label=label, version=plan.version
            )
        else:
            sweep_m = _number(sweep, "sweep width (m)")
            if sweep_m is None:
                raise SectorError("give the sortie's sweep width in metres")
            plan = record_sortie(
                store,
                plan_id,
                version,
                sector,
                sweep_width_m=sweep_m,
                track_spacing_m=_number(spacing, "track spacing (m)"),
                track_length_km=_number(length, "track length (km)"),
                team=team or None,
                recorded_by=who,
            )
            row = plan.sector(sector)
            message = _(
                "Sortie recorded in {label}: POD {pod}, cumulative POD {cum_pod}; "
                "POA updated for the whole plan (version {version})."
            ).format(label=row["label"], pod=f"{row['pod']:.3f}", cum_pod=f"{row['cum_pod']:.3f}", version=plan.version)
    except PlanConflict as exc:
        return PlanEdit(*plan_view(store, plan_id), str(exc), "sar-message error")
    return PlanEdit(
        table_rows(plan),
        summary_text(plan),
        {"plan_id": plan.id, "version": plan.version},
        message,
        "sar-message ok",
    )


def highlight(store: Store, seen: dict[str, Any] | None, selected: list[str] | None) -> dict[str, Any]:
    """Return the selected sector as a one-feature collection for the highlight layer."""
    if not seen or not seen.get("plan_id") or not selected:
        return EMPTY
    try:
        row = load_plan(store, seen["plan_id"]).sector(selected[0])
    except HbmError:
        return EMPTY
    props = {"label": row["label"]}
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": mapping(row["geometry"]), "properties": props}],
    }


def export_plan(
    store: Store, plan_id: str, fmt: str, synthetic: bool, user: User | None = REQUEST_USER
) -> dict[str, Any]:
    """Return a dcc.Download payload with the plan in ``fmt`` (geojson, kml, gpx, csv or pdf); audited."""
    user = acting_user(user)
    user = require(user, EXPORT_DATA)
    plan = load_plan(store, plan_id)
    stem = f"{plan.id}-v{plan.version}"
    if fmt == "pdf":
        buf = io.BytesIO()
        write_plan_sheets(store, plan, buf, synthetic)  # SYNTHETIC also for a demo store, HBM_MARKING
        payload = send_bytes(buf.getvalue(), f"{stem}-sheets.pdf")
    else:
        payload = send_string(export_text(plan, fmt), f"{stem}.{fmt}")
    detail = {"plan_id": plan.id, "version": plan.version, "file": payload["filename"]}
    audit_log.note(store, "export", f"sar_{fmt}", detail, who=user.name)
    return payload

