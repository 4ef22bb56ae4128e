"""The one screen → View function: the controls on screen (window, filters, map bounds, zoom, layers) as a View.

Plain functions (no dash import): the map refresh, playback, exports and permalinks all call
``screen_view``; they differ only in whether the bbox is snapped for caching or kept exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from dashboard.settings import AppSettings
from data.store import BBox
from geo.errors import InvalidView
from layers.features import LAYERS
from layers.i18n import _
from layers.view import LAYER_NAMES, View, snap_bbox, window_bounds

BBOX_DIGITS = 5  # an exact screen bbox is rounded to ~1 m


@dataclass(frozen=True)
class Screen:
    """What the controls on screen say, as the browser sent it (unchecked text and numbers)."""

    window: str | None = None
    custom_start: str | None = None
    custom_end: str | None = None
    metric: str | None = None
    resolution: str | None = None
    zoom: float | None = None
    bounds: Any = None
    statistic: str | None = None
    suppress: Any = None
    overlays: list[str] | None = None  # titles of the overlays switched on; None: not reported (all layers)

    @classmethod
    def from_dict(cls, controls: dict[str, Any]) -> Screen:
        """Return the Screen of a ``{control name: value}`` dict (unknown keys are ignored)."""
        return cls(**{f.name: controls.get(f.name) for f in fields(cls)})


def bounds_to_bbox(bounds: Any) -> BBox | None:
    """Return ``west, south, east, north`` from Leaflet ``[[s, w], [n, e]]`` bounds, or None."""
    try:
        (s, w), (n, e) = bounds
        values = float(w), float(s), float(e), float(n)
    except (TypeError, ValueError, OverflowError):
        return None
    if not all(math.isfinite(v) for v in values):
        raise InvalidView("the map bounds must be finite numbers")
    w, s, e, n = values
    # Leaflet reports longitudes past ±180 after panning round the world; nothing lies beyond.
    w, e = max(-180.0, min(180.0, w)), max(-180.0, min(180.0, e))
    s, n = max(-90.0, min(90.0, s)), max(-90.0, min(90.0, n))
    if not (w < e and s < n):
        raise InvalidView("the map bounds are empty: west must be less than east and south less than north")
    return w, s, e, n


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


def screen_view(settings: AppSettings, screen: Screen | dict[str, Any], now: datetime, exact: bool = False) -> View:
    """Return the View on screen; raise InvalidView with a readable message.

    The live map snaps the bbox (``exact=False``) so that nearby viewports share cached layers; an
    export or permalink (``exact=True``) keeps the map's exact bounds and only the overlays shown.
    """
    if isinstance(screen, dict):
        screen = Screen.from_dict(screen)
    window = screen.window or "24h"
    start, end = window_bounds(window, now, screen.custom_start, screen.custom_end)
    bbox = bounds_to_bbox(screen.bounds) or settings.region
    try:
        res = None if screen.resolution in (None, "", "auto") else int(str(screen.resolution))
        zoom_value = float(screen.zoom) if screen.zoom is not None else 7.0
    except (TypeError, ValueError):
        raise InvalidView(
            f"resolution {str(screen.resolution)[:12]!r} or zoom {str(screen.zoom)[:12]!r} is not a number"
        ) from None
    if not 0 <= zoom_value <= 30:
        raise InvalidView("zoom must be between 0 and 30")
    if exact:
        bbox = screen_bbox(screen.bounds) or settings.region
    return View(
        start=start,
        end=end,
        zoom=zoom_value,
        resolution=res,
        bbox=bbox if exact else snap_bbox(bbox),
        metric=screen.metric or "events",
        window_label=window,
        statistic=screen.statistic or "count",
        suppress=bool(screen.suppress),
        layers=overlays_to_layers(screen.overlays),
    )
