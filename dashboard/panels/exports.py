"""Briefing exports panel and permalinks.

One click exports the current View (window, metric, statistic, resolution, the map's exact bounds and
zoom, the layers switched on) as PDF, PNG, offline HTML, GeoPackage, a briefing pack, GeoJSON, CSV or
KML, or downloads the View itself as JSON. Each export is audited with ``who``: the signed-in user
(``"dashboard"`` when called outside a web request).

Access (checked on the server, whatever the buttons show): PNG/PDF need ``export_image``; every other
format, including the offline HTML, the pack and the View JSON, needs ``export_data``. A user without
``raw`` exports the View clamped to ``HBM_VIEWER_MAX_RES`` and never raw event points.

Permalinks: the page URL's query string holds the View. On load it sets the controls, the layers and
the map viewport; as the View changes, the URL follows (``dcc.Location`` with ``refresh=False``).
"""

from __future__ import annotations

import base64
import io
import tempfile
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard.callbacks import bounds_to_bbox, parse_view
from dashboard.ids import LAYER_IDS, Id
from dashboard.layout import radio_group
from dashboard.permissions import (
    EXPORT_DATA,
    EXPORT_IMAGE,
    RAW,
    REQUEST_USER,
    User,
    acting_user,
    can,
    clamp_view,
    current_user,
    denied_text,
)
from dashboard.settings import AppSettings
from data.audit import record_export
from data.store import BBox, Store
from geo.errors import HbmError
from layers.features import LAYERS
from layers.i18n import N_, _
from layers.services.exports import EXTENSIONS, MEDIA_TYPES, run_export
from layers.services.exports.collect import Page
from layers.services.exports.settings import ExportSettings, load_export_settings
from layers.view import LAYER_NAMES, View
from layers.view_io import query_fields, view_from_query, view_to_dict, view_to_json, view_to_query

TITLE = N_("Briefing exports")
WHO = "dashboard"
VIEW_FORMAT = "view"
IMAGE_FORMATS = ("pdf", "png")
MAIN_BUTTONS = (("pdf", N_("PDF map")), ("png", N_("PNG map")), ("html", N_("Offline HTML")), ("gpkg", "GeoPackage"))
MORE_BUTTONS = (("pack", N_("Briefing pack")), ("geojson", "GeoJSON"), ("csv", "CSV"), ("kml", "KML"))
BBOX_DIGITS = 5
ARIA_LIVE: dict[str, Any] = {"aria-live": "polite"}
ROW_STYLE = {"display": "flex", "flexWrap": "wrap", "gap": "6px", "marginBottom": "6px"}
BUTTON_STYLE = {
    "background": "#0e1620",
    "color": "#e8eef4",
    "border": "1px solid #223244",
    "padding": "4px 8px",
    "cursor": "pointer",
    "fontSize": "14px",
}


class ExportId(StrEnum):
    """Component ids of the export panel and the permalink."""

    BUTTON = "export-button"  # dict ids: {"type": BUTTON, "format": fmt}
    PAGE = "export-page"
    ORIENTATION = "export-orientation"
    DPI = "export-dpi"
    STATUS = "export-status"
    DOWNLOAD = "export-download"
    LOCATION = "permalink"
    APPLIED = "permalink-applied"
    PENDING_LAYERS = "permalink-layers"  # layers to switch on once the LayersControl is ready
    SHOWN = "layers-shown"  # titles of the overlays switched on, reported by the browser (LAYERS_JS)
    LINK_STATUS = "permalink-status"


def _button(fmt: str, label: str) -> html.Button:
    return html.Button(
        _(label), id={"type": ExportId.BUTTON, "format": fmt}, className="hbm-export-btn", n_clicks=0,
        style=BUTTON_STYLE,
    )


