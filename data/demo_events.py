"""SYNTHETIC demo events around the demo places (data/demo.py): kinds, daily rhythm, people, a surge at Elegu."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from data.demo import CROSSINGS, DEMO_SOURCE, JITTER_DEG, LAKE_ROUTE, ROUTES, SURGE_CROSSING_ID, SURGE_DAYS, WINDOW_DAYS
from data.schema import EVENT_KINDS


def _p(**weights: float) -> np.ndarray:
    """Return normalised probabilities over EVENT_KINDS from keyword weights."""
    vec = np.array([weights.get(kind, 0.0) for kind in EVENT_KINDS], float)
    return vec / vec.sum()


KIND_P = {
    "crossing": _p(
        crossing=62,
        sighting=9,
        distress=0.4,
        rescue=0.15,
        interception=6,
        death=0.2,
        missing=0.6,
        vulnerability_referral=10,
        smuggling_indicator=7,
        other=3.7,
    ),
    "land": _p(
        crossing=40,
        sighting=24,
        distress=0.8,
        rescue=0.15,
        interception=10,
        death=0.7,
        missing=1.3,
        vulnerability_referral=5,
        smuggling_indicator=12,
        other=4.5,
    ),
    "lake": _p(
        crossing=28,
        sighting=14,
        distress=18,
        rescue=15,
        interception=8,
        death=3,
        missing=5,
        vulnerability_referral=4,
        smuggling_indicator=3,
        other=2,
    ),
    "scatter": _p(
        crossing=22,
        sighting=40,
        interception=5,
        vulnerability_referral=5,
        smuggling_indicator=12,
        other=16,
    ),
    "surge": _p(crossing=72, sighting=6, distress=1, vulnerability_referral=15, missing=1, other=4),
}


COMPONENT_P = np.array([0.55, 0.33, 0.08, 0.04])  # crossings, routes, scatter, surge


HOUR_P = np.array(
    [
        1,
        1,
        1,
        1,
        1.5,
        2.5,
        4,
        6,
        8,
        9,
        9,
        8.5,  # East Africa Time (UTC+3)
        8,
        8,
        8.5,
        8,
        7,
        6,
        4.5,
        3,
        2,
        1.5,
        1.2,
        1,
    ],
    float,
)


HOUR_P /= HOUR_P.sum()


PRECISIONS, PRECISION_P = np.array([10, 50, 500, 5000, np.nan]), [0.25, 0.35, 0.25, 0.08, 0.07]


NOTES = np.array(
    [f"SYNTHETIC {kind.replace('_', ' ')} report (demo data)" for kind in EVENT_KINDS]
    + ["SYNTHETIC surge: large group arrivals at Elegu (demo data)"],
    dtype=object,
)


KINDS = np.array(EVENT_KINDS, dtype=object)


CP_IDS = np.array([None] + [f"demo-cp-{c[0]}" for c in CROSSINGS], dtype=object)


ROUTE_IDS = np.array([None] + [f"demo-route-{r[0]}" for r in ROUTES], dtype=object)


DAY_MS, HOUR_MS, EAT_MS = 86_400_000, 3_600_000, 3 * 3_600_000


Times = Callable[[int, int], np.ndarray]  # (size, days) -> epoch ms


def _diurnal_times(rng: np.random.Generator, size: int, now_ms: int, days: int) -> np.ndarray:
    """Return epoch-ms times in (now - days, now], busier in East African daylight."""
    midnight = (now_ms + EAT_MS) // DAY_MS * DAY_MS - EAT_MS  # today's local midnight, in UTC
    hours = rng.choice(24, size, p=HOUR_P) + rng.random(size)
    t = midnight - rng.integers(0, days, size) * DAY_MS + (hours * HOUR_MS).astype(np.int64)
    return now_ms - (now_ms - t) % (days * DAY_MS)  # whole days: keeps the time of day


def _people(rng: np.random.Generator, kind: np.ndarray, mean: Any, cap: Any) -> np.ndarray:
    """Return group sizes: geometric around ``mean`` up to ``cap``; deaths few, goods maybe none."""
    size = len(kind)
    people = np.minimum(rng.geometric(1.0 / np.broadcast_to(mean, size)), cap)
    few = np.isin(kind, [EVENT_KINDS.index("death"), EVENT_KINDS.index("missing")])
    people[few] = rng.geometric(0.6, few.sum())
    goods = np.isin(kind, [EVENT_KINDS.index("smuggling_indicator"), EVENT_KINDS.index("other")])
    people[goods] = rng.geometric(0.5, goods.sum()) - 1
    return people.astype(np.int64)


def _part(
    t: np.ndarray,
    lat: np.ndarray,
    lng: np.ndarray,
    kind: np.ndarray,
    people: np.ndarray,
    cp: Any = -1,
    route: Any = -1,
    note: Any = None,
) -> dict[str, np.ndarray]:
    """Return one component's columns as equal-length arrays."""
    size = len(t)
    return {
        "t": t,
        "lat": lat,
        "lng": lng,
        "kind": kind,
        "people": people,
        "cp": np.broadcast_to(cp, size),
        "route": np.broadcast_to(route, size),
        "note": np.broadcast_to(kind if note is None else note, size),
    }


