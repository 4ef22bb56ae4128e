"""Hotspot statistics: change categories, Getis-Ord Gi* (checked against PySAL esda), emerging trend, areas."""

from __future__ import annotations

import esda
import h3
import libpysal
import numpy as np
import pandas as pd
import pytest
import shapely
from h3.api import basic_int
from scipy import sparse, stats

from geo.errors import InvalidView
from geo.getis_ord import bh_adjusted, confidence_bins, gi_star, neighbour_matrix, two_sided_p
from geo.hotspots import (
    CATEGORY_ORDER,
    HotspotSettings,
    cells_resolution,
    change_categories,
    hotspot_areas,
    hotspot_statistics,
    touching_components,
)

CENTRE = basic_int.latlng_to_cell(3.58, 32.06, 7)
PATCH = np.array(sorted(basic_int.grid_disk(CENTRE, 9)), dtype=np.int64)  # 271 res-7 cells
CLUSTER = np.array(sorted(basic_int.grid_disk(CENTRE, 1)), dtype=np.int64)  # the centre and its 6 neighbours


def _long(cells: np.ndarray, matrix: np.ndarray, people: np.ndarray | None = None) -> pd.DataFrame:
    """Long counts frame from a cells x windows matrix (column 0 = current), dropping zero pairs."""
    people = matrix * 3 if people is None else people
    frames = [
        pd.DataFrame({"cell": cells, "window": w, "events": matrix[:, w], "people": people[:, w]})
        for w in range(matrix.shape[1])
    ]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[(frame["events"] > 0) | (frame["people"] > 0)]
    return frame.astype({"cell": "int64", "window": "int64", "events": "int64", "people": "int64"})


def _clipped_neighbours(cells: np.ndarray, k: int = 1) -> dict[int, list[int]]:
    """Each cell's k-disk (itself included) restricted to ``cells``."""
    inside = set(cells.tolist())
    return {int(c): [int(x) for x in basic_int.grid_disk(int(c), k) if x in inside] for c in cells}


def _weights(cells: np.ndarray, neighbours: dict[int, list[int]]) -> sparse.csr_matrix:
    pos = {int(c): i for i, c in enumerate(cells)}
    rows = [pos[c] for c, ns in neighbours.items() for _ in ns]
    cols = [pos[n] for ns in neighbours.values() for n in ns]
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(cells.size, cells.size))


def _planted(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.poisson(2.0, PATCH.size).astype(float)
    y[np.searchsorted(PATCH, CLUSTER)] += rng.poisson(25.0, CLUSTER.size)
    return y


@pytest.mark.parametrize("self_in_lists", [True, False], ids=["self-in-lists", "esda-fills-diagonal"])
def test_gi_star_matches_esda_binary_star(self_in_lists: bool) -> None:
    y = _planted()
    neighbours = _clipped_neighbours(PATCH)
    z = gi_star(y, _weights(PATCH, neighbours))
    p = two_sided_p(z)
    lists = neighbours if self_in_lists else {c: [n for n in ns if n != c] for c, ns in neighbours.items()}
    w = libpysal.weights.W(lists, id_order=PATCH.tolist(), silence_warnings=True)
    reference = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    assert PATCH.size >= 200
    assert np.abs(z - reference.Zs).max() < 1e-6
    assert np.abs(p - 2 * reference.p_norm).max() < 1e-6  # esda's p_norm is one-tailed
    assert z[np.searchsorted(PATCH, CENTRE)] > 5
    if self_in_lists:  # row-standardised weights give different z: the transform matters and is checked
        row_std = esda.G_Local(y, w, transform="R", star=True, permutations=0)
        assert np.abs(z - row_std.Zs).max() > 0.1


def test_hotspot_statistics_matches_esda_on_the_padded_study_area() -> None:
    rng = np.random.default_rng(11)
    cells = PATCH[rng.random(PATCH.size) < 0.8]  # holes inside, padding outside
    matrix = rng.poisson(2.0, (cells.size, 5))
    matrix[np.isin(cells, CLUSTER), 0] += 30
    stats_frame = hotspot_statistics(_long(cells, matrix))
    study = np.array(sorted({x for c in cells.tolist() for x in basic_int.grid_disk(c, 1)}), dtype=np.int64)
    y = np.zeros(study.size)
    y[np.searchsorted(study, cells)] = matrix[:, 0]
    w = libpysal.weights.W(_clipped_neighbours(study), id_order=study.tolist(), silence_warnings=True)
    reference = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    at = np.searchsorted(study, stats_frame["cell"].to_numpy())
    assert stats_frame["cell"].tolist() == sorted(cells.tolist())
    assert np.abs(stats_frame["gi_z"].to_numpy() - reference.Zs[at]).max() < 1e-6
    assert np.abs(stats_frame["gi_p"].to_numpy() - 2 * reference.p_norm[at]).max() < 1e-6


def test_neighbour_matrix_rows_are_k_disks_including_self() -> None:
    cells = np.array([CENTRE, int(PATCH[0])], dtype=np.int64)
    weights, study = neighbour_matrix(cells, 2)
    assert weights.shape == (2, study.size)
    for row, cell in enumerate(cells.tolist()):
        got = set(study[weights[row].indices].tolist())
        assert got == set(basic_int.grid_disk(cell, 2)) and cell in got
    assert np.array_equal(study, np.unique(study))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.zeros(10), np.zeros(10)),  # nothing anywhere: undefined, reported as 0
        (np.full(10, 4.0), np.zeros(10)),  # every value equal
    ],
)
def test_gi_star_degenerate_is_zero(values: np.ndarray, expected: np.ndarray) -> None:
    cells = PATCH[:10]
    z = gi_star(values, _weights(cells, _clipped_neighbours(cells)))
    assert np.array_equal(z, expected)
    assert np.array_equal(two_sided_p(z), np.ones(10))