def layout(settings: AppSettings) -> html.Div:
    """Return the export buttons, page options, progress/status line, the download and the permalink."""
    return html.Div(
        [
            html.Div([_button(f, label) for f, label in MAIN_BUTTONS], style=ROW_STYLE),
            html.Div([_button(f, label) for f, label in MORE_BUTTONS], style=ROW_STYLE),
            html.Div(
                [
                    radio_group(
                        _("Page size"),
                        dcc.RadioItems(
                            id=ExportId.PAGE,
                            options=[{"label": s, "value": s} for s in Page.SIZES_MM],
                            value="A4",
                            className="hbm-seg",
                            inline=True,
                        ),
                    ),
                    radio_group(
                        _("Orientation"),
                        dcc.RadioItems(
                            id=ExportId.ORIENTATION,
                            options=[{"label": _(o), "value": o} for o in (N_("landscape"), N_("portrait"))],
                            value="landscape",
                            className="hbm-seg",
                            inline=True,
                        ),
                    ),
                    radio_group(
                        _("PNG resolution"),
                        dcc.RadioItems(
                            id=ExportId.DPI,
                            options=[{"label": f"{d} dpi", "value": d} for d in (150, 300)],
                            value=150,
                            className="hbm-seg",
                            inline=True,
                        ),
                    ),
                ],
                style=ROW_STYLE,
                title=_("Page size and orientation (PDF/PNG/pack) and PNG resolution"),
            ),
            html.Div(_button(VIEW_FORMAT, N_("Download View JSON")), style=ROW_STYLE),
            dcc.Loading(
                html.Div(
                    id=ExportId.STATUS,
                    role="status",
                    style={"fontSize": "13px", "wordBreak": "break-word", "minHeight": "1.2em"},
                    **ARIA_LIVE,
                ),
                type="dot",
            ),
            html.Div(id=ExportId.LINK_STATUS, className="hbm-view-error", role="alert"),
            dcc.Download(id=ExportId.DOWNLOAD),
            dcc.Location(id=ExportId.LOCATION, refresh=False),
            dcc.Store(id=ExportId.APPLIED, data=False),
            dcc.Store(id=ExportId.PENDING_LAYERS, data=None),
            dcc.Store(id=ExportId.SHOWN, data=None),
        ]
    )


# -- the View on screen --------------------------------------------------------


def screen_bbox(bounds: Any) -> BBox | None:
    """Return the map's bounds as W,S,E,N clamped to the world and rounded to ~1 m, or None."""
    bbox = bounds_to_bbox(bounds)
    if bbox is None:
        return None
    w, s, e, n = bbox
    w, e = max(-180.0, min(180.0, w)), max(-180.0, min(180.0, e))
    s, n = max(-90.0, min(90.0, s)), max(-90.0, min(90.0, n))
    if not (w < e and s < n):
        return None
    return tuple(round(v, BBOX_DIGITS) for v in (w, s, e, n))  # type: ignore[return-value]


def overlays_to_layers(overlays: list[str] | None) -> frozenset[str]:
    """Return the layer names of the overlays shown (all layers when the browser has not reported yet)."""
    if overlays is None:
        return frozenset(LAYER_NAMES)
    titles = {LAYERS[name].title: name for name in LAYER_NAMES} | {_(LAYERS[name].title): name for name in LAYER_NAMES}
    return frozenset(titles[t] for t in overlays if t in titles)


def screen_view(
    settings: AppSettings,
    controls: dict[str, Any],
    now: datetime | None = None,
) -> View:
    """Return the View on screen: the controls' window and filters, the map's exact bounds, zoom and layers.

    ``controls`` holds window, custom_start, custom_end, metric, resolution, statistic, suppress, zoom,
    bounds and overlays (the titles of the overlays switched on).
    """
    now = now or datetime.now(UTC)
    view = parse_view(
        controls.get("window"),
        controls.get("custom_start"),
        controls.get("custom_end"),
        controls.get("metric"),
        controls.get("resolution"),
        controls.get("zoom"),
        controls.get("bounds"),
        settings,
        now,
        statistic=controls.get("statistic"),
        suppress=bool(controls.get("suppress")),
    )
    return replace(
        view,
        bbox=screen_bbox(controls.get("bounds")) or settings.region,
        layers=overlays_to_layers(controls.get("overlays")),
    )


# -- exports ---------------------------------------------------------------------


def _download(content: bytes, filename: str, media_type: str) -> dict[str, Any]:
    return {
        "content": base64.b64encode(content).decode("ascii"),
        "filename": filename,
        "type": media_type,
        "base64": True,
    }


