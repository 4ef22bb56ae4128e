"""IAMSAR search theory against hand-computed examples: coverage, POD, cumulative POD, POS, Bayes, tracks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import Polygon, box

from geo.search_theory import (
    SearchTheoryError,
    bayes_update,
    coverage_for_pod,
    coverage_from_spacing,
    coverage_from_track,
    cumulative_pod,
    main_axis_deg,
    parallel_tracks,
    plan_probabilities,
    pod_from_coverage,
    pos,
    track_spacing_for_coverage,
    uniform_poa,
    weighted_poa,
)


@pytest.mark.parametrize(
    ("sweep_m", "spacing_m", "coverage", "pod"),
    [
        (1000, 1000, 1.0, 0.632121),  # C = 1: the classic 63 %
        (500, 1000, 0.5, 0.393469),
        (1852, 926, 2.0, 0.864665),  # W = 1 NM, S = 0.5 NM
        (300, 1200, 0.25, 0.221199),
    ],
)
def test_pod_from_track_spacing(sweep_m: float, spacing_m: float, coverage: float, pod: float) -> None:
    c = coverage_from_spacing(sweep_m, spacing_m)
    assert c == pytest.approx(coverage)
    assert pod_from_coverage(c) == pytest.approx(pod, abs=1e-6)


def test_coverage_from_track_length() -> None:
    # W = 2 km, L = 50 km over A = 100 km²: C = 2 × 50 / 100 = 1.0
    assert coverage_from_track(2000, 50, 100) == pytest.approx(1.0)
    # The same search expressed by spacing: 100 km² / 50 km = 2 km spacing, W = 2 km.
    assert coverage_from_track(2000, 50, 100) == pytest.approx(coverage_from_spacing(2000, 2000))


def test_cumulative_pod_and_pos() -> None:
    # Two sorties with POD 0.5 and 0.4: 1 − 0.5 × 0.6 = 0.7
    assert cumulative_pod([0.5, 0.4]) == pytest.approx(0.7)
    assert cumulative_pod([]) == 0.0
    assert cumulative_pod([0.632121, 0.632121]) == pytest.approx(1 - math.exp(-2), abs=1e-6)
    # POS = POA × POD: 0.3 × 0.7 = 0.21
    assert pos(0.3, cumulative_pod([0.5, 0.4])) == pytest.approx(0.21)


def test_bayes_update_hand_example() -> None:
    # POA 0.5 / 0.3 / 0.2; sector A searched with POD 0.6: Σ POA·POD = 0.3
    poas, rest = bayes_update([0.5, 0.3, 0.2], [0.6, 0.0, 0.0])
    assert poas == pytest.approx([0.2 / 0.7, 0.3 / 0.7, 0.2 / 0.7])
    assert poas == pytest.approx([0.285714, 0.428571, 0.285714], abs=1e-6)
    assert rest == 0.0


def test_bayes_update_with_rest_of_world() -> None:
    # POA 0.45 / 0.45, rest 0.1; sector A searched, POD 0.8: missed = 1 − 0.36 = 0.64
    poas, rest = bayes_update([0.45, 0.45], [0.8, 0.0], rest=0.1)
    assert poas == pytest.approx([0.09 / 0.64, 0.45 / 0.64])
    assert rest == pytest.approx(0.15625)
    assert sum(poas) + rest == pytest.approx(1.0)


def test_sequential_bayes_equals_plan_probabilities() -> None:
    initial, rest = [0.4, 0.35, 0.15], 0.1
    sorties = [(0, 0.5), (1, 0.3), (0, 0.6), (2, 0.9)]
    poas, r = list(initial), rest
    for sector, pod in sorties:
        pods = [pod if k == sector else 0.0 for k in range(3)]
        poas, r = bayes_update(poas, pods, r)
    per_sector = [[p for s, p in sorties if s == k] for k in range(3)]
    state = plan_probabilities(initial, rest, per_sector)
    assert state.poa == pytest.approx(poas)
    assert state.rest == pytest.approx(r)
    assert state.cum_pod == pytest.approx([0.8, 0.3, 0.9])
    assert state.pos == pytest.approx([0.4 * 0.8, 0.35 * 0.3, 0.15 * 0.9])
    assert state.total_pos == pytest.approx(0.32 + 0.105 + 0.135)


def test_track_spacing_for_desired_coverage() -> None:
    assert track_spacing_for_coverage(800, 1.6) == pytest.approx(500)
    assert coverage_for_pod(1 - math.exp(-1)) == pytest.approx(1.0)
    # Desired POD 78 %: C = −ln(0.22) = 1.514; with W = 600 m the spacing is 396 m.
    assert track_spacing_for_coverage(600, coverage_for_pod(0.78)) == pytest.approx(600 / 1.514128, rel=1e-5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: coverage_from_spacing(0, 100), "sweep width"),
        (lambda: coverage_from_spacing(100, -1), "track spacing"),
        (lambda: cumulative_pod([0.2, 1.2]), "POD of sortie 2"),
        (lambda: bayes_update([0.5, 0.4], [0.1, 0.1]), "sum to 1"),
        (lambda: bayes_update([1.0], [1.0]), "found"),
        (lambda: coverage_for_pod(1.0), "infinite"),
        (lambda: uniform_poa([1, 1], rest=1.0), "below 1"),
    ],
)
def test_bad_inputs_raise_one_line_errors(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SearchTheoryError, match=message):
        call()


def test_poa_uniform_and_weighted() -> None:
    assert uniform_poa([10, 30, 60]) == pytest.approx([0.1, 0.3, 0.6])
    assert uniform_poa([10, 30, 60], rest=0.2) == pytest.approx([0.08, 0.24, 0.48])
    # 10 % of the mass by area, 90 % by events: counts 0 / 3 / 1 over equal areas.
    w = weighted_poa([10, 10, 10], [0, 3, 1], background=0.1)
    assert w == pytest.approx([0.1 / 3, 0.1 / 3 + 0.9 * 0.75, 0.1 / 3 + 0.9 * 0.25])
    assert weighted_poa([10, 30], [0, 0]) == pytest.approx([0.25, 0.75])  # no events: uniform


@given(
    areas=st.lists(st.floats(0.1, 500), min_size=1, max_size=40),
    seed=st.integers(0, 10_000),
    rest=st.floats(0, 0.5),
)
@settings(max_examples=60, deadline=None)
def test_poa_always_sums_to_one(areas: list[float], seed: int, rest: float) -> None:
    counts = [(seed * (i + 7)) % 11 for i in range(len(areas))]
    for poas in (uniform_poa(areas, rest), weighted_poa(areas, counts, rest)):
        assert all(p >= 0 for p in poas)
        assert sum(poas) + rest == pytest.approx(1.0, abs=1e-9)
    pods = [((seed + i) % 10) / 10 for i in range(len(areas))]
    new, new_rest = bayes_update(uniform_poa(areas, rest), pods, rest)
    assert sum(new) + new_rest == pytest.approx(1.0, abs=1e-9)


def test_parallel_tracks_rectangle() -> None:
    # 10 km × 4 km, spacing 1 km: 4 legs of 10 km at 0.5, 1.5, 2.5, 3.5 km; + 3 cross legs of 1 km.
    plan = parallel_tracks(box(0, 0, 10_000, 4_000), 1000)
    assert plan.leg_count == 4
    assert plan.leg_length_km == pytest.approx(40)
    assert plan.track_length_km == pytest.approx(43)
    assert sorted(round(leg.coords[0][1]) for leg in plan.legs) == [500, 1500, 2500, 3500]
    # Boustrophedon: each leg starts where the previous one ended (same end of the sector).
    ends = plan.waypoints()
    assert ends[1][0] == pytest.approx(ends[2][0]) and ends[0][0] != pytest.approx(ends[1][0])


def test_parallel_tracks_centred_when_width_is_not_a_multiple() -> None:
    plan = parallel_tracks(box(0, 0, 10_000, 4_500), 1000)
    assert plan.leg_count == 5
    assert sorted(round(leg.coords[0][1]) for leg in plan.legs) == [250, 1250, 2250, 3250, 4250]


def test_parallel_tracks_follow_the_main_axis_of_a_rotated_sector() -> None:
    rotated = affinity.rotate(box(0, 0, 10_000, 4_000), 30, origin=(0, 0))
    assert main_axis_deg(rotated) == pytest.approx(30)
    plan = parallel_tracks(rotated, 1000)
    assert plan.leg_count == 4
    assert plan.leg_length_km == pytest.approx(40, rel=1e-6)
    assert plan.angle_deg == pytest.approx(30)


def test_parallel_tracks_cross_a_u_shape_twice() -> None:
    u_shape = Polygon(
        [(0, 0), (9000, 0), (9000, 3000), (6000, 3000), (6000, 1000), (3000, 1000), (3000, 3000), (0, 3000)]
    )
    plan = parallel_tracks(u_shape, 1000, angle_deg=0)
    # y = 500 crosses the base once (9 km); y = 1500 and 2500 cross both arms (3 km each).
    assert plan.leg_count == 5
    assert plan.leg_length_km == pytest.approx(9 + 4 * 3)
