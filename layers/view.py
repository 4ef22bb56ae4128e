"""The View: the one description of what is on the map (window, zoom/resolution, bbox, layers)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from data.interfaces import BBox
from geo.cells import STORED_RESOLUTIONS, resolution_for_zoom
from geo.errors import InvalidView

LAYER_NAMES = ("crossing_points", "routes", "hotspots", "sar_zones")
#: The longest custom window anything accepts (the map, permalinks, exports).
MAX_CUSTOM_WINDOW = timedelta(days=366)

WINDOWS: dict[str, timedelta] = {
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_WINDOW = "24h"
METRICS = ("events", "people")
# What colours the hotspot layer: the raw count, the change against the baseline,
# the Getis-Ord Gi* confidence bin, or the emerging-hotspot trend category.
STATISTICS = ("count", "change", "gi", "emerging")


@dataclass(frozen=True)
class View:
    """What is on the map: the time window [start, end), zoom, optional fixed H3 resolution, bbox."""

    start: datetime
    end: datetime
    zoom: float = 7.0
    resolution: int | None = None
    bbox: BBox | None = None
    layers: frozenset[str] = field(default_factory=lambda: frozenset(LAYER_NAMES))
    metric: str = "events"
    window_label: str = DEFAULT_WINDOW
    statistic: str = "count"
    suppress: bool = False  # merge hotspot cells under k people into their parents (small-count suppression)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidView("time window bounds must carry a time zone (UTC)")
        if self.end <= self.start:
            raise InvalidView("the time window must end after it starts")
        if self.resolution is not None and self.resolution not in STORED_RESOLUTIONS:
            raise InvalidView(f"H3 resolution must be {STORED_RESOLUTIONS[0]}-{STORED_RESOLUTIONS[-1]}")
        if self.metric not in METRICS:
            raise InvalidView(f"metric must be one of {', '.join(METRICS)}")
        if self.statistic not in STATISTICS:
            raise InvalidView(f"statistic must be one of {', '.join(STATISTICS)}")
        unknown = set(self.layers) - set(LAYER_NAMES)
        if unknown:
            raise InvalidView(f"unknown layers: {', '.join(sorted(unknown))}")

    @property
    def res(self) -> int:
        """Return the H3 resolution shown: the fixed one, or the one that follows the zoom."""
        return self.resolution if self.resolution is not None else resolution_for_zoom(self.zoom)


def parse_custom_time(text: str) -> datetime:
    """Return an aware UTC datetime from ``YYYY-MM-DD[ HH:MM]`` text, or raise InvalidView."""
    raw = (text or "").strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InvalidView(f"{raw!r} is not a time; use YYYY-MM-DD or YYYY-MM-DD HH:MM (UTC)")


def window_bounds(
    window: str, now: datetime, custom_start: str | None = None, custom_end: str | None = None
) -> tuple[datetime, datetime]:
    """Return [start, end) for a named window ending now, or for a custom UTC range."""
    if window == "custom":
        start = parse_custom_time(custom_start or "")
        end = parse_custom_time(custom_end or "") if custom_end else now
        if end <= start:
            raise InvalidView("the custom window must end after it starts")
        if end - start > MAX_CUSTOM_WINDOW:
            raise InvalidView(f"the custom window is longer than {MAX_CUSTOM_WINDOW.days} days: pick a shorter one")
        return start, end
    if window not in WINDOWS:
        raise InvalidView(f"unknown window {window!r}; use {', '.join(WINDOWS)} or custom")
    return now - WINDOWS[window], now


def snap_bbox(bounds: BBox, pad: float = 0.5) -> BBox:
    """Return ``bounds`` padded by ``pad`` of its size and snapped outward to a coarse grid.

    Snapping means small pans reuse the same query (and the same cached layer).
    """
    w, s, e, n = bounds
    if not all(math.isfinite(v) for v in bounds):
        raise InvalidView("the map bounds must be finite numbers")
    w, e = max(-180.0, min(180.0, w)), max(-180.0, min(180.0, e))
    s, n = max(-90.0, min(90.0, s)), max(-90.0, min(90.0, n))
    span = max(e - w, n - s, 1e-6)
    step = 2.0 ** math.floor(math.log2(span))
    w, e = w - span * pad, e + span * pad
    s, n = s - span * pad, n + span * pad
    snapped = (
        max(-180.0, math.floor(w / step) * step),
        max(-90.0, math.floor(s / step) * step),
        min(180.0, math.ceil(e / step) * step),
        min(90.0, math.ceil(n / step) * step),
    )
    return snapped