def export_permission(fmt: str) -> str:
    """Return the permission an export format needs: maps need export_image, everything else export_data."""
    return EXPORT_IMAGE if fmt in IMAGE_FORMATS else EXPORT_DATA


def export_view(
    store: Store,
    settings: AppSettings,
    export_settings: ExportSettings,
    fmt: str,
    controls: dict[str, Any],
    page: Page | None = None,
    who: str = WHO,
    now: datetime | None = None,
    user: User | None = REQUEST_USER,
) -> tuple[Any, str]:
    """Return (dcc.Download data, one-line status) for exporting the View on screen as ``fmt``; audited.

    ``user`` must hold the format's permission (``export_permission``); without ``raw`` the View is
    clamped to the viewer resolution and raw event points are never included.
    """
    user = acting_user(user)
    if not can(user, export_permission(fmt)):
        return no_update, _("Export refused: {reason}").format(reason=denied_text(user, export_permission(fmt)))
    if not can(user, RAW):
        export_settings = export_settings.model_copy(update={"allow_raw_events": False})
    try:
        view = clamp_view(screen_view(settings, controls, now), user, settings.viewer_max_res)
        stamp = f"{view.end:%Y%m%d-%H%M}Z"
        if fmt == VIEW_FORMAT:
            content = view_to_json(view, sliding=True).encode("utf-8")
            filename = f"hbm-view-{stamp}.json"
            audit_id = record_export(
                store,
                who=who,
                fmt=fmt,
                view=view_to_dict(view),
                feature_counts={},
                filename=filename,
                nbytes=len(content),
            )
            saved = _("View saved as {file} (audit #{audit})").format(file=filename, audit=audit_id)
            return _download(content, filename, "application/json"), saved
        filename = f"hbm-{'briefing' if fmt in ('pdf', 'png', 'pack') else 'map' if fmt == 'html' else 'data'}"
        filename += f"-{stamp}{EXTENSIONS.get(fmt, '')}"
        with tempfile.TemporaryDirectory(prefix="hbm-export-") as tmp:
            result = run_export(
                store,
                view,
                fmt,
                Path(tmp) / filename,
                who=who,
                settings=export_settings,
                title=settings.title,
                synthetic=settings.synthetic,
                page=page or Page(),
                fallback_extent=settings.region,
            )
            if len(result.paths) == 1:
                content, media = result.paths[0].read_bytes(), MEDIA_TYPES[fmt]
            else:  # CSV and its metadata sidecar travel together
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                    for path in result.paths:
                        archive.write(path, arcname=path.name)
                content, media, filename = buffer.getvalue(), MEDIA_TYPES["pack"], filename + ".zip"
    except HbmError as exc:
        return no_update, _("Export failed: {error}").format(error=exc)
    counts = ", ".join(f"{_(LAYERS[n].title) if n in LAYERS else n} {c:,}" for n, c in result.feature_counts.items())
    size = f"{len(content) / 1024:,.0f} kB"
    ready = _("{file} ready ({size}; {counts}; audit #{audit})").format(
        file=filename, size=size, counts=counts or _("no layers"), audit=result.audit_id
    )
    return _download(content, filename, media), ready


def export_buttons(user: User | None, formats: list[str]) -> tuple[list[bool], list[str]]:
    """Return (disabled, title) per export button for ``user``: a convenience, the server checks each export."""
    refused = [denied_text(user, export_permission(fmt)) for fmt in formats]
    return [bool(text) for text in refused], refused


# -- permalinks --------------------------------------------------------------------


