"""The page: header with status and controls, the map with its four layers, a side panel."""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashboard.auth import header_items
from dashboard.i18n import client_strings, language_selector
from dashboard.ids import LAYER_IDS, Id
from dashboard.panels import load_panels
from dashboard.settings import AppSettings
from layers.basemap import ATTRIBUTION, basemap_geojson
from layers.features import LAYERS
from layers.i18n import _
from layers.styles import STYLES, legend_entries
from layers.view import DEFAULT_WINDOW, WINDOWS

EMPTY = {"type": "FeatureCollection", "features": []}
STYLE_FN = {"variable": "hbm.style"}
PANES = {"sar_zones": 405, "hotspots": 410, "routes": 420, "crossing_points": 630}
LAYER_ORDER = ("sar_zones", "hotspots", "routes", "crossing_points")


def _swatch(style: dict[str, Any]) -> html.Span:
    if style.get("line"):
        border = "dashed" if style.get("dashArray") else "solid"
        return html.Span(
            className="sw-line",
            style={
                "borderTopWidth": f"{style.get('weight', 3)}px",
                "borderTopColor": style["color"],
                "borderTopStyle": border,
            },
        )
    shape = style.get("shape")
    cls = f"sw sw-{shape}" if shape else "sw"
    return html.Span(className=cls, style={"background": style.get("fillColor", "#ccc")})


def legend_rows(entries: list[tuple[str, dict[str, Any]]]) -> list[html.Div]:
    """Return one legend row (swatch and label) per ``(label, style)`` entry."""
    return [html.Div([_swatch(style), html.Span(label)], className="hbm-legend-row") for label, style in entries]


def legend() -> html.Div:
    """Return the legend: one section per layer, built from the same styles the map uses."""
    sections = []
    for name in reversed(LAYER_ORDER):
        title: Any = _(LAYERS[name].title)
        rows: Any = legend_rows(legend_entries(name))
        if name == "hotspots":
            title = html.Span(id=Id.HOTSPOT_LEGEND_TITLE, children=_("Hotspots: events per H3 cell"))
            rows = [html.Div(rows, id=Id.HOTSPOT_LEGEND)]
        sections.append(html.Div([html.H4(title), *rows], className="hbm-legend-section"))
    return html.Div(sections, id=Id.LEGEND)


def _layer(name: str) -> dl.Overlay:
    props: dict[str, Any] = {
        "id": LAYER_IDS[name],
        "data": EMPTY,
        "pane": f"hbm-{name}",
        "hideout": {"styles": STYLES},
        "style": STYLE_FN,
    }
    if name == "crossing_points":
        props["pointToLayer"] = {"variable": "hbm.crossingPoint"}
    return dl.Overlay(dl.GeoJSON(**props), name=_(LAYERS[name].title), checked=True)


def initial_zoom(region: tuple[float, float, float, float], width_px: int = 1100, height_px: int = 760) -> int:
    """Return the largest zoom at which ``region`` fits a typical wall-screen map panel."""
    w, s, e, n = region
    for zoom in range(12, 1, -1):
        deg_per_px = 360.0 / (256 * 2**zoom)
        if (e - w) / deg_per_px <= width_px and (n - s) / deg_per_px <= height_px * 0.95:
            return zoom
    return 2


def map_component(settings: AppSettings) -> dl.MapContainer:
    """Return the map: offline basemap, optional tiles, and the four layers in a LayersControl."""
    w, s, e, n = settings.region
    children: list[Any] = [dl.Pane(name=f"hbm-{name}", style={"zIndex": z}) for name, z in PANES.items()]
    if settings.tile_url:
        children.append(dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution))
    else:
        children.append(
            dl.GeoJSON(
                id=Id.BASEMAP,
                data=basemap_geojson(settings.region),
                style={"variable": "hbm.basemapStyle"},
                interactive=False,
                attribution=_(ATTRIBUTION),
            )
        )
    children.append(
        dl.LayersControl(
            [_layer(name) for name in LAYER_ORDER], position="topright", collapsed=False, id=Id.LAYERS_CONTROL
        )
    )
    for panel in load_panels():  # panels may add map layers/controls (dashboard/panels docstring)
        if hasattr(panel, "map_children"):
            children.extend(panel.map_children(settings))
    children.append(dl.ScaleControl(position="bottomleft", imperial=False))
    return dl.MapContainer(
        id=Id.MAP,
        children=children,
        center=[(s + n) / 2, (w + e) / 2],
        zoom=initial_zoom(settings.region),
        preferCanvas=True,
        keyboard=True,
        style={"height": "100%", "width": "100%"},
        trackViewport=True,
    )


