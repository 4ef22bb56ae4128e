"""What an alert rule finds: a place where its condition holds now, and the helpers rule finders share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from data.alerts import AlertError
from data.interfaces import Store
from layers.view import WINDOWS


@dataclass
class Finding:
    """One place where a rule's condition holds now.

    ``opens`` False: the place is not yet back to normal, so an open alert it touches stays open
    (and is updated), but it is not strong enough to open a new alert (hysteresis).
    """

    subject: str
    title: str
    lat: float | None
    lng: float | None
    evidence: dict[str, Any]
    cells: list[str] = field(default_factory=list)
    opens: bool = True


def nearest_place(store: Store, lat: float, lng: float) -> str:
    """Return where a point is, for an alert title: "near Elegu (4 km)", or "" with no crossing points stored."""
    points = store.features("crossing_points")
    if points.empty:
        return ""
    xs, ys = points.geometry.x.to_numpy(float), points.geometry.y.to_numpy(float)
    # Equirectangular distance: plenty for naming the closest crossing point.
    dx = (xs - lng) * 111.32 * math.cos(math.radians(lat))
    dy = (ys - lat) * 110.57
    km = (dx**2 + dy**2) ** 0.5
    i = int(km.argmin())
    return f"near {points['name'].iloc[i]} ({km[i]:,.0f} km)"


def rule_window(params: dict[str, Any]) -> timedelta:
    """Return the rule's ``window`` parameter as a duration, or raise AlertError."""
    name = params.get("window", "24h")
    if name not in WINDOWS:
        raise AlertError(f"rule window {name!r} must be one of {', '.join(WINDOWS)}")
    return WINDOWS[name]