def permalink_outputs(
    search: str | None,
    now: datetime | None = None,
    user: User | None = REQUEST_USER,
    max_res: int = 6,
) -> tuple[Any, ...]:
    """Return the control values a permalink sets, ``no_update`` for fields it leaves out, and an error line.

    Order: window, custom start, custom end, metric, resolution, statistic, suppress, the titles of the
    layers to show (switched by ``LAYERS_JS`` once the layer control is ready), map viewport, error text.
    For a user without ``raw`` the link's View is clamped (resolution at most ``max_res``, suppression on).
    """
    user = acting_user(user)
    skip = (no_update,) * 9
    if not search or search in ("?", ""):
        return (*skip, "")
    try:
        view = view_from_query(search, now=now)
    except HbmError as exc:
        return (*skip, _("Link ignored: {error}").format(error=exc))
    given = query_fields(search)
    if not can(user, RAW):
        view = clamp_view(view, user, max_res)
        given |= {"suppress"}

    def pick(field: str, value: Any) -> Any:
        return value if field in given else no_update

    custom = view.window_label == "custom"
    window = pick("window_label", view.window_label)
    start = f"{view.start:%Y-%m-%d %H:%M}" if custom else no_update
    end = f"{view.end:%Y-%m-%d %H:%M}" if custom else no_update
    resolution = pick("resolution", "auto" if view.resolution is None else str(view.resolution))
    suppress = pick("suppress", ["on"] if view.suppress else [])
    layers = pick("layers", [_(LAYERS[name].title) for name in LAYER_NAMES if name in view.layers])  # as labelled
    viewport: Any = no_update
    if view.bbox is not None and "bbox" in given:
        w, s, e, n = view.bbox
        if "zoom" in given:
            viewport = {"center": [(s + n) / 2, (w + e) / 2], "zoom": view.zoom, "transition": "setView"}
        else:
            viewport = {"bounds": [[s, w], [n, e]], "transition": "fitBounds"}
    return (
        window,
        start,
        end,
        pick("metric", view.metric),
        resolution,
        pick("statistic", view.statistic),
        suppress,
        layers,
        viewport,
        "",
    )


def permalink_search(
    settings: AppSettings, controls: dict[str, Any], now: datetime | None = None, user: User | None = REQUEST_USER
) -> Any:
    """Return the URL query string (with ``?``) of the View on screen (as ``user`` sees it), or ``no_update``."""
    user = acting_user(user)
    try:
        return "?" + view_to_query(clamp_view(screen_view(settings, controls, now), user, settings.viewer_max_res))
    except HbmError:
        return no_update


# dash-leaflet 1.1.3's LayersControl cannot be trusted with layer visibility: changing an Overlay's
# ``checked`` later does nothing, and its ``overlays`` prop breaks on the first overlay removed (a stale
# closure), and a hidden overlay's GeoJSON comes back on the map when its data is refreshed. So the browser
# reads the layer control's checkboxes itself: it reports the overlays shown into a store on every change,
# switches layers for a permalink by clicking them as a user would, and after each layer refresh clicks each
# unchecked overlay on and off again so that what is drawn matches the checkboxes.
LAYERS_JS = """
function (pending) {
  var nu = window.dash_clientside.no_update;
  var root = document.getElementById("MAP_ID");
  var box = root && root.querySelector(".leaflet-control-layers-overlays");
  if (!box) { return [nu, nu]; }
  function labels() { return box.querySelectorAll("label"); }
  function shown() {
    var out = [];
    labels().forEach(function (l) {
      var i = l.querySelector("input");
      if (i && i.checked) { out.push(l.textContent.trim()); }
    });
    return out;
  }
  function report() { window.dash_clientside.set_props("SHOWN_ID", {data: shown()}); }
  if (!box.dataset.hbmWatch) { box.dataset.hbmWatch = "1"; box.addEventListener("change", report); }
  var tries = 0;
  (function whenReady() {
    if (labels().length < LAYER_COUNT && tries++ < 100) { setTimeout(whenReady, 100); return; }
    if (pending) {
      labels().forEach(function (l) {
        var input = l.querySelector("input");
        if (input && input.checked !== (pending.indexOf(l.textContent.trim()) >= 0)) { input.click(); }
      });
    }
    report();
    setTimeout(hideUnchecked, 60);
    setTimeout(hideUnchecked, 600);
  })();
  function hideUnchecked() {
    labels().forEach(function (l) {
      var input = l.querySelector("input");
      if (input && !input.checked) { input.click(); input.click(); }
    });
  }
  return [pending ? null : nu, nu];
}
"""

