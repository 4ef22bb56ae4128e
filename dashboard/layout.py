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
from layers.context import (
    CONTEXT_ATTRIBUTION,
    country_labels_geojson,
    lakes_geojson,
    places_geojson,
    rivers_geojson,
)
from layers.features import LAYERS
from layers.i18n import _
from layers.pmtiles_archive import read_pmtiles_header
from layers.styles import STYLES, dash_gradient, legend_entries, translucent
from layers.view import DEFAULT_WINDOW, WINDOWS

EMPTY = {"type": "FeatureCollection", "features": []}
STYLE_FN = {"variable": "hbm.style"}
# Hotspots (canvas, many cells) at the bottom; SAR zones and routes above as SVG, which lets clicks
# through except on their shapes (dashboard/assets/hbm.js), so every layer can be clicked (issue 12).
PANES = {"hotspots": 405, "sar_zones": 410, "routes": 420, "crossing_points": 630}
LAYER_ORDER = ("hotspots", "sar_zones", "routes", "crossing_points")
# Side panels open at start: only the one an operator must not miss; the others open on a click.
OPEN_PANELS = ("dashboard.panels.alerts",)


def _swatch(style: dict[str, Any]) -> html.Span:
    if style.get("line"):
        return html.Span(
            className="sw-line",
            style={
                "height": f"{style.get('weight', 3)}px",
                "background": dash_gradient(style["color"], style.get("dashArray")),
            },
        )
    if style.get("outline"):  # drawn as an outline only (e.g. cells with 0 in the window)
        return html.Span(className="sw sw-outline", style={"borderColor": style.get("color", "#ccc")})
    shape = style.get("shape")
    cls = f"sw sw-{shape}" if shape else "sw"
    fill = style.get("fillColor", "#ccc")
    if "fillOpacity" in style:  # the same translucency as the map's fill (issue 12)
        fill = translucent(fill, float(style["fillOpacity"]))
    return html.Span(className=cls, style={"background": fill})


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
        sections.append(html.Div([html.H4(title), *rows], className=f"hbm-legend-section hbm-legend-{name}"))
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
    if name == "sar_zones":
        props["onEachFeature"] = {"variable": "hbm.sarZone"}
    return dl.Overlay(dl.GeoJSON(**props), name=_(LAYERS[name].title), checked=True)


def initial_zoom(region: tuple[float, float, float, float], width_px: int = 1100, height_px: int = 760) -> int:
    """Return the largest zoom at which ``region`` fits a typical wall-screen map panel."""
    w, s, e, n = region
    for zoom in range(12, 1, -1):
        deg_per_px = 360.0 / (256 * 2**zoom)
        if (e - w) / deg_per_px <= width_px and (n - s) / deg_per_px <= height_px * 0.95:
            return zoom
    return 2


CONTEXT_PANES = {"hbm-water": 402, "hbm-country-labels": 612, "hbm-places": 620}
PMTILES_PATH = "/hbm-basemap.pmtiles"  # served by dashboard.app with byte ranges, behind sign-in
PMTILES_SCRIPTS = {True: "/assets/vendor/protomaps-leaflet.js", False: "/assets/vendor/pmtiles.js"}


def context_layers(settings: AppSettings) -> list[Any]:
    """Return the offline context: lakes, rivers, towns by zoom and population, country names."""
    region = settings.region
    context: list[Any] = [dl.Pane(name=name, style={"zIndex": z}) for name, z in CONTEXT_PANES.items()]
    water = {"pane": "hbm-water", "interactive": False}
    context += [
        dl.GeoJSON(id="context-lakes", data=lakes_geojson(region), style={"variable": "hbm.lakeStyle"}, **water),
        dl.GeoJSON(id="context-rivers", data=rivers_geojson(region), style={"variable": "hbm.riverStyle"}, **water),
        dl.GeoJSON(
            id="context-countries",
            data=country_labels_geojson(region),
            pointToLayer={"variable": "hbm.countryLabel"},
            interactive=False,
        ),
        dl.GeoJSON(
            id="context-places",
            data=places_geojson(region),
            pointToLayer={"variable": "hbm.placePoint"},
            interactive=False,
            attribution=_(CONTEXT_ATTRIBUTION),
        ),
    ]
    return context


