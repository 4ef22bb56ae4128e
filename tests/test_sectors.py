"""Search areas and sectoring: labels, projections, areas, and the tiling properties (hypothesis)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, Polygon, box, mapping

from geo.search_theory import uniform_poa, weighted_poa
from geo.sectors import (
    MAX_SECTORS,
    SectorError,
    area_km2,
    circle_area,
    distress_area,
    distress_radius_km,
    h3_resolution_for,
    index_of_label,
    label_for_index,
    laea_crs,
    make_sectors,
    next_labels,
    nw_to_se_order,
    polygon_from_geojson,
    split_in_two,
    utm_epsg,
)

GEOD = Geod(ellps="WGS84")
# Centres in several UTM zones, both hemispheres, the tropics and high latitude (70°+).
CENTRES = [
    (1.4, 30.7),  # Lake Albert, zone 36N
    (-33.9, 18.4),  # Cape Town, zone 34S
    (36.8, -5.6),  # Strait of Gibraltar, zone 30N
    (14.5, 119.9),  # Philippines, zone 51N
    (-8.6, -35.1),  # Brazil, zone 25S
    (70.6, 23.7),  # Hammerfest, zone 34N, high latitude
    (78.2, 15.6),  # Svalbard, very high latitude
    (-62.2, -58.9),  # South Shetlands, zone 21S
]


def geodesic_area_km2(geom: Polygon) -> float:
    """Independent check: the ellipsoidal area of a densified lng/lat polygon (pyproj Geod)."""
    dense = shapely.segmentize(geom, 0.001)
    return abs(GEOD.geometry_area_perimeter(dense)[0]) / 1e6


@pytest.mark.parametrize(
    ("index", "label"), [(0, "AA"), (1, "AB"), (25, "AZ"), (26, "BA"), (27, "BB"), (MAX_SECTORS - 1, "ZZ")]
)
def test_labels_run_aa_to_zz(index: int, label: str) -> None:
    assert label_for_index(index) == label
    assert index_of_label(label) == index


def test_labels_beyond_zz_and_malformed_labels_are_refused() -> None:
    with pytest.raises(SectorError, match="AA–ZZ"):
        label_for_index(MAX_SECTORS)
    with pytest.raises(SectorError, match="not a sector label"):
        index_of_label("a1")
    with pytest.raises(SectorError, match="no room"):
        next_labels(["ZY"], 2)


def test_next_labels_continue_after_the_highest_ever_used() -> None:
    assert next_labels([], 3) == ["AA", "AB", "AC"]
    # AB was retired (deleted): it is never handed out again.
    assert next_labels(["AA", "AC", "AB"], 2) == ["AD", "AE"]
    assert next_labels(["AZ"], 1) == ["BA"]


@pytest.mark.parametrize(
    ("lat", "lng", "epsg"),
    [(1.4, 30.7, 32636), (-33.9, 18.4, 32734), (70.6, 23.7, 32634), (0.0, -180.0, 32601), (-0.1, 179.9, 32760)],
)
def test_utm_zone(lat: float, lng: float, epsg: int) -> None:
    assert utm_epsg(lat, lng) == epsg


@pytest.mark.parametrize(("lat", "lng"), CENTRES)
def test_equal_area_matches_the_ellipsoid(lat: float, lng: float) -> None:
    cell = box(lng - 0.3, lat - 0.2, lng + 0.3, lat + 0.2)
    assert area_km2(cell) == pytest.approx(geodesic_area_km2(cell), rel=1e-4)


def test_one_degree_square_at_the_equator() -> None:
    assert area_km2(box(0, 0, 1, 1)) == pytest.approx(12308.8, rel=1e-4)


@pytest.mark.parametrize(("lat", "lng"), CENTRES)
def test_circle_area_is_pi_r_squared(lat: float, lng: float) -> None:
    circle = circle_area(lat, lng, 20)
    # A 128-gon inscribed in a 20 km circle: (n/2) r² sin(2π/n) = π r² × 0.9996.
    expected = 64 * 20**2 * math.sin(2 * math.pi / 128)
    assert area_km2(circle) == pytest.approx(expected, rel=2e-3)


def test_distress_radius_grows_with_age_and_imprecision() -> None:
    # X = 1 km, Y = 0.5 km, fs = 1.5, 2 h at 1 km/h: 1.5 × √1.25 + 2 = 3.677 km
    assert distress_radius_km(2, 1000) == pytest.approx(1.5 * math.sqrt(1.25) + 2)
    assert distress_radius_km(0, 10) == 1.0  # the minimum
    assert distress_radius_km(5, 1000) > distress_radius_km(2, 1000)
    assert distress_radius_km(2, None) > distress_radius_km(2, 1000)  # unknown precision: 5 km
    circle, radius = distress_area(1.4, 30.7, 2, 1000)
    assert area_km2(circle) == pytest.approx(math.pi * radius**2, rel=2e-3)


def test_drawn_polygon_from_edit_control_geojson() -> None:
    ring = Polygon([(30.6, 1.3), (30.8, 1.3), (30.8, 1.5), (30.6, 1.5)])
    drawn = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": mapping(ring), "properties": {}}],
    }
    assert polygon_from_geojson(drawn).equals(ring)
    assert polygon_from_geojson(mapping(ring)).equals(ring)


@pytest.mark.parametrize(
    ("drawn", "message"),
    [
        (None, "draw a polygon"),
        ({"type": "FeatureCollection", "features": []}, "no polygon drawn"),
        (
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "geometry": mapping(LineString([(0, 0), (1, 1)]))}],
            },
            "no polygon drawn",
        ),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}, "no area"),
        ({"type": "Polygon", "coordinates": "nonsense"}, "not a valid GeoJSON polygon"),
        ({"type": "Polygon", "coordinates": [[[0, 86], [1, 86], [1, 87], [0, 86]]]}, "84.5"),
    ],
)
def test_bad_search_areas_give_one_line_errors(drawn: dict | None, message: str) -> None:
    with pytest.raises(SectorError, match=message):
        polygon_from_geojson(drawn)


def test_bad_sectoring_requests() -> None:
    area = circle_area(1.4, 30.7, 50)
    with pytest.raises(SectorError, match="method"):
        make_sectors(area, "hex", 10)
    with pytest.raises(SectorError, match="at least"):
        make_sectors(area, "grid", 0)
    with pytest.raises(SectorError, match="larger sector size"):
        make_sectors(area, "h3", 1)
    with pytest.raises(SectorError, match="radius"):
        circle_area(1.4, 30.7, 900)


def test_h3_resolution_closest_to_target() -> None:
    # Average cell areas: res 6 ≈ 36 km², res 7 ≈ 5.2 km², res 8 ≈ 0.74 km².
    assert h3_resolution_for(36, 1.4, 30.7) == 6
    assert h3_resolution_for(5, 1.4, 30.7) == 7
    assert h3_resolution_for(0.7, 1.4, 30.7) == 8


def test_grid_of_a_rectangle_gives_equal_sectors_labelled_nw_to_se() -> None:
    # About 22 km × 11 km near the equator, sectors of ~30 km²: a regular grid, no slivers.
    area = box(30.6, 1.3, 30.8, 1.4)
    sectors = make_sectors(area, "grid", 30, rotate=False)
    sizes = [s.area_km2 for s in sectors]
    assert max(sizes) / min(sizes) == pytest.approx(1.0, abs=0.01)
    assert [s.label for s in sectors] == [label_for_index(i) for i in range(len(sectors))]
    first, last = sectors[0].geometry.centroid, sectors[-1].geometry.centroid
    assert first.y > last.y and first.x < last.x  # AA north-west, the last one south-east
    # Row by row: within the first row, labels go west to east.
    row = [s for s in sectors if s.geometry.centroid.y > area.centroid.y]
    xs = [s.geometry.centroid.x for s in row]
    assert xs == sorted(xs)


def test_rotated_grid_follows_the_main_axis() -> None:
    # A long strip running north-east: with rotation the grid cells line up with it and are whole.
    strip = shapely.affinity.rotate(box(30.0, 1.0, 30.6, 1.1), 35, origin=(30.3, 1.05))
    rotated = make_sectors(strip, "grid", 40, rotate=True)
    straight = make_sectors(strip, "grid", 40, rotate=False)
    sizes = [s.area_km2 for s in rotated]
    assert max(sizes) / min(sizes) < 1.05  # whole rectangles along the strip
    assert len(rotated) < len(straight)  # the north-aligned grid cuts the strip into more pieces


def _star_polygon(lat: float, lng: float, radius_km: float, radii: list[float], angle0: float) -> Polygon:
    n = len(radii)
    az = angle0 + np.arange(n) * 360.0 / n
    lngs, lats, _ = GEOD.fwd(np.full(n, lng), np.full(n, lat), az, np.array(radii) * radius_km * 1000)
    return Polygon(zip(lngs, lats, strict=True))


polygons = st.builds(
    _star_polygon,
    st.sampled_from(CENTRES).map(lambda c: c[0]),
    st.just(0.0),
    st.floats(5, 60),
    st.lists(st.floats(0.35, 1.0), min_size=4, max_size=12),
    st.floats(0, 360),
)


@st.composite
def search_areas(draw: st.DrawFn) -> tuple[Polygon, float]:
    lat, lng = draw(st.sampled_from(CENTRES))
    radius = draw(st.floats(5, 60))
    radii = draw(st.lists(st.floats(0.35, 1.0), min_size=4, max_size=12))
    poly = _star_polygon(lat, lng, radius, radii, draw(st.floats(0, 360)))
    # Between about 3 and 80 sectors.
    target = area_km2(poly) / draw(st.floats(3, 80))
    return poly, target


def _check_tiling(area: Polygon, sectors: list) -> None:
    total = area_km2(area)
    crs = laea_crs(area.centroid.y, area.centroid.x)
    summed = sum(s.area_km2 for s in sectors)
    assert summed == pytest.approx(total, rel=0.005), "sectors must tile the area to within 0.5 %"
    union = shapely.union_all([s.geometry for s in sectors])
    assert area_km2(shapely.symmetric_difference(union, area)) <= 0.005 * total, "gaps or spill-over"
    tree = shapely.STRtree([s.geometry for s in sectors])
    overlap = 0.0
    for i, j in zip(*tree.query([s.geometry for s in sectors], predicate="intersects"), strict=True):
        if i < j:
            overlap += area_km2(shapely.intersection(sectors[i].geometry, sectors[j].geometry), crs)
    assert overlap <= 1e-6 * total, f"sectors overlap by {overlap:.3g} km²"
    labels = [s.label for s in sectors]
    assert labels == [label_for_index(i) for i in range(len(sectors))]


@given(case=search_areas(), method=st.sampled_from(["h3", "grid"]), rotate=st.booleans())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_sectors_tile_random_polygons(case: tuple[Polygon, float], method: str, rotate: bool) -> None:
    area, target = case
    sectors = make_sectors(area, method, target, rotate=rotate)
    _check_tiling(area, sectors)
    areas = [s.area_km2 for s in sectors]
    counts = [int(1000 * s.geometry.centroid.x) % 7 for s in sectors]
    assert sum(uniform_poa(areas)) == pytest.approx(1.0)
    assert sum(weighted_poa(areas, counts, rest=0.05)) + 0.05 == pytest.approx(1.0)


@pytest.mark.parametrize(("lat", "lng"), [(70.6, 23.7), (78.2, 15.6), (-62.2, -58.9)])
@pytest.mark.parametrize("method", ["h3", "grid"])
def test_high_latitude_circles_tile(lat: float, lng: float, method: str) -> None:
    area = circle_area(lat, lng, 30)
    _check_tiling(area, make_sectors(area, method, 60))


def test_concave_area_merges_slivers_but_still_tiles() -> None:
    u_shape = Polygon(
        [(30.0, 1.0), (30.3, 1.0), (30.3, 1.2), (30.2, 1.2), (30.2, 1.05), (30.1, 1.05), (30.1, 1.2), (30.0, 1.2)]
    )
    for method in ("h3", "grid"):
        sectors = make_sectors(u_shape, method, 25)
        _check_tiling(u_shape, sectors)
        target_like = np.median([s.area_km2 for s in sectors])
        assert min(s.area_km2 for s in sectors) >= 0.2 * target_like or len(sectors) < 3


def test_split_in_two_keeps_the_area() -> None:
    sector = box(30.6, 1.3, 30.7, 1.35)
    a, b = split_in_two(sector)
    assert area_km2(a) + area_km2(b) == pytest.approx(area_km2(sector), rel=1e-3)
    assert area_km2(a) == pytest.approx(area_km2(b), rel=0.02)
    assert area_km2(shapely.intersection(a, b)) < 1e-6


def test_nw_to_se_order_is_deterministic() -> None:
    cells = [box(x, y, x + 0.1, y + 0.1) for y, x in itertools.product((1.0, 1.1), (30.0, 30.1, 30.2))]
    order = nw_to_se_order(cells)
    assert [cells[i].bounds[:2] for i in order] == [
        (30.0, 1.1),
        (30.1, 1.1),
        (30.2, 1.1),
        (30.0, 1.0),
        (30.1, 1.0),
        (30.2, 1.0),
    ]