def _at_crossings(rng: np.random.Generator, size: int, when: Times) -> dict[str, np.ndarray]:
    """Return events clustered around crossing points, weighted by their share."""
    share = np.array([c[9] for c in CROSSINGS], float)
    cp = rng.choice(len(CROSSINGS), size, p=share / share.sum())
    sigma = np.array([JITTER_DEG[c[2]] for c in CROSSINGS])[cp]
    lat = np.array([c[7] for c in CROSSINGS])[cp] + rng.normal(0, sigma)
    lng = np.array([c[8] for c in CROSSINGS])[cp] + rng.normal(0, sigma)
    kind = rng.choice(len(EVENT_KINDS), size, p=KIND_P["crossing"])
    return _part(when(size, WINDOW_DAYS), lat, lng, kind, _people(rng, kind, 5, 30), cp=cp)


def _along_routes(rng: np.random.Generator, size: int, when: Times) -> dict[str, np.ndarray]:
    """Return events sampled along route lines with jitter; the lake route runs boat kinds."""
    share = np.array([r[5] for r in ROUTES], float)
    route = rng.choice(len(ROUTES), size, p=share / share.sum())
    lat, lng = np.empty(size), np.empty(size)
    for r, spec in enumerate(ROUTES):
        mask = route == r
        xs, ys = np.array(spec[6]).T
        dist = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))])
        along = rng.uniform(0, dist[-1], mask.sum())
        lng[mask], lat[mask] = np.interp(along, dist, xs), np.interp(along, dist, ys)
    lake = route == LAKE_ROUTE
    sigma = np.where(lake, 0.006, 0.004)
    lat, lng = lat + rng.normal(0, sigma), lng + rng.normal(0, sigma)
    kind = rng.choice(len(EVENT_KINDS), size, p=KIND_P["land"])
    kind[lake] = rng.choice(len(EVENT_KINDS), lake.sum(), p=KIND_P["lake"])
    people = _people(rng, kind, np.where(lake, 14, 4), np.where(lake, 80, 30))
    return _part(when(size, WINDOW_DAYS), lat, lng, kind, people, route=route)


def _scatter(rng: np.random.Generator, size: int, when: Times) -> dict[str, np.ndarray]:
    """Return background events loosely spread around the border areas."""
    cp = rng.integers(0, len(CROSSINGS), size)
    lat = np.array([c[7] for c in CROSSINGS])[cp] + rng.normal(0, 0.08, size)
    lng = np.array([c[8] for c in CROSSINGS])[cp] + rng.normal(0, 0.08, size)
    kind = rng.choice(len(EVENT_KINDS), size, p=KIND_P["scatter"])
    return _part(when(size, WINDOW_DAYS), lat, lng, kind, _people(rng, kind, 3, 15))


def _surge(rng: np.random.Generator, size: int, when: Times) -> dict[str, np.ndarray]:
    """Return the injected surge: large groups at Elegu / Nimule in the last days."""
    cp = [c[0] for c in CROSSINGS].index(SURGE_CROSSING_ID.removeprefix("demo-cp-"))
    lat = CROSSINGS[cp][7] + rng.normal(0, 0.007, size)
    lng = CROSSINGS[cp][8] + rng.normal(0, 0.007, size)
    kind = rng.choice(len(EVENT_KINDS), size, p=KIND_P["surge"])
    return _part(
        when(size, SURGE_DAYS),
        lat,
        lng,
        kind,
        _people(rng, kind, 10, 40),
        cp=cp,
        note=len(EVENT_KINDS),
    )


def _frame(rng: np.random.Generator, n: int, when: Times) -> pd.DataFrame:
    """Return ``n`` events (without ids) in time order, mixing all components."""
    sizes = rng.multinomial(n, COMPONENT_P)
    parts = [
        make(rng, int(k), when) for make, k in zip((_at_crossings, _along_routes, _scatter, _surge), sizes, strict=True)
    ]
    col = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(col["t"], kind="stable")
    col = {key: value[order] for key, value in col.items()}
    return pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(col["t"], unit="ms", utc=True),
            "kind": KINDS[col["kind"]],
            "people": col["people"],
            "lat": col["lat"],
            "lng": col["lng"],
            "location_precision_m": rng.choice(PRECISIONS, n, p=PRECISION_P),
            "source": DEMO_SOURCE,
            "crossing_point_id": CP_IDS[col["cp"] + 1],
            "route_id": ROUTE_IDS[col["route"] + 1],
            "notes": NOTES[col["note"]],
        }
    )


def _now_ms(now: datetime) -> int:
    """Return ``now`` (naive taken as UTC) in epoch milliseconds."""
    return int((now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp() * 1000)


def demo_events(n: int, now: datetime, seed: int = 7) -> pd.DataFrame:
    """Return ``n`` synthetic events over the 30 days ending at ``now``, with stable ids."""
    rng, now_ms = np.random.default_rng(seed), _now_ms(now)
    frame = _frame(rng, n, lambda size, days: _diurnal_times(rng, size, now_ms, days))
    frame.insert(0, "id", [f"demo-ev-{i:07d}" for i in range(n)])
    return frame


def live_rate_per_s(seeded: int, days: int = WINDOW_DAYS) -> float:
    """Return the live feed's mean events per second: the rate of the ``seeded`` events over ``days``.

    A faster feed makes every busy cell a "large increase" against its baseline within minutes and
    floods the critical alerts (issue 12: 5 events every 3 s, ~90 times the seeded rate).
    """
    return seeded / (days * 86_400)


def live_events(now: datetime, rng: np.random.Generator, count: int = 5) -> pd.DataFrame:
    """Return ``count`` new synthetic events stamped within a few seconds before ``now``."""
    now_ms = _now_ms(now)
    frame = _frame(rng, count, lambda size, _days: now_ms - rng.integers(0, 3000, size))
    frame.insert(0, "id", [f"demo-live-{now_ms}-{k}" for k in range(count)])
    return frame