def pmtiles_basemap(settings: AppSettings) -> dl.GeoJSON:
    """Return the operator's PMTiles basemap: one feature whose pointToLayer (context.js) draws the archive."""
    info = read_pmtiles_header(str(settings.basemap_pmtiles))
    props = {
        "url": PMTILES_PATH,
        "vector": info.is_vector,
        "script": PMTILES_SCRIPTS[info.is_vector],
        "maxzoom": info.max_zoom,
        "attribution": _(settings.basemap_pmtiles_attribution),
    }
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]}, "properties": props}
    return dl.GeoJSON(
        id="basemap-pmtiles",
        data={"type": "FeatureCollection", "features": [feature]},
        pointToLayer={"variable": "hbm.pmtilesLayer"},
        interactive=False,
    )


def map_component(settings: AppSettings) -> dl.MapContainer:
    """Return the map: offline basemap, optional tiles, and the four layers in a LayersControl."""
    w, s, e, n = settings.region
    children: list[Any] = [dl.Pane(name=f"hbm-{name}", style={"zIndex": z}) for name, z in PANES.items()]
    if settings.basemap_pmtiles:
        children.append(pmtiles_basemap(settings))
    elif settings.tile_url:
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
        children.extend(context_layers(settings))
    children.append(
        dl.LayersControl(
            [_layer(name) for name in LAYER_ORDER],
            position="topright",
            collapsed=False,
            id=Id.LAYERS_CONTROL,
            # Known from the start: dash-leaflet's "overlayremove" filters this list and threw
            # "reading 'filter'" on every untick while it was still undefined (issue 12).
            overlays=[LAYERS[name].title for name in LAYER_ORDER],
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


def radio_group(label: str, radios: dcc.RadioItems) -> html.Div:
    """Return ``radios`` inside a named radio group, so assistive technology announces what they choose."""
    return html.Div(radios, className="hbm-radiogroup", **{"data-label": label})  # named in hbm.js


def _segmented(component_id: str, options: list[tuple[str, str]], value: str, label: str = "") -> html.Div:
    radios = dcc.RadioItems(
        id=component_id,
        options=[{"label": lab, "value": val} for val, lab in options],
        value=value,
        className="hbm-seg",
        inline=True,
    )
    return radio_group(label or component_id, radios)


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
            _segmented(Id.WINDOW, windows, DEFAULT_WINDOW, _("Time window")),
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
            _segmented(Id.METRIC, [("events", _("events")), ("people", _("people"))], "events", _("Hotspots by")),
            html.Label(_("Colour by"), htmlFor=Id.STATISTIC),
            _segmented(
                Id.STATISTIC,
                [("count", _("count")), ("change", _("change")), ("gi", "Gi*"), ("emerging", _("trend"))],
                "count",
                _("Colour by"),
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
                style={"width": "160px"},
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
        id=Id.APP,
        children=[
            dcc.Location(id=Id.WALL_LOCATION, refresh=False),
            html.Div(
                className="hbm-header",
                children=[
                    html.Span(_(settings.title), className="hbm-title"),
                    *badge,
                    *header_items(settings),  # "DEMO — no login", or the signed-in user and Log out (issue 7)
                    language_selector(),
                    html.Span(id=Id.ALERT_BADGE, className="hbm-alert-badge", role="status"),
                    html.Button(
                        _("Wall mode"),
                        id=Id.WALL_TOGGLE,
                        className="hbm-button hbm-wall-toggle",
                        n_clicks=0,
                        title=_("Wall screen: large type, map and legend only (or open the page with ?wall=1)"),
                        **{"aria-pressed": "false"},
                    ),
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
                    html.Div(
                        [
                            map_component(settings),
                            # Over the map, so it is in view whatever the side panel holds (issue 12).
                            html.Details(
                                [html.Summary(_("Legend")), legend()],
                                open=True,
                                className="hbm-legend-box",
                                id="legend-box",
                            ),
                        ],
                        className="hbm-map",
                    ),
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
                                    id=f"panel-{panel.__name__.rsplit('.', 1)[-1]}",
                                    open=panel.__name__ in OPEN_PANELS,
                                )
                                for panel in load_panels()
                            ],
                        ],
                    ),
                ],
            ),
            html.Div(
                className="hbm-footer",
                children=[
                    _(ATTRIBUTION) + ". " + _(CONTEXT_ATTRIBUTION) + ". "
                    + (_("All data shown is SYNTHETIC (demo generator).") if settings.synthetic else ""),
                ],
            ),
            client_strings(),  # Leaflet's own texts in this page's language (assets/i18n.js)
            dcc.Interval(id=Id.INTERVAL, interval=int(settings.refresh_seconds * 1000)),
            dcc.Store(id=Id.CLIENT_STATE, data={}),
            dcc.Store(id=Id.PLAYBACK_STATE, data={"active": False}),
        ],
    )