def test_bh_matches_scipy_below_the_cut_and_bins_follow_it() -> None:
    p = np.array([0.0005, 0.004, 0.012, 0.03, 0.049, 0.08, 0.2, 0.6, 0.95, 0.011])
    adjusted = bh_adjusted(p, up_to=0.1)
    reference = stats.false_discovery_control(p, method="bh")
    below = p <= 0.1
    assert np.allclose(adjusted[below & (reference <= 0.1)], reference[below & (reference <= 0.1)])
    assert np.array_equal(adjusted <= 0.1, reference <= 0.1)
    z = np.array([4.0, -3.0, 2.5, 2.2, -2.0, 1.8, 1.3, 0.5, 0.1, 2.6])
    raw = confidence_bins(z, p, fdr=False)
    assert raw.tolist() == [3, -3, 2, 2, -2, 1, 0, 0, 0, 2]
    corrected = confidence_bins(z, p, fdr=True)
    expected = np.sign(z) * np.select([reference <= 0.01, reference <= 0.05, reference <= 0.10], [3, 2, 1], 0)
    assert corrected.tolist() == expected.tolist()
    assert (np.abs(corrected) <= np.abs(raw)).all() and (np.abs(corrected) < np.abs(raw)).any()


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [
        ([200, 200, 200, 200], 200, "limited_change"),  # high but steady
        ([0, 0, 0, 0], 1, "limited_change"),  # 0 -> 1 is not a surge, not even "new"
        ([0, 0, 0, 0], 5, "limited_change"),
        ([0, 0, 0, 0], 6, "new"),
        ([1, 1, 1, 1], 5, "limited_change"),  # +400% but a low baseline and few now
        ([2, 2, 2, 2], 6, "large_increase"),  # low baseline, but more than a handful now
        ([3, 3, 3, 3], 5, "large_increase"),  # baseline above the guard
        ([40, 0, 0, 0], 13, "large_increase"),  # zeros count in the mean (10)
        ([20, 20, 20, 20], 26, "large_increase"),
        ([20, 20, 20, 20], 25, "moderate_increase"),  # +25% exactly
        ([20, 20, 20, 20], 22, "moderate_increase"),  # +10% exactly
        ([20, 20, 20, 20], 21, "limited_change"),
        ([20, 20, 20, 20], 15, "limited_change"),  # -25% exactly
        ([20, 20, 20, 20], 14, "large_decrease"),
        ([10, 0, 0, 0], 0, "large_decrease"),  # mean 2.5: above the guard
        ([4, 0, 0, 0], 0, "limited_change"),  # mean 1: guarded
    ],
)
def test_change_categories(baseline: list[int], current: int, expected: str) -> None:
    got = change_categories(np.array([current]), np.array([baseline]), HotspotSettings())
    assert got.tolist() == [expected]


def test_change_categories_follow_settings() -> None:
    loose = HotspotSettings(large_increase=0.5, low_current_max=0)
    got = change_categories(np.array([13, 1]), np.array([[10] * 4, [0] * 4]), loose)
    assert got.tolist() == ["moderate_increase", "new"]


