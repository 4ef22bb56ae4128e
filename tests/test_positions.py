"""Plausible positions: distances to a country, the corrections tried, the bundled outlines and their names."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import box

from data.boundaries import find_country, on_land
from geo.positions import correct_into, distance_to_km

GEOD = Geod(ellps="WGS84")
ROOT = Path(__file__).resolve().parents[1]


def _geodesic_km(lat: float, lng: float, area: shapely.Geometry) -> float:
    """Reference: the shortest WGS84 geodesic from the point to the densified outline (slow, exact enough)."""
    ring = shapely.get_coordinates(shapely.segmentize(area.boundary, 0.005))
    _, _, metres = GEOD.inv(np.full(len(ring), lng), np.full(len(ring), lat), ring[:, 0], ring[:, 1])
    return float(np.min(metres)) / 1000


AREA = box(20.0, 30.0, 30.0, 45.0)  # a country 10 x 15 degrees, spanning mid latitudes


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(15.0, 60.0), lng=st.floats(0.0, 50.0))
def test_distance_matches_a_geodesic_reference(lat: float, lng: float) -> None:
    got = float(distance_to_km(np.array([lat]), np.array([lng]), AREA)[0])
    if AREA.contains(shapely.Point(lng, lat)):
        assert got == 0.0
    else:
        ref = _geodesic_km(lat, lng, AREA)
        assert got == pytest.approx(ref, rel=0.015, abs=1.0)


def test_distance_is_nan_for_a_non_position() -> None:
    assert np.isnan(distance_to_km(np.array([95.0, np.nan]), np.array([31.4, 1.0]), AREA)).all()


@pytest.mark.parametrize(
    ("lat", "lng", "expected", "what"),
    [
        (25.0, 35.0, (35.0, 25.0), "swapped"),  # swapped into the box
        (-35.0, 25.0, (35.0, 25.0), "lat sign"),
        (35.0, -25.0, (35.0, 25.0), "lon sign"),
        (-35.0, -25.0, (35.0, 25.0), "lat and lon signs"),
        (-25.0, 35.0, (35.0, 25.0), "swapped, lon sign"),  # swapped, then the new lon's sign
        (25.0, -35.0, (35.0, 25.0), "swapped, lat sign"),
        (60.0, 60.0, (60.0, 60.0), ""),  # nothing puts it inside: unchanged
        (95.0, 31.4, (95.0, 31.4), ""),
    ],
)
def test_correct_into_tries_swaps_and_signs(lat: float, lng: float, expected: tuple, what: str) -> None:
    new_lat, new_lng, how = correct_into(np.array([lat]), np.array([lng]), AREA, 10.0)
    assert (float(new_lat[0]), float(new_lng[0]), how[0]) == (*expected, what)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("UGA", "UGA"),
        ("uga", "UGA"),
        ("Uganda", "UGA"),
        ("Iran (Islamic Republic of)", "IRN"),  # MMP's UN-style names
        ("Venezuela (Bolivarian Republic of)", "VEN"),
        ("United Republic of Tanzania", "TZA"),
        ("Türkiye", "TUR"),
        ("Côte d'Ivoire", "CIV"),
        ("China, Hong Kong Special Administrative Region", "HKG"),
        ("Mayotte", "FRA"),  # drawn as part of France
        ("United States of America", "USA"),
        ("Dem. Rep. Congo", "COD"),  # Natural Earth's own spelling
    ],
)
def test_find_country_by_code_or_name(name: str, code: str) -> None:
    country = find_country(name)
    assert country is not None and country.code == code


@pytest.mark.parametrize("name", ["Atlantis", "", None, "Mediterranean", "XYZ"])
def test_unknown_countries_are_none(name: str | None) -> None:
    assert find_country(name) is None


def test_points_are_inside_their_country_and_at_sea() -> None:
    uganda = find_country("UGA")
    assert uganda is not None and uganda.geometry.contains(shapely.Point(32.58, 0.35))  # Kampala
    assert on_land(np.array([0.35, 35.5, -30.0]), np.array([32.58, 18.0, -20.0])).tolist() == [True, False, False]


def _importers(package: str, banned: set[str]) -> set[str]:
    """Return the modules of ``package`` that import any of ``banned`` (top-level package names)."""
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(n.split(".")[0] in banned for n in names):
                found.add(str(path.relative_to(ROOT)))
    return found


def test_import_direction_dashboard_layers_data_geo() -> None:
    assert _importers("geo", {"dash", "sqlalchemy", "flask", "data", "layers", "dashboard"}) == set()
    # data/users.py reads the role names from dashboard.permissions: a known exception, not to grow.
    assert _importers("data", {"layers", "dashboard", "dash"}) <= {"data/users.py"}
    assert _importers("layers", {"dashboard"}) == set()
