"""SAR planning panel: search area → sectors → POA preview → saved plan; team, status and sorties per sector.

The search area comes from a polygon drawn on the map (leaflet-draw), a datum and radius, or a
distress event. Saved plans live in ``sar_zones``, so the live map layer already shows them to
every session; the plan table here reloads whenever that layer's data changes (the same refresh as
the rest of the map). Every edit sends the plan version the table showed; a stale version is
refused with a clear message and the latest plan is shown instead.

Access (on the server, in every callback): previewing, saving and editing plans and recording sorties
need ``edit_sar``; the field exports need ``export_data``. Other roles see the plans read-only, with a
one-line note saying so and the controls disabled.
"""

from __future__ import annotations

import io
import math
from enum import StrEnum
from typing import Any

import dash_leaflet as dl
from dash import ALL, Dash, Input, Output, State, ctx, dash_table, dcc, html, no_update
from dash.dash_table.Format import Format, Scheme
from shapely.geometry import mapping

from dashboard.ids import Id
from dashboard.layout import radio_group
from dashboard.permissions import (
    EDIT_SAR,
    EXPORT_DATA,
    REQUEST_USER,
    User,
    acting_user,
    can,
    current_user,
    denied_text,
    require,
)
from dashboard.settings import AppSettings
from data import audit_log
from data.sar_edits import record_sortie, update_sector
from data.sar_plans import (
    POA_MODES,
    Plan,
    PlanConflict,
    create_plan,
    distress_event_area,
    list_plans,
    load_plan,
    plan_sectors,
)
from data.schema import SAR_STATUSES
from data.store import Store
from geo.errors import HbmError
from geo.sectors import METHODS, SectorError, circle_area, parse_latlng, polygon_from_geojson
from layers.i18n import N_, _, value_label
from layers.services.exports.sar import export_text
from layers.services.exports.sar_sheets import write_plan_sheets

TITLE = N_("SAR planning")
EMPTY = {"type": "FeatureCollection", "features": []}
SOURCES = (("drawn", N_("drawn polygon")), ("datum", N_("datum + radius")), ("event", N_("distress event")))
EXPORTS = (("geojson", "GeoJSON"), ("kml", "KML"), ("gpx", "GPX"), ("csv", "CSV"), ("pdf", N_("PDF sheets")))


class SarId(StrEnum):
    """Component ids of the SAR panel."""

    DRAW = "sar-draw"
    PREVIEW = "sar-preview"
    HIGHLIGHT = "sar-highlight"
    SOURCE = "sar-source"
    DATUM = "sar-datum"
    RADIUS = "sar-radius"
    EVENT = "sar-event"
    METHOD = "sar-method"
    ROTATE = "sar-rotate"
    SIZE = "sar-size"
    POA = "sar-poa"
    REST = "sar-rest"
    NAME = "sar-name"
    PREVIEW_BTN = "sar-preview-btn"
    SAVE_BTN = "sar-save-btn"
    NEW_MSG = "sar-new-msg"
    PLAN = "sar-plan"
    SUMMARY = "sar-summary"
    TABLE = "sar-table"
    SEEN = "sar-seen"
    TEAM = "sar-team"
    STATUS = "sar-status"
    SECTOR_BTN = "sar-sector-btn"
    SWEEP = "sar-sweep"
    SPACING = "sar-spacing"
    LENGTH = "sar-length"
    SORTIE_BTN = "sar-sortie-btn"
    PLAN_MSG = "sar-plan-msg"
    DOWNLOAD = "sar-download"
    EXPORT = "sar-export"
    ROLE_NOTE = "sar-role-note"


# -- plain functions (tested directly) ------------------------------------------------------------
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
) -> tuple[dict[str, Any], float, str]:
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
    return {"type": "FeatureCollection", "features": features}, max(poas), text


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