def test_high_steady_rate_is_not_a_surge() -> None:
    region = np.array(sorted(basic_int.grid_disk(CENTRE, 2)), dtype=np.int64)
    matrix = np.zeros((PATCH.size, 5), dtype=np.int64)
    matrix[np.isin(PATCH, region)] = 200
    matrix[~np.isin(PATCH, region)] = 1
    result = hotspot_statistics(_long(PATCH, matrix))
    inside = result[result["cell"].isin(region)]
    assert (result["category"] == "limited_change").all()
    assert (result["change_pct"] == 0).all()
    assert not result["emerging"].isin(["new", "intensifying", "consecutive"]).any()
    # The dense region does stand out from its surroundings in every window, honestly: Gi* flags it,
    # and because it always did the emerging trend calls it persistent, not new.
    centre = result.set_index("cell").loc[CENTRE]
    assert centre["gi_bin"] == 3 and centre["emerging"] == "persistent"
    assert (inside["trend_tau"] == 0).all()


def test_planted_surge_is_flagged_by_category_and_gi() -> None:
    rng = np.random.default_rng(5)
    matrix = rng.poisson(3.0, (PATCH.size, 5))
    in_cluster = np.isin(PATCH, CLUSTER)
    matrix[in_cluster, 0] += 40
    result = hotspot_statistics(_long(PATCH, matrix)).set_index("cell")
    cluster = result.loc[CLUSTER]
    assert (cluster["category"] == "large_increase").all()
    assert (cluster["gi_bin"] >= 2).all() and result.loc[CENTRE, "gi_bin"] == 3
    assert result.loc[CENTRE, "emerging"] == "new"
    far = result.loc[PATCH[~np.isin(PATCH, basic_int.grid_disk(CENTRE, 2))]]
    assert (far["gi_bin"] < 2).all()


def test_result_columns_and_people_value() -> None:
    cells = PATCH[:30]
    matrix = np.arange(30 * 5).reshape(30, 5) % 7
    people = matrix * 10 + 1
    result = hotspot_statistics(_long(cells, matrix, people), value="people", settings=HotspotSettings())
    assert list(result.columns) == [
        "cell", "res", "events", "people", "current", "w1", "w2", "w3", "w4",
        "baseline_mean", "change_pct", "category", "gi_z", "gi_p", "gi_bin", "emerging", "trend_tau", "trend_p",
    ]  # fmt: skip
    order = np.argsort(cells)
    assert result["cell"].tolist() == cells[order].tolist()
    assert result["current"].tolist() == people[order, 0].tolist()
    assert result["people"].tolist() == people[order, 0].tolist()
    assert result["events"].tolist() == matrix[order, 0].tolist()
    assert result["w3"].tolist() == people[order, 3].tolist()
    assert np.allclose(result["baseline_mean"], people[order, 1:].mean(axis=1))
    assert (result["res"] == 7).all() and result.attrs["value"] == "people"
    assert result["gi_bin"].between(-3, 3).all()


def test_missing_pairs_mean_zero_and_order_does_not_matter() -> None:
    rng = np.random.default_rng(2)
    cells = PATCH[:60]
    matrix = rng.poisson(1.0, (60, 5))
    sparse_counts = _long(cells, matrix)
    dense_counts = pd.concat(
        [
            pd.DataFrame({"cell": cells, "window": w, "events": matrix[:, w], "people": matrix[:, w] * 3})
            for w in range(5)
        ]
    )
    a = hotspot_statistics(sparse_counts)
    b = hotspot_statistics(dense_counts.sample(frac=1.0, random_state=1))
    pd.testing.assert_frame_equal(a, b)
    assert (a["change_pct"].isna() == (a[["w1", "w2", "w3", "w4"]].sum(axis=1) == 0)).all()


def test_mixed_resolutions_are_analysed_separately() -> None:
    rng = np.random.default_rng(4)
    fine = rng.poisson(2.0, (PATCH.size, 5))
    coarse_cells = np.array(sorted(basic_int.grid_disk(basic_int.cell_to_parent(CENTRE, 5), 2)), dtype=np.int64)
    coarse = rng.poisson(20.0, (coarse_cells.size, 5))
    alone = hotspot_statistics(_long(PATCH, fine))
    mixed = hotspot_statistics(pd.concat([_long(PATCH, fine), _long(coarse_cells, coarse)]))
    assert sorted(mixed["res"].unique().tolist()) == [5, 7]
    assert np.array_equal(cells_resolution(mixed["cell"].to_numpy()), mixed["res"].to_numpy())
    pd.testing.assert_frame_equal(mixed[mixed["res"] == 7].reset_index(drop=True), alone)


