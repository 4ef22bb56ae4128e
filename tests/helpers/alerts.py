"""A steady background and surges, for alert tests."""

from __future__ import annotations

from datetime import timedelta

from shapely.geometry import Point

from data.alerts import Rule
from data.store import Store
from layers.services.alerts import DEFAULT_RULES
from tests.helpers import NOW

REGION = (28.8, -1.8, 33.2, 4.4)


def events(prefix: str, n: int, when, lat: float, lng: float, people: int = 10, kind: str = "crossing") -> list[dict]:  # type: ignore[no-untyped-def]
    return [
        {
            "id": f"{prefix}-{i}",
            "occurred_at": when - timedelta(minutes=i),
            "kind": kind,
            "people": people,
            "geometry": Point(lng + 0.001 * (i % 5), lat),
        }
        for i in range(n)
    ]


def background(store: Store) -> None:
    """Steady traffic at many places over the last 29 days, so even a same-weekday baseline is covered."""
    rows = []
    for day in range(29):
        for place in range(12):
            rows += events(f"bg{day}-{place}", 3, NOW - timedelta(days=day, hours=3), 0.5 + 0.3 * place, 30.0, people=2)
    store.upsert("events", rows)


def surge_rule() -> Rule:
    return next(r for r in DEFAULT_RULES if r.kind == "hotspot_surge")