def _view(store: Store, plan_id: str | None) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    if not plan_id:
        return [], _("No plan selected: draw a search area and save a plan, or pick one above."), {}
    plan = load_plan(store, plan_id)
    return table_rows(plan), summary_text(plan), {"plan_id": plan.id, "version": plan.version}


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
) -> tuple[list[dict[str, Any]], str, dict[str, Any], str, str]:
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
        rows, text, new_seen = _view(store, plan_id)
        return rows, text, new_seen, str(exc), "sar-message error"
    return (
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


def clicked_plan(feature: dict[str, Any] | None) -> tuple[Any, Any]:
    """Return (plan id, selected sector ids) for a SAR zone clicked on the map; no change for other zones."""
    props = (feature or {}).get("properties") or {}
    if props.get("kind") == "sector" and props.get("parent_id") and props.get("label"):
        return props["parent_id"], [props["id"]]
    if props.get("kind") == "search_area" and props.get("id"):
        return props["id"], []
    return no_update, no_update


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
        payload = dcc.send_bytes(buf.getvalue(), f"{stem}-sheets.pdf")
    else:
        payload = dcc.send_string(export_text(plan, fmt), f"{stem}.{fmt}")
    detail = {"plan_id": plan.id, "version": plan.version, "file": payload["filename"]}
    audit_log.note(store, "export", f"sar_{fmt}", detail, who=user.name)
    return payload


EDIT_CONTROLS = (
    SarId.PREVIEW_BTN,
    SarId.SAVE_BTN,
    SarId.SECTOR_BTN,
    SarId.SORTIE_BTN,
    SarId.DATUM,
    SarId.RADIUS,
    SarId.EVENT,
    SarId.SIZE,
    SarId.REST,
    SarId.NAME,
    SarId.TEAM,
    SarId.STATUS,
    SarId.SWEEP,
    SarId.SPACING,
    SarId.LENGTH,
)
NO_DRAW = {
    "polyline": False,
    "marker": False,
    "circle": False,
    "circlemarker": False,
    "polygon": False,
    "rectangle": False,
}


def role_state(user: User | None) -> tuple[Any, ...]:
    """Return (role note, draw tools, then ``disabled`` per EDIT_CONTROLS, then per export button) for ``user``.

    A convenience for the eye: every callback checks the permission again on the server.
    """
    editor = can(user, EDIT_SAR)
    note = denied_text(user, EDIT_SAR)
    if not can(user, EXPORT_DATA):
        note = (note + " " if note else "") + denied_text(user, EXPORT_DATA)
    draw = no_update if editor else NO_DRAW
    return (note, draw, *[not editor] * len(EDIT_CONTROLS), [not can(user, EXPORT_DATA)] * len(EXPORTS))


# -- layout ---------------------------------------------------------------------------------------
def map_children(settings: AppSettings) -> list[Any]:
    """Return the panel's map layers: the draw control, the sector preview and the selected-sector highlight."""
    draw = {
        "polyline": False,
        "marker": False,
        "circle": False,
        "circlemarker": False,
        "polygon": True,
        "rectangle": True,
    }
    return [
        dl.Pane(name="hbm-sar-plan", style={"zIndex": 450}),
        dl.FeatureGroup([dl.EditControl(id=SarId.DRAW, draw=draw, edit={"edit": False}, position="topleft")]),
        dl.GeoJSON(
            id=SarId.PREVIEW,
            data=EMPTY,
            pane="hbm-sar-plan",
            style={"variable": "hbmSar.preview"},
            onEachFeature={"variable": "hbmSar.label"},
            hideout={"max": 1},
            interactive=False,
        ),
        dl.GeoJSON(
            id=SarId.HIGHLIGHT,
            data=EMPTY,
            pane="hbm-sar-plan",
            style={"variable": "hbmSar.highlight"},
            interactive=False,
        ),
    ]


def _field(label: str, component: Any) -> html.Div:
    target = getattr(component, "id", None) or component.children.id  # a radio group names its radios
    return html.Div([html.Label(_(label), htmlFor=target, className="hbm-field-label"), component])


def _input(cid: str, value: Any = None, placeholder: str = "", kind: Any = "text") -> dcc.Input:
    placeholder = _(placeholder) if placeholder and not placeholder[0].isdigit() else placeholder
    return dcc.Input(
        id=cid,
        type=kind,
        value=value,
        placeholder=placeholder,
        className="hbm-input",
        debounce=False,
        autoComplete="off",
    )


def layout(settings: AppSettings) -> html.Div:
    """Return the panel: new-plan form, plan picker, summary table, sector/sortie forms and exports."""
    percent = Format(precision=3, scheme=Scheme.fixed)
    columns = [
        {"name": _("Sector"), "id": "label"},
        {"name": _("km²"), "id": "area_km2", "type": "numeric", "format": Format(precision=1, scheme=Scheme.fixed)},
        {"name": "POA", "id": "poa", "type": "numeric", "format": percent},
        {"name": _("cum POD"), "id": "cum_pod", "type": "numeric", "format": percent},
        {"name": "POS", "id": "pos", "type": "numeric", "format": percent},
        {"name": _("Team"), "id": "team"},
        {"name": _("Status"), "id": "status_label"},  # the stored value stays in "status"
    ]
    new_plan = html.Div(
        [
            radio_group(
                _("Search area from"),
                dcc.RadioItems(
                    id=SarId.SOURCE,
                    options=[{"label": _(lab), "value": val} for val, lab in SOURCES],
                    value="drawn",
                    className="hbm-seg",
                    inline=True,
                ),
            ),
            html.Div(
                _("Draw a polygon or rectangle with the tools at the top left of the map."), className="hbm-muted"
            ),
            html.Div(
                [
                    _field(N_("Datum LAT,LON"), _input(SarId.DATUM, placeholder="1.42,30.71")),
                    _field(N_("Radius km"), _input(SarId.RADIUS, placeholder="10", kind="number")),
                ],
                className="sar-row",
            ),
            _field(N_("Distress event id"), _input(SarId.EVENT, placeholder=N_("event id"))),
            html.Div(
                [
                    _field(
                        N_("Method"),
                        radio_group(
                            _("Sectoring method"),
                            dcc.RadioItems(
                                id=SarId.METHOD,
                                options=[{"label": "H3" if m == "h3" else _("grid"), "value": m} for m in METHODS],
                                value="grid",
                                className="hbm-seg",
                                inline=True,
                            ),
                        ),
                    ),
                    _field(N_("Sector km²"), _input(SarId.SIZE, value=25, kind="number")),
                ],
                className="sar-row",
            ),
            dcc.Checklist(
                id=SarId.ROTATE,
                options=[{"label": " " + _("grid along the area's main axis"), "value": "on"}],
                value=["on"],
                className="hbm-check sar-check",
            ),
            html.Div(
                [
                    _field(
                        N_("POA"),
                        radio_group(
                            _("POA from"),
                            dcc.RadioItems(
                                id=SarId.POA,
                                options=[
                                    {"label": _("uniform") if m == "uniform" else _("events"), "value": m}
                                    for m in POA_MODES
                                ],
                                value="uniform",
                                className="hbm-seg",
                                inline=True,
                            ),
                        ),
                    ),
                    _field(N_("Rest of world %"), _input(SarId.REST, value=0, kind="number")),
                ],
                className="sar-row",
            ),
            _field(N_("Plan name"), _input(SarId.NAME, placeholder=N_("e.g. Boat missing off Kasenyi"))),
            html.Div(id=SarId.ROLE_NOTE, className="sar-message", role="status"),
            html.Div(
                [
                    html.Button(_("Preview sectors"), id=SarId.PREVIEW_BTN, className="hbm-button"),
                    html.Button(_("Save plan"), id=SarId.SAVE_BTN, className="hbm-button"),
                ],
                className="sar-buttons",
            ),
            html.Div(id=SarId.NEW_MSG, className="sar-message", role="alert"),
        ]
    )
    plan_view = html.Div(
        [
            _field(
                N_("Plan"),
                dcc.Dropdown(id=SarId.PLAN, options=[], value=None, placeholder=_("Pick a saved plan")),
            ),
            html.Div(id=SarId.SUMMARY, className="sar-summary", **{"aria-live": "polite"}),  # type: ignore[arg-type]
            dash_table.DataTable(  # type: ignore[attr-defined]
                id=SarId.TABLE,
                columns=columns,
                data=[],
                sort_action="native",
                row_selectable="single",
                selected_row_ids=[],
                # Fits the side panel: team and status stay on screen, wrapped rather than scrolled (issue 12).
                style_table={"overflowX": "auto", "width": "100%", "maxWidth": "100%"},
                style_cell={
                    "backgroundColor": "#0e1620",
                    "color": "#e8eef4",
                    "border": "1px solid #223244",
                    "padding": "2px 3px",
                    "minWidth": "0px",
                    "width": "auto",
                    "maxWidth": "80px",
                    "whiteSpace": "normal",
                    "fontSize": "12px",
                },
                style_header={"backgroundColor": "#1f2f40", "fontWeight": "bold", "whiteSpace": "normal"},
                css=[
                    {"selector": ".dash-spreadsheet-menu", "rule": "display: none"},
                    {"selector": "table", "rule": "table-layout: fixed; width: 100% !important"},
                ],
                cell_selectable=False,
                editable=False,  # edits go through the forms below, which check edit_sar on the server
            ),
            html.Div(
                [
                    html.Div(
                        [
                            _field(
                                N_("Team or asset"),
                                _input(SarId.TEAM, placeholder=N_("e.g. Marine Police boat MP-3")),
                            ),
                            _field(
                                N_("Status"),
                                dcc.Dropdown(
                                    id=SarId.STATUS,
                                    options=[{"label": value_label(s), "value": s} for s in SAR_STATUSES],
                                    value="planned",
                                    clearable=False,
                                    style={},
                                ),
                            ),
                        ],
                        className="sar-row",
                    ),
                    html.Button(_("Save sector"), id=SarId.SECTOR_BTN, className="hbm-button"),
                ],
                className="sar-section",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            _field(N_("Sweep width m"), _input(SarId.SWEEP, kind="number")),
                            _field(N_("Track spacing m"), _input(SarId.SPACING, kind="number")),
                            _field(N_("or track km"), _input(SarId.LENGTH, kind="number")),
                        ],
                        className="sar-row",
                    ),
                    html.Button(_("Record sortie"), id=SarId.SORTIE_BTN, className="hbm-button"),
                ],
                className="sar-section",
            ),
            html.Div(id=SarId.PLAN_MSG, className="sar-message", role="alert"),
            html.Div(
                [
                    html.Button(_(label), id={"type": SarId.EXPORT.value, "fmt": fmt}, className="hbm-button")
                    for fmt, label in EXPORTS
                ],
                className="sar-buttons sar-section",
            ),
            dcc.Download(id=SarId.DOWNLOAD),
            dcc.Store(id=SarId.SEEN, data={}),
        ],
        className="sar-table",
    )
    return html.Div([new_plan, html.Div(plan_view, className="sar-section")])


