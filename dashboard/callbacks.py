"""Thin callbacks: parse inputs into a View, call the layers, serialise. Testable as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dash import Dash, Input, Output, State, ctx, html, no_update

from dashboard.ids import LAYER_IDS, Id
from dashboard.settings import AppSettings
from data.store import BBox, Store
from geo.errors import HbmError, InvalidView, StoreUnavailable
from layers.features import LAYERS
from layers.refresh import RefreshResult, refresh
from layers.view import View, snap_bbox, window_bounds

LAYER_ORDER = tuple(LAYER_IDS)
HIDDEN_PROPS = {"_s", "id", "label_lat", "label_lng"}


def _bounds_to_bbox(bounds: Any) -> BBox | None:
    """Return ``west, south, east, north`` from Leaflet ``[[s, w], [n, e]]`` bounds, or None."""
    try:
        (s, w), (n, e) = bounds
        return float(w), float(s), float(e), float(n)
    except (TypeError, ValueError):
        return None


def parse_view(
    window: str | None,
    custom_start: str | None,
    custom_end: str | None,
    metric: str | None,
    resolution: str | None,
    zoom: float | None,
    bounds: Any,
    settings: AppSettings,
    now: datetime,
) -> View:
    """Return the View the controls describe; raise InvalidView with a readable message."""
    window = window or "24h"
    start, end = window_bounds(window, now, custom_start, custom_end)
    bbox = _bounds_to_bbox(bounds) or settings.region
    res = None if resolution in (None, "", "auto") else int(str(resolution))
    return View(
        start=start,
        end=end,
        zoom=float(zoom) if zoom is not None else 7.0,
        resolution=res,
        bbox=snap_bbox(bbox),
        metric=metric or "events",
        window_label=window,
    )


def _status(result: RefreshResult, view: View, settings: AppSettings) -> list[Any]:
    as_of = result.data_as_of.strftime("%H:%M:%S UTC") if result.data_as_of else "—"
    label = (
        view.window_label
        if view.window_label != "custom"
        else (f"{view.start:%Y-%m-%d %H:%M}–{view.end:%Y-%m-%d %H:%M} UTC")
    )
    events = f"{result.events:,}" if result.events is not None else "…"
    people = f"{result.people:,}" if result.people is not None else "…"
    return [
        "Data as of ",
        html.B(as_of),
        " · ",
        html.B(events, id="status-events"),
        " events · ",
        html.B(people),
        f" people in {label}",
    ]


def refresh_map(
    store: Store,
    settings: AppSettings,
    window: str | None,
    custom_start: str | None,
    custom_end: str | None,
    metric: str | None,
    resolution: str | None,
    zoom: float | None,
    bounds: Any,
    client: dict[str, Any] | None,
    now: datetime | None = None,
) -> tuple[Any, ...]:
    """Return (4 layer datas, status, banner text, banner class, client state, view error).

    Layers whose inputs did not change are ``no_update``; on a store failure every layer
    is ``no_update`` so the last good data stays on screen.
    """
    now = now or datetime.now(UTC)
    client = dict(client or {})
    unchanged = (no_update,) * len(LAYER_ORDER)
    try:
        view = parse_view(window, custom_start, custom_end, metric, resolution, zoom, bounds, settings, now)
    except InvalidView as exc:
        return (*unchanged, no_update, no_update, no_update, no_update, str(exc))
    try:
        result = refresh(store, view, client.get("keys"))
    except StoreUnavailable as exc:
        since = client.get("failing_since") or now.strftime("%H:%M:%S UTC")
        text = (
            f"Store unreachable since {since}: showing the last good data; retrying every "
            f"{settings.refresh_seconds:g} s. ({exc})"
        )
        return (
            *unchanged,
            no_update,
            text,
            "hbm-banner show",
            {**client, "failing_since": since},
            "",
        )
    except HbmError as exc:
        return (*unchanged, no_update, no_update, no_update, no_update, str(exc))
    layers = tuple(result.layers.get(name, no_update) for name in LAYER_ORDER)
    state = {"keys": result.keys, "failing_since": None, "revision": result.revision}
    if not result.layers and not client.get("failing_since"):
        # Nothing changed: send no layer data and keep the status line as it is.
        return (*unchanged, no_update, no_update, no_update, state, no_update)
    status = _status(result, view, settings) if result.layers else no_update
    return (*layers, status, "", "hbm-banner", state, "")


def describe_feature(feature: dict[str, Any] | None, layer: str) -> Any:
    """Return a table of a clicked feature's properties; all values rendered as text."""
    if not feature:
        return "Click a crossing point, route, hotspot cell or SAR zone."
    props = feature.get("properties") or {}
    title = props.get("name") or (f"H3 cell {props.get('cell')}" if layer == "hotspots" else layer)
    rows = [
        html.Tr([html.Td(key.replace("_", " ")), html.Td("—" if value is None else str(value))])
        for key, value in props.items()
        if key not in HIDDEN_PROPS
    ]
    return [
        html.Div(LAYERS[layer].title, style={"color": "#93a4b5"}),
        html.Div(str(title), style={"fontSize": "18px", "fontWeight": 700, "margin": "2px 0 6px"}),
        html.Table(html.Tbody(rows)),
    ]


def register(app: Dash, store: Store, settings: AppSettings) -> None:
    """Attach the callbacks to ``app``, bound to ``store`` and ``settings``."""

    @app.callback(
        *[Output(LAYER_IDS[name], "data") for name in LAYER_ORDER],
        Output(Id.STATUS, "children"),
        Output(Id.BANNER, "children"),
        Output(Id.BANNER, "className"),
        Output(Id.CLIENT_STATE, "data"),
        Output(Id.VIEW_ERROR, "children"),
        Input(Id.INTERVAL, "n_intervals"),
        Input(Id.WINDOW, "value"),
        Input(Id.CUSTOM_START, "value"),
        Input(Id.CUSTOM_END, "value"),
        Input(Id.METRIC, "value"),
        Input(Id.RESOLUTION, "value"),
        Input(Id.MAP, "zoom"),
        Input(Id.MAP, "bounds"),
        State(Id.CLIENT_STATE, "data"),
    )
    def _refresh(
        _n: int | None,
        window: str,
        cstart: str | None,
        cend: str | None,
        metric: str,
        resolution: str,
        zoom: float | None,
        bounds: Any,
        client: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        return refresh_map(store, settings, window, cstart, cend, metric, resolution, zoom, bounds, client)

    @app.callback(
        Output(Id.DETAILS, "children"),
        *[Input(LAYER_IDS[name], "clickData") for name in LAYER_ORDER],
        prevent_initial_call=True,
    )
    def _details(*features: dict[str, Any] | None) -> Any:
        triggered = ctx.triggered_id
        for name, feature in zip(LAYER_ORDER, features, strict=True):
            if LAYER_IDS[name] == triggered:
                return describe_feature(feature, name)
        return no_update

    @app.callback(Output(Id.CUSTOM_BOX, "style"), Input(Id.WINDOW, "value"))
    def _custom_box(window: str) -> dict[str, str]:
        return {"display": "inline-flex", "gap": "6px"} if window == "custom" else {"display": "none"}

    @app.callback(Output(Id.HOTSPOT_LEGEND_TITLE, "children"), Input(Id.METRIC, "value"))
    def _legend_title(metric: str) -> str:
        return f"Hotspots: {metric or 'events'} per H3 cell"
