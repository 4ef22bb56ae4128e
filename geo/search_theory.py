"""IAMSAR search theory: coverage, POD, POS, the Bayesian POA update, track spacing and legs.

Terms follow the IAMSAR Manual (Vol. II):

- **POA** (probability of area): the probability that the search object is in a sector.
  The POAs of a plan's sectors plus the optional "rest of world" share sum to 1.
- **Sweep width W**: the effective detection width of a sensor/searcher against the object.
- **Track spacing S**: the distance between adjacent parallel tracks.
- **Coverage C** = W / S, or W × L / A for a track length L flown over an area A.
- **POD** (probability of detection) = 1 − e^(−C) (the exponential detection function).
  Several sorties in one sector: cumulative POD = 1 − Π(1 − PODᵢ).
- **POS** (probability of success) = POA × POD.
- **Bayes update** after an unsuccessful search: POA′ᵢ = POAᵢ(1 − PODᵢ) / (1 − Σ POAⱼ·PODⱼ);
  the rest-of-world share is never searched (its POD is 0), so it grows as sectors are searched.

Units: sweep width and track spacing in metres, track length in km, areas in km².
Every function is pure and takes plain numbers or shapely geometries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from geo.errors import HbmError


class SearchTheoryError(HbmError):
    """A search-theory input is out of range (negative width, POA outside [0, 1], ...)."""


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise SearchTheoryError(f"{name} must be a positive number (got {value!r})")
    return float(value)


def _probability(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise SearchTheoryError(f"{name} must be between 0 and 1 (got {value!r})")
    return float(value)


def coverage_from_spacing(sweep_width_m: float, track_spacing_m: float) -> float:
    """Return the coverage factor C = W / S."""
    return _positive("sweep width", sweep_width_m) / _positive("track spacing", track_spacing_m)


def coverage_from_track(sweep_width_m: float, track_length_km: float, area_km2: float) -> float:
    """Return the coverage factor C = W × L / A (W in m, L in km, A in km²)."""
    width_km = _positive("sweep width", sweep_width_m) / 1000.0
    return width_km * _positive("track length", track_length_km) / _positive("area", area_km2)


def pod_from_coverage(coverage: float) -> float:
    """Return POD = 1 − e^(−C) for the coverage factor C (exponential detection function)."""
    if not (math.isfinite(coverage) and coverage >= 0):
        raise SearchTheoryError(f"coverage must be a number >= 0 (got {coverage!r})")
    return 1.0 - math.exp(-coverage)


def coverage_for_pod(pod: float) -> float:
    """Return the coverage factor C = −ln(1 − POD) that gives ``pod`` (0 ≤ POD < 1)."""
    if _probability("POD", pod) >= 1.0:
        raise SearchTheoryError("a POD of 1 needs infinite coverage: choose a POD below 1")
    return -math.log1p(-pod)


def track_spacing_for_coverage(sweep_width_m: float, coverage: float) -> float:
    """Return the track spacing S = W / C (m) that gives the coverage factor C."""
    return _positive("sweep width", sweep_width_m) / _positive("coverage", coverage)


def cumulative_pod(pods: Iterable[float]) -> float:
    """Return the cumulative POD after several sorties: 1 − Π(1 − PODᵢ)."""
    miss = 1.0
    for i, pod in enumerate(pods):
        miss *= 1.0 - _probability(f"POD of sortie {i + 1}", pod)
    return 1.0 - miss


def pos(poa: float, pod: float) -> float:
    """Return the probability of success POS = POA × POD."""
    return _probability("POA", poa) * _probability("POD", pod)


def bayes_update(poas: Sequence[float], pods: Sequence[float], rest: float = 0.0) -> tuple[list[float], float]:
    """Return (updated sector POAs, updated rest-of-world share) after an unsuccessful search.

    POA′ᵢ = POAᵢ(1 − PODᵢ) / (1 − Σ POAⱼ·PODⱼ); the rest of world is not searched (POD 0).
    The result is renormalised so that Σ POA′ + rest′ = 1 exactly.
    """
    if len(poas) != len(pods):
        raise SearchTheoryError(f"{len(poas)} POAs but {len(pods)} PODs")
    poas = [_probability("POA", p) for p in poas]
    pods = [_probability("POD", p) for p in pods]
    rest = _probability("rest-of-world share", rest)
    total = sum(poas) + rest
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise SearchTheoryError(f"POAs plus the rest-of-world share must sum to 1 (got {total:.6f})")
    missed = 1.0 - sum(a * d for a, d in zip(poas, pods, strict=True))
    if missed <= 1e-12:
        raise SearchTheoryError("every sector has POA × POD = 1: the object would have been found")
    new = [a * (1.0 - d) / missed for a, d in zip(poas, pods, strict=True)]
    new_rest = rest / missed
    norm = sum(new) + new_rest
    return [p / norm for p in new], new_rest / norm


def normalise_poa(weights: Sequence[float], rest: float = 0.0) -> list[float]:
    """Return POAs proportional to ``weights`` that sum to 1 − ``rest``."""
    rest = _probability("rest-of-world share", rest)
    if rest >= 1.0:
        raise SearchTheoryError("the rest-of-world share must be below 1")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise SearchTheoryError("POA weights must be numbers >= 0")
    total = float(sum(weights))
    if not weights:
        return []
    if total <= 0:
        raise SearchTheoryError("POA weights are all zero")
    return [(1.0 - rest) * w / total for w in weights]


def uniform_poa(areas_km2: Sequence[float], rest: float = 0.0) -> list[float]:
    """Return uniform-density POAs: each sector's share of the area, scaled to 1 − ``rest``."""
    return normalise_poa(list(areas_km2), rest)