def _segmented(component_id: str, options: list[tuple[str, str]], value: str) -> dcc.RadioItems:
    return dcc.RadioItems(
        id=component_id,
        options=[{"label": lab, "value": val} for val, lab in options],
        value=value,
        className="hbm-seg",
        inline=True,
    )


def controls() -> html.Div:
    """Return the time window, metric and resolution controls (all keyboard reachable)."""
    windows = [(w, w) for w in WINDOWS] + [("custom", _("custom"))]
    resolutions = [{"label": _("auto (zoom)"), "value": "auto"}] + [
        {"label": _("res {r}").format(r=r), "value": str(r)} for r in range(4, 10)
    ]
    return html.Div(
        className="hbm-controls",
        children=[
            html.Label(_("Window"), htmlFor=Id.WINDOW),
            _segmented(Id.WINDOW, windows, DEFAULT_WINDOW),
            html.Span(
                id=Id.CUSTOM_BOX,
                style={"display": "none"},
                children=[
                    dcc.Input(
                        id=Id.CUSTOM_START,
                        type="text",
                        placeholder=_("from YYYY-MM-DD HH:MM"),
                        debounce=True,
                    ),
                    dcc.Input(id=Id.CUSTOM_END, type="text", placeholder=_("to (blank = now)"), debounce=True),
                ],
            ),
            html.Label(_("Hotspots by"), htmlFor=Id.METRIC),
            _segmented(Id.METRIC, [("events", _("events")), ("people", _("people"))], "events"),
            html.Label(_("Colour by"), htmlFor=Id.STATISTIC),
            _segmented(
                Id.STATISTIC,
                [("count", _("count")), ("change", _("change")), ("gi", "Gi*"), ("emerging", _("trend"))],
                "count",
            ),
            dcc.Checklist(
                id=Id.SUPPRESS,
                options=[{"label": " " + _("merge cells under k people"), "value": "on"}],
                value=[],
                className="hbm-check",
            ),
            html.Label(_("H3 resolution"), htmlFor=Id.RESOLUTION),
            dcc.Dropdown(
                id=Id.RESOLUTION,
                options=resolutions,
                value="auto",
                clearable=False,
                searchable=False,
                style={"width": "160px", "color": "#111"},
            ),
            html.Span(id=Id.VIEW_ERROR, className="hbm-view-error", role="alert"),
        ],
    )


def build_layout(settings: AppSettings) -> html.Div:
    """Return the whole page."""
    aria_live: dict[str, Any] = {"aria-live": "polite"}
    badge = [html.Span(_("SYNTHETIC DEMO DATA"), className="hbm-synthetic")] if settings.synthetic else []
    return html.Div(
        className="hbm-app",
        children=[
            html.Div(
                className="hbm-header",
                children=[
                    html.Span(_(settings.title), className="hbm-title"),
                    *badge,
                    *header_items(settings),  # "DEMO — no login", or the signed-in user and Log out (issue 7)
                    language_selector(),
                    html.Span(id=Id.ALERT_BADGE, className="hbm-alert-badge", role="status"),
                    html.Span(
                        id=Id.STATUS,
                        className="hbm-status",
                        children=_("Loading…"),
                        **aria_live,
                    ),
                ],
            ),
            html.Div(className="hbm-header hbm-toolbar", children=[controls()]),
            html.Div(id=Id.BANNER, className="hbm-banner", role="alert"),
            html.Div(
                className="hbm-main",
                children=[
                    html.Div(map_component(settings), className="hbm-map"),
                    html.Div(
                        className="hbm-side",
                        children=[
                            html.H3(_("Selected")),
                            html.Div(
                                id=Id.DETAILS,
                                className="hbm-details",
                                children=_("Click a crossing point, route, hotspot cell or SAR zone."),
                            ),
                            *[
                                html.Details(
                                    [html.Summary(_(panel.TITLE)), panel.layout(settings)],
                                    className="hbm-panel",
                                    open=True,
                                )
                                for panel in load_panels()
                            ],
                            html.H3(_("Legend")),
                            legend(),
                        ],
                    ),
                ],
            ),
            html.Div(
                className="hbm-footer",
                children=[
                    _(ATTRIBUTION) + ". "
                    + (_("All data shown is SYNTHETIC (demo generator).") if settings.synthetic else ""),
                ],
            ),
            client_strings(),  # Leaflet's own texts in this page's language (assets/i18n.js)
            dcc.Interval(id=Id.INTERVAL, interval=int(settings.refresh_seconds * 1000)),
            dcc.Store(id=Id.CLIENT_STATE, data={}),
            dcc.Store(id=Id.PLAYBACK_STATE, data={"active": False}),
        ],
    )