def test_empty_counts_give_an_empty_frame() -> None:
    empty = pd.DataFrame({"cell": [], "window": [], "events": [], "people": []})
    result = hotspot_statistics(empty)
    assert result.empty and "gi_z" in result.columns and "w4" in result.columns
    assert hotspot_areas(result).empty and hotspot_areas(result).crs == "EPSG:4326"


@pytest.mark.parametrize(
    ("counts", "kwargs", "message"),
    [
        (pd.DataFrame({"cell": [CENTRE], "window": [5], "events": [1], "people": [1]}), {}, "windows 5..5"),
        (pd.DataFrame({"cell": [CENTRE], "window": [0], "events": [-1], "people": [1]}), {}, "non-negative"),
        (pd.DataFrame({"cell": [CENTRE], "window": [0], "events": [1]}), {}, "people"),
        (pd.DataFrame({"cell": [CENTRE], "window": [0], "events": [1], "people": [1]}), {"value": "kg"}, "kg"),
        (pd.DataFrame({"cell": [12345], "window": [0], "events": [1], "people": [1]}), {}, "not a valid H3 cell"),
    ],
)
def test_bad_counts_raise_one_line_errors(counts: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidView, match=message):
        hotspot_statistics(counts, **kwargs)


def test_settings_validate() -> None:
    with pytest.raises(InvalidView):
        HotspotSettings(moderate_increase=0.5, large_increase=0.25)
    with pytest.raises(InvalidView):
        HotspotSettings(area_categories=("huge",))
    assert HotspotSettings().alphas == (0.10, 0.05, 0.01)


def test_hotspot_areas_merge_touching_hot_cells() -> None:
    other = basic_int.grid_disk(int(PATCH[0]), 1)  # a second cluster at the patch's edge, far from the centre
    far_cluster = np.array(sorted(set(other) & set(PATCH.tolist())), dtype=np.int64)
    matrix = np.full((PATCH.size, 5), 2, dtype=np.int64)
    matrix[np.isin(PATCH, CLUSTER), 0] = 60
    matrix[np.isin(PATCH, far_cluster), 0] = 60
    result = hotspot_statistics(_long(PATCH, matrix))
    areas = hotspot_areas(result)
    hot = result[(result["gi_bin"] >= 2) | result["category"].isin(["large_increase", "new"])]
    assert areas.crs == "EPSG:4326" and len(areas) == 2
    assert areas["cells"].sum() == len(hot)
    assert areas["events"].sum() == hot["events"].sum() and areas["people"].sum() == hot["people"].sum()
    for area in areas.itertuples():
        assert area.geometry.is_valid and area.geometry.geom_type == "Polygon"
        members = [
            c
            for c in hot["cell"]
            if shapely.contains(area.geometry, shapely.Point(h3.cell_to_latlng(h3.int_to_str(c))[::-1]))
        ]
        assert len(members) == area.cells
        assert area.area_id == h3.int_to_str(min(members))
        assert area.geometry.contains(shapely.Point(area.lng, area.lat))
        assert area.category == "large_increase" and area.gi_bin >= 2
        expected_area = shapely.union_all(
            [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(c))]) for c in members]
        ).area
        assert area.geometry.area == pytest.approx(expected_area, rel=1e-6)
    assert areas["area_id"].tolist() == sorted(areas["area_id"].tolist())


def test_area_category_is_the_strongest_member() -> None:
    cells = CLUSTER
    stats_frame = pd.DataFrame(
        {
            "cell": cells,
            "res": 7,
            "events": 1,
            "people": 2,
            "category": ["large_increase", "new"] + ["limited_change"] * (cells.size - 2),
            "gi_bin": [0, 0] + [2] * (cells.size - 2),
        }
    )
    areas = hotspot_areas(stats_frame)
    assert len(areas) == 1
    assert areas.loc[0, "category"] == "new" == CATEGORY_ORDER[-1]
    assert areas.loc[0, "cells"] == cells.size and areas.loc[0, "people"] == 2 * cells.size
    assert hotspot_areas(stats_frame, HotspotSettings(area_min_bin=3, area_categories=())).empty


def test_touching_components_labels_chains_in_order() -> None:
    ring2 = sorted(set(basic_int.grid_ring(CENTRE, 2)))
    chain = [CENTRE, *sorted(set(basic_int.grid_ring(CENTRE, 1)) & set(basic_int.grid_disk(ring2[0], 1)))[:1], ring2[0]]
    lonely = int(PATCH[0])
    cells = np.array([lonely, *chain], dtype=np.int64)
    labels = touching_components(cells)
    assert labels.tolist() == [0, 1, 1, 1]  # the chain is one component although its ends do not touch
    assert not basic_int.are_neighbor_cells(chain[0], chain[2])