def weighted_poa(
    areas_km2: Sequence[float], counts: Sequence[float], rest: float = 0.0, background: float = 0.1
) -> list[float]:
    """Return POAs weighted by event density: ``background`` of the mass by area, the rest by counts.

    The background share keeps sectors with no recent events searchable (POA > 0). With no
    events at all the result is uniform by area.
    """
    if len(areas_km2) != len(counts):
        raise SearchTheoryError(f"{len(areas_km2)} sectors but {len(counts)} counts")
    background = _probability("background share", background)
    total_area, total_count = float(sum(areas_km2)), float(sum(counts))
    if total_count <= 0:
        return uniform_poa(areas_km2, rest)
    if total_area <= 0:
        raise SearchTheoryError("sector areas are all zero")
    weights = [
        background * a / total_area + (1.0 - background) * c / total_count
        for a, c in zip(areas_km2, counts, strict=True)
    ]
    return normalise_poa(weights, rest)


@dataclass(frozen=True)
class TrackPlan:
    """Parallel-track search of one sector, in the sector's local metric frame."""

    spacing_m: float
    angle_deg: float  # direction of the legs, counter-clockwise from the x (east) axis
    legs: tuple[LineString, ...]  # in search order (boustrophedon)

    @property
    def leg_count(self) -> int:
        """Return the number of track legs."""
        return len(self.legs)

    @property
    def leg_length_km(self) -> float:
        """Return the summed length of the legs (km)."""
        return sum(leg.length for leg in self.legs) / 1000.0

    @property
    def track_length_km(self) -> float:
        """Return the total track length: the legs plus one spacing-long cross leg between each pair (km)."""
        return self.leg_length_km + max(0, self.leg_count - 1) * self.spacing_m / 1000.0

    def waypoints(self) -> list[tuple[float, float]]:
        """Return the start and end point of every leg, in search order (local metres)."""
        points: list[tuple[float, float]] = []
        for leg in self.legs:
            coords = list(leg.coords)
            points.extend([coords[0], coords[-1]])
        return points


def main_axis_deg(geom: BaseGeometry) -> float:
    """Return the direction (degrees from the x axis, in [0, 180)) of the long side of the minimum rotated rectangle."""
    rect = geom.minimum_rotated_rectangle
    if rect.geom_type != "Polygon":
        return 0.0
    (x0, y0), (x1, y1), (x2, y2) = list(rect.exterior.coords)[:3]
    side_a, side_b = math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x1, y2 - y1)
    dx, dy = (x1 - x0, y1 - y0) if side_a >= side_b else (x2 - x1, y2 - y1)
    return math.degrees(math.atan2(dy, dx)) % 180.0


