"""A SYNTHETIC but geographically plausible crisis on the DRC–Uganda–South Sudan borders.

Crossing points carry real place names at approximate real positions; every number attached
to them (status, capacity, events, people) is invented. Nothing here is observed data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point, Polygon, box

from data.schema import EVENT_KINDS
from geo.search_theory import plan_probabilities
from geo.sectors import area_km2, label_for_index

DEMO_SOURCE = "SYNTHETIC demo generator"
SURGE_CROSSING_ID = "demo-cp-elegu"
SURGE_DAYS = 3
WINDOW_DAYS = 30

# slug, name, kind, country_a, country_b, status, capacity/day, lat, lng, share of events
CROSSINGS: tuple[tuple[Any, ...], ...] = (
    ("elegu", "Elegu / Nimule", "official", "UGA", "SSD", "open", 6000, 3.578, 32.066, 20),
    ("oraba", "Oraba / Kaya", "official", "UGA", "SSD", "restricted", 3000, 3.497, 30.990, 10),
    ("afoji", "Afoji (Moyo)", "official", "UGA", "SSD", "open", 800, 3.690, 31.760, 4),
    ("vurra", "Vurra / Aru", "official", "UGA", "COD", "open", 2500, 2.880, 30.865, 8),
    ("goli", "Goli / Mahagi", "official", "UGA", "COD", "restricted", 1500, 2.385, 30.975, 6),
    ("mpondwe", "Mpondwe / Kasindi", "official", "UGA", "COD", "open", 4000, 0.040, 29.722, 12),
    ("ishasha", "Ishasha", "official", "UGA", "COD", "open", 800, -0.600, 29.640, 3),
    ("bunagana", "Bunagana", "official", "UGA", "COD", "closed", 2000, -1.287, 29.598, 4),
    ("busanza", "Busanza", "informal", "UGA", "COD", "unknown", None, -1.215, 29.585, 6),
    (
        "lhubiriha",
        "Lhubiriha river (Bwera)",
        "informal",
        "UGA",
        "COD",
        "unknown",
        None,
        0.030,
        29.735,
        6,
    ),
    ("kasenyi", "Kasenyi landing", "informal", "COD", "UGA", "unknown", None, 1.410, 30.450, 5),
    (
        "panyimur",
        "Panyimur landing",
        "informal",
        "UGA",
        "COD",
        "restricted",
        None,
        2.270,
        31.420,
        3,
    ),
    (
        "ntoroko",
        "Ntoroko landing site",
        "flow_monitoring",
        "UGA",
        "COD",
        "open",
        600,
        1.052,
        30.535,
        4,
    ),
    (
        "sebagoro",
        "Sebagoro landing site",
        "flow_monitoring",
        "UGA",
        "COD",
        "open",
        400,
        1.400,
        30.885,
        6,
    ),
    ("bibia", "Bibia", "flow_monitoring", "UGA", "SSD", "open", 1200, 3.470, 32.055, 5),
    ("kajo-keji", "Kajo-Keji", "flow_monitoring", "SSD", "UGA", "unknown", 500, 3.850, 31.650, 5),
)
JITTER_DEG = {"official": 0.005, "informal": 0.012, "flow_monitoring": 0.006}

# slug, name, mode, risk, hours since last observed, share of events, (lng, lat) vertices
ROUTES: tuple[tuple[Any, ...], ...] = (
    (
        "lake-albert",
        "Lake Albert crossing Kasenyi – Sebagoro",
        "boat",
        "critical",
        2,
        18,
        ((30.465, 1.440), (30.600, 1.430), (30.740, 1.410), (30.875, 1.400)),
    ),
    (
        "kaya-koboko",
        "Bush paths Kaya – Koboko",
        "foot",
        "medium",
        20,
        14,
        ((30.930, 3.560), (30.950, 3.520), (30.970, 3.470), (30.960, 3.420)),
    ),
    (
        "nimule-bibia",
        "Nile bank path Nimule – Bibia",
        "foot",
        "high",
        5,
        16,
        ((32.100, 3.630), (32.090, 3.600), (32.075, 3.565), (32.060, 3.520), (32.055, 3.475)),
    ),
    (
        "aru-arua",
        "Aru – Arua back roads",
        "mixed",
        "medium",
        30,
        10,
        ((30.800, 2.880), (30.840, 2.900), (30.880, 2.930), (30.920, 2.990), (30.910, 3.020)),
    ),
    (
        "bunagana-nyakabande",
        "Bunagana – Nyakabande footpaths",
        "foot",
        "high",
        9,
        12,
        ((29.570, -1.260), (29.600, -1.270), (29.640, -1.280), (29.690, -1.270)),
    ),
    (
        "kasindi-bwera",
        "Kasindi – Bwera river fords",
        "foot",
        "medium",
        14,
        14,
        ((29.680, 0.050), (29.710, 0.045), (29.730, 0.030), (29.760, 0.020)),
    ),
    (
        "kajokeji-moyo",
        "Kajo-Keji – Moyo track",
        "vehicle",
        "high",
        40,
        10,
        ((31.650, 3.850), (31.680, 3.750), (31.700, 3.690), (31.720, 3.650)),
    ),
    (
        "mahagi-paidha",
        "Mahagi – Paidha smuggling track",
        "vehicle",
        "low",
        70,
        6,
        ((30.990, 2.310), (30.980, 2.350), (30.975, 2.385), (30.980, 2.420)),
    ),
)
LAKE_ROUTE = 0

# Lake Albert shoreline, roughly (lng, lat): west (DRC) shore going north, east shore going south.
LAKE_ALBERT = Polygon(
    [
        (30.50, 1.06),
        (30.43, 1.18),
        (30.41, 1.32),
        (30.44, 1.42),
        (30.55, 1.55),
        (30.70, 1.72),
        (30.86, 1.88),
        (31.02, 2.02),
        (31.18, 2.15),
        (31.30, 2.27),
        (31.38, 2.32),
        (31.43, 2.22),
        (31.40, 2.05),
        (31.33, 1.85),
        (31.18, 1.72),
        (31.02, 1.58),
        (30.90, 1.42),
        (30.78, 1.28),
        (30.66, 1.16),
        (30.56, 1.06),
    ]
)
SEARCH_BOX = (30.60, 1.36, 30.78, 1.46)  # west, south, east, north: over water, around the route
SECTORS = (  # status, team, poa, pod — a 3 (west→east) x 2 (south→north) grid
    ("searched", "Marine Police boat MP-3", 0.14, 0.80),
    ("in_progress", "UPDF Marines boat 2", 0.24, 0.45),
    ("assigned", "Sebagoro fishermen volunteers", 0.16, 0.0),
    ("cleared", "Marine Police boat MP-5", 0.10, 0.92),
    ("planned", None, 0.22, 0.0),
    ("suspended", "Red Cross water rescue", 0.14, 0.20),
)


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


def demo_features(now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Return the synthetic crossing points, routes and SAR zones, keyed by table."""
    return {
        "crossing_points": _crossing_points(),
        "routes": _routes(now),
        "sar_zones": _sar_zones(),
    }


