"""The SAR panel's components: the map's draw control and preview layers, and the side-panel form."""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import dash_table, dcc, html
from dash.dash_table.Format import Format, Scheme

from dashboard.layout import radio_group
from dashboard.panels.sar.ids import EMPTY, EXPORTS, SOURCES, SarId
from dashboard.settings import AppSettings
from data.sar_plans import POA_MODES
from data.schema import SAR_STATUSES
from geo.sectors import METHODS
from layers.i18n import N_, _, value_label


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