def parallel_tracks(sector_m: BaseGeometry, spacing_m: float, angle_deg: float | None = None) -> TrackPlan:
    """Return the parallel-track legs over a sector given in local metres.

    Legs run along ``angle_deg`` (default: the sector's main axis), ``spacing_m`` apart, centred
    across the sector so that no edge strip is wider than half a spacing. Where a line crosses
    the sector more than once, each piece is a leg. Legs alternate direction (boustrophedon).
    """
    spacing_m = _positive("track spacing", spacing_m)
    if sector_m.is_empty or sector_m.area <= 0:
        raise SearchTheoryError("the sector has no area")
    angle = main_axis_deg(sector_m) if angle_deg is None else float(angle_deg)
    origin = sector_m.centroid
    flat = affinity.rotate(sector_m, -angle, origin=origin)
    minx, miny, maxx, maxy = flat.bounds
    width = maxy - miny
    lines = max(1, math.ceil(width / spacing_m - 1e-9))
    if lines > 20_000:
        raise SearchTheoryError(f"a track spacing of {spacing_m:g} m needs {lines} legs here: use a wider spacing")
    first = miny + (width - (lines - 1) * spacing_m) / 2.0
    legs: list[LineString] = []
    forward = True
    for k in range(lines):
        y = first + k * spacing_m
        cut = flat.intersection(LineString([(minx - 1.0, y), (maxx + 1.0, y)]))
        pieces = [g for g in getattr(cut, "geoms", [cut]) if g.geom_type == "LineString" and g.length > 0]
        pieces.sort(key=lambda g: g.bounds[0], reverse=not forward)
        for piece in pieces:
            coords = list(piece.coords)
            if (coords[0][0] > coords[-1][0]) == forward:
                coords.reverse()
            legs.append(LineString(coords))
        if pieces:
            forward = not forward
    back = MultiLineString(legs) if legs else None
    if back is not None:
        back = affinity.rotate(back, angle, origin=origin)
        legs = [LineString(g.coords) for g in shapely.get_parts(back)]
    return TrackPlan(spacing_m=spacing_m, angle_deg=angle, legs=tuple(legs))


@dataclass(frozen=True)
class PlanProbabilities:
    """A plan's probabilities after its sorties: per-sector lists in the input order, plus the rest of world."""

    poa: list[float]  # current POA, Bayes-updated for every unsuccessful sortie
    cum_pod: list[float]  # cumulative POD of each sector's sorties
    pos: list[float]  # cumulative POS: initial POA × cumulative POD
    rest: float  # current rest-of-world share

    @property
    def total_pos(self) -> float:
        """Return the plan's cumulative probability of success so far (Σ POS)."""
        return sum(self.pos)


def plan_probabilities(
    poa_initial: Sequence[float], rest_initial: float, sortie_pods: Sequence[Sequence[float]]
) -> PlanProbabilities:
    """Return the plan's POA, cumulative POD and POS after every sector's sorties (all unsuccessful).

    Applying :func:`bayes_update` after each sortie in turn gives the same POAs as this one
    batch update, POA′ᵢ ∝ POAᵢ(1 − cumulative PODᵢ), because the sorties' misses are independent.
    """
    if len(poa_initial) != len(sortie_pods):
        raise SearchTheoryError(f"{len(poa_initial)} sectors but {len(sortie_pods)} sortie lists")
    cum = [cumulative_pod(pods) for pods in sortie_pods]
    rest = _probability("rest-of-world share", rest_initial)
    total = sum(poa_initial) + rest
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise SearchTheoryError(f"initial POAs plus the rest-of-world share must sum to 1 (got {total:.6f})")
    weights = [_probability("POA", a) * (1.0 - c) for a, c in zip(poa_initial, cum, strict=True)]
    norm = sum(weights) + rest
    if norm <= 1e-12:
        raise SearchTheoryError("every sector has been searched to a POD of 1: the object would have been found")
    return PlanProbabilities(
        poa=[w / norm for w in weights],
        cum_pod=cum,
        pos=[a * c for a, c in zip(poa_initial, cum, strict=True)],
        rest=rest / norm,
    )