def _crossing_points() -> list[dict[str, Any]]:
    """Return crossing point rows at approximate real positions."""
    keys = ("name", "kind", "country_a", "country_b", "status", "capacity_per_day")
    return [
        {
            "id": f"demo-cp-{c[0]}",
            "geometry": Point(c[8], c[7]),
            **dict(zip(keys, c[1:7], strict=True)),
        }
        for c in CROSSINGS
    ]


def _routes(now: datetime) -> list[dict[str, Any]]:
    """Return informal route rows observed in the last few days before ``now``."""
    return [
        {
            "id": f"demo-route-{slug}",
            "name": name,
            "mode": mode,
            "risk": risk,
            "last_observed_at": now - timedelta(hours=hours),
            "geometry": LineString(coords),
        }
        for slug, name, mode, risk, hours, _share, coords in ROUTES
    ]


def _sar_zones() -> list[dict[str, Any]]:
    """Return the Lake Albert SRR, one search area and the sectors that tile it."""
    srr, area = "demo-sar-srr-lake-albert", "demo-sar-area-kasenyi-sebagoro"
    authority = "Uganda Marine Police (SYNTHETIC)"
    zones = [
        {
            "id": srr,
            "name": "Lake Albert SAR region",
            "kind": "srr",
            "status": "in_progress",
            "authority": authority,
            "geometry": LAKE_ALBERT.buffer(0.03, join_style="mitre"),
        },
    ]
    w, s, e, n = SEARCH_BOX
    xs, ys = np.linspace(w, e, 4), np.linspace(s, n, 3)
    # A SAR plan (issue 4): POA as planned, PODs searched so far, POA now after the Bayes update.
    probs = plan_probabilities([poa for _s, _t, poa, _p in SECTORS], 0.0, [[pod] for *_x, pod in SECTORS])
    zones.append(
        {
            "id": area,
            "name": "Search area Kasenyi – Sebagoro crossing",
            "kind": "search_area",
            "parent_id": srr,
            "status": "in_progress",
            "authority": authority,
            "poa": 1.0 - probs.rest,
            "poa_initial": 1.0,
            "rest_poa": probs.rest,
            "pos": probs.total_pos,
            "area_km2": area_km2(box(*SEARCH_BOX)),
            "method": "grid",
            "target_km2": round(area_km2(box(*SEARCH_BOX)) / len(SECTORS), 1),
            "version": 1,
            "notes": "SYNTHETIC demo plan",
            "geometry": box(*SEARCH_BOX),
        }
    )
    for k, (status, team, poa, pod) in enumerate(SECTORS):
        col, row = k % 3, k // 3
        label = label_for_index((1 - row) * 3 + col)  # labels run north-west to south-east
        geom = box(xs[col], ys[row], xs[col + 1], ys[row + 1])
        zones.append(
            {
                "id": f"demo-sar-sector-{'AB'[row]}{col + 1}",
                "kind": "sector",
                "name": f"Sector {label}",
                "label": label,
                "parent_id": area,
                "status": status,
                "authority": authority,
                "team": team,
                "poa": probs.poa[k],
                "poa_initial": poa,
                "pod": pod,
                "cum_pod": probs.cum_pod[k],
                "pos": probs.pos[k],
                "area_km2": area_km2(geom),
                "geometry": geom,
            }
        )
    return zones


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