CONTROL_STATES = (
    ("window", Id.WINDOW, "value"),
    ("custom_start", Id.CUSTOM_START, "value"),
    ("custom_end", Id.CUSTOM_END, "value"),
    ("metric", Id.METRIC, "value"),
    ("resolution", Id.RESOLUTION, "value"),
    ("statistic", Id.STATISTIC, "value"),
    ("suppress", Id.SUPPRESS, "value"),
    ("zoom", Id.MAP, "zoom"),
    ("bounds", Id.MAP, "bounds"),
    ("overlays", ExportId.SHOWN, "data"),
)


def register(app: Dash, store: Store, settings: AppSettings) -> None:
    """Attach the export and permalink callbacks."""
    export_settings = load_export_settings()

    @app.callback(
        Output(ExportId.DOWNLOAD, "data"),
        Output(ExportId.STATUS, "children"),
        Input({"type": ExportId.BUTTON, "format": ALL}, "n_clicks"),
        State(ExportId.PAGE, "value"),
        State(ExportId.ORIENTATION, "value"),
        State(ExportId.DPI, "value"),
        *[State(cid, prop) for _key, cid, prop in CONTROL_STATES],
        prevent_initial_call=True,
    )
    def _export(_clicks: list[int | None], size: str, orientation: str, dpi: int, *values: Any) -> tuple[Any, Any]:
        triggered = ctx.triggered_id
        if not isinstance(triggered, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
            return no_update, no_update
        controls = dict(zip((key for key, _c, _p in CONTROL_STATES), values, strict=True))
        try:
            page = Page(size or "A4", orientation or "landscape", int(dpi or 150))
        except HbmError as exc:
            return no_update, _("Export failed: {error}").format(error=exc)
        user = current_user()
        return export_view(
            store,
            settings,
            export_settings,
            str(triggered["format"]),
            controls,
            page,
            who=user.name if user else WHO,
            user=user,
        )

    @app.callback(
        Output({"type": ExportId.BUTTON, "format": ALL}, "disabled"),
        Output({"type": ExportId.BUTTON, "format": ALL}, "title"),
        Input({"type": ExportId.BUTTON, "format": ALL}, "id"),
    )
    def _allowed(ids: list[dict[str, str]]) -> tuple[list[bool], list[str]]:
        return export_buttons(current_user(), [str(i["format"]) for i in ids])

    @app.callback(
        Output(Id.WINDOW, "value"),
        Output(Id.CUSTOM_START, "value"),
        Output(Id.CUSTOM_END, "value"),
        Output(Id.METRIC, "value"),
        Output(Id.RESOLUTION, "value"),
        Output(Id.STATISTIC, "value"),
        Output(Id.SUPPRESS, "value"),
        Output(ExportId.PENDING_LAYERS, "data"),
        Output(Id.MAP, "viewport", allow_duplicate=True),
        Output(ExportId.LINK_STATUS, "children"),
        Output(ExportId.APPLIED, "data"),
        Input(ExportId.LOCATION, "search"),
        State(ExportId.APPLIED, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def _apply_permalink(search: str | None, applied: bool) -> tuple[Any, ...]:
        if applied:
            return (*(no_update,) * 10, no_update)
        return (*permalink_outputs(search, user=current_user(), max_res=settings.viewer_max_res), True)

    app.clientside_callback(
        LAYERS_JS.replace("MAP_ID", Id.MAP)
        .replace("SHOWN_ID", ExportId.SHOWN)
        .replace("LAYER_COUNT", str(len(LAYER_NAMES))),
        Output(ExportId.PENDING_LAYERS, "data", allow_duplicate=True),
        Output(ExportId.SHOWN, "data"),
        Input(ExportId.PENDING_LAYERS, "data"),
        Input(Id.LAYERS_CONTROL, "overlays"),
        *[Input(LAYER_IDS[name], "data") for name in LAYER_NAMES],
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ExportId.LOCATION, "search"),
        *[Input(cid, prop) for _key, cid, prop in CONTROL_STATES],
        State(ExportId.APPLIED, "data"),
        prevent_initial_call=True,
    )
    def _follow_view(*values: Any) -> Any:
        *controls, applied = values
        if not applied:
            return no_update
        return permalink_search(
            settings, dict(zip((k for k, _c, _p in CONTROL_STATES), controls, strict=True)), user=current_user()
        )
