"""A SYNTHETIC but geographically plausible crisis on the DRC–Uganda–South Sudan borders.

Crossing points carry real place names at approximate real positions; every number attached
to them (status, capacity, events, people) is invented. Nothing here is observed data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from shapely.geometry import LineString, Point, Polygon, box

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