# -- callbacks ------------------------------------------------------------------------------------
FORM_STATES = (
    State(SarId.SOURCE, "value"),
    State(SarId.DRAW, "geojson"),
    State(SarId.DATUM, "value"),
    State(SarId.RADIUS, "value"),
    State(SarId.EVENT, "value"),
    State(SarId.METHOD, "value"),
    State(SarId.ROTATE, "value"),
    State(SarId.SIZE, "value"),
    State(SarId.POA, "value"),
    State(SarId.REST, "value"),
    State(SarId.NAME, "value"),
)


def _form(*values: Any) -> dict[str, Any]:
    keys = ("source", "drawn", "datum", "radius", "event", "method", "rotate", "size", "poa", "rest", "name")
    form = dict(zip(keys, values, strict=True))
    form["rotate"] = "on" in (form["rotate"] or [])
    return form


def register(app: Dash, store: Store, settings: AppSettings) -> None:
    """Attach the SAR panel's callbacks."""

    @app.callback(
        Output(SarId.ROLE_NOTE, "children"),
        Output(SarId.DRAW, "draw"),
        *[Output(cid, "disabled") for cid in EDIT_CONTROLS],
        Output({"type": SarId.EXPORT.value, "fmt": ALL}, "disabled"),
        Input(SarId.ROLE_NOTE, "id"),
    )
    def _role(_note: str) -> tuple[Any, ...]:
        return role_state(current_user())

    @app.callback(
        Output(SarId.PREVIEW, "data"),
        Output(SarId.PREVIEW, "hideout"),
        Output(SarId.NEW_MSG, "children"),
        Output(SarId.NEW_MSG, "className"),
        Input(SarId.PREVIEW_BTN, "n_clicks"),
        *FORM_STATES,
        prevent_initial_call=True,
    )
    def _preview(_n: int | None, *values: Any) -> tuple[Any, ...]:
        try:
            data, top, text = preview_geojson(store, _form(*values), current_user())
        except HbmError as exc:
            return EMPTY, no_update, str(exc), "sar-message error"
        return data, {"max": top}, _("Preview: {summary}. Save to share it.").format(summary=text), "sar-message ok"

    @app.callback(
        Output(SarId.NEW_MSG, "children", allow_duplicate=True),
        Output(SarId.NEW_MSG, "className", allow_duplicate=True),
        Output(SarId.PREVIEW, "data", allow_duplicate=True),
        Output(SarId.PLAN, "options"),
        Output(SarId.PLAN, "value"),
        Output(SarId.DRAW, "editToolbar"),
        Input(SarId.SAVE_BTN, "n_clicks"),
        *FORM_STATES,
        prevent_initial_call=True,
    )
    def _save(n: int | None, *values: Any) -> tuple[Any, ...]:
        try:
            plan_id = save_new_plan(store, _form(*values), current_user())
            plan = load_plan(store, plan_id)
        except HbmError as exc:
            return str(exc), "sar-message error", no_update, no_update, no_update, no_update
        clear = {"mode": "remove", "action": "clear all", "n_clicks": n or 0}
        text = _("Saved plan {name} ({n} sectors, id {id}): visible to every session.").format(
            name=plan.name, n=len(plan.sectors), id=plan.id
        )
        return text, "sar-message ok", EMPTY, plan_options(store), plan.id, clear

    @app.callback(
        Output(SarId.PLAN, "options", allow_duplicate=True),
        Output(SarId.PLAN, "value", allow_duplicate=True),
        Input(Id.SAR_ZONES, "data"),
        State(SarId.PLAN, "value"),
        prevent_initial_call="initial_duplicate",
    )
    def _plans(_layer: Any, current: str | None) -> tuple[Any, Any]:
        try:
            options = plan_options(store)
        except HbmError:
            return no_update, no_update
        ids = [o["value"] for o in options]
        return options, current if current in ids else (ids[0] if ids else None)

    @app.callback(
        Output(SarId.TABLE, "data"),
        Output(SarId.SUMMARY, "children"),
        Output(SarId.SEEN, "data"),
        Input(SarId.PLAN, "value"),
        Input(Id.SAR_ZONES, "data"),
    )
    def _table(plan_id: str | None, _layer: Any) -> tuple[Any, ...]:
        try:
            return _view(store, plan_id)
        except HbmError as exc:
            return [], str(exc), {}

    @app.callback(
        Output(SarId.TABLE, "data", allow_duplicate=True),
        Output(SarId.SUMMARY, "children", allow_duplicate=True),
        Output(SarId.SEEN, "data", allow_duplicate=True),
        Output(SarId.PLAN_MSG, "children"),
        Output(SarId.PLAN_MSG, "className"),
        Input(SarId.SECTOR_BTN, "n_clicks"),
        Input(SarId.SORTIE_BTN, "n_clicks"),
        State(SarId.SEEN, "data"),
        State(SarId.TABLE, "selected_row_ids"),
        State(SarId.TEAM, "value"),
        State(SarId.STATUS, "value"),
        State(SarId.SWEEP, "value"),
        State(SarId.SPACING, "value"),
        State(SarId.LENGTH, "value"),
        prevent_initial_call=True,
    )
    def _edit(_a: Any, _b: Any, seen: Any, selected: Any, *values: Any) -> tuple[Any, ...]:
        action = "sector" if ctx.triggered_id == SarId.SECTOR_BTN else "sortie"
        team, status, sweep, spacing, length = values
        user = current_user()
        who = user.name if user else "dashboard"
        try:
            return edit_plan(store, action, seen, selected, team, status, sweep, spacing, length, who=who, user=user)
        except HbmError as exc:
            return no_update, no_update, no_update, str(exc), "sar-message error"

    @app.callback(
        Output(SarId.TEAM, "value"),
        Output(SarId.STATUS, "value"),
        Input(SarId.TABLE, "selected_row_ids"),
        State(SarId.TABLE, "data"),
    )
    def _select(selected: list[str] | None, rows: list[dict[str, Any]] | None) -> tuple[Any, ...]:
        row = next((r for r in rows or [] if selected and r["id"] == selected[0]), None)
        if row is None:
            return no_update, no_update
        return row.get("team") or "", row.get("status") or "planned"

    @app.callback(
        Output(SarId.HIGHLIGHT, "data"),
        Input(SarId.TABLE, "selected_row_ids"),
        Input(SarId.SEEN, "data"),
    )
    def _highlight(selected: list[str] | None, seen: Any) -> Any:
        return highlight(store, seen, selected)

    @app.callback(
        Output(SarId.PLAN, "value", allow_duplicate=True),
        Output(SarId.TABLE, "selected_row_ids"),
        Input(Id.SAR_ZONES, "clickData"),
        prevent_initial_call=True,
    )
    def _clicked(feature: dict[str, Any] | None) -> tuple[Any, Any]:
        return clicked_plan(feature)

    @app.callback(
        Output(SarId.DOWNLOAD, "data"),
        Output(SarId.PLAN_MSG, "children", allow_duplicate=True),
        Input({"type": SarId.EXPORT.value, "fmt": ALL}, "n_clicks"),
        State(SarId.PLAN, "value"),
        prevent_initial_call=True,
    )
    def _export(clicks: list[int | None], plan_id: str | None) -> tuple[Any, Any]:
        if not any(clicks) or not isinstance(ctx.triggered_id, dict):
            return no_update, no_update
        if not plan_id:
            return no_update, _("Pick a plan to export.")
        try:
            return export_plan(store, plan_id, ctx.triggered_id["fmt"], settings.synthetic, current_user()), ""
        except HbmError as exc:
            return no_update, str(exc)
