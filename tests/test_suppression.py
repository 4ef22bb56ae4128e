"""Small-count suppression (merge into parent cells) and the resolution that fits a location's precision."""

from __future__ import annotations

import math

import h3
import numpy as np
import pandas as pd
import pytest
from h3.api import basic_int

from geo.cells import precision_limit_m
from geo.errors import InvalidView
from geo.suppression import OUTPUT_COLUMNS, resolution_for_precision, suppress_small_counts

PARENT = basic_int.latlng_to_cell(3.58, 32.06, 6)
KIDS = sorted(basic_int.cell_to_children(PARENT, 7))  # 7 res-7 siblings
GRANDPARENT = basic_int.cell_to_parent(PARENT, 5)
UNCLE = sorted(set(basic_int.cell_to_children(GRANDPARENT, 6)) - {PARENT})[0]
COUSIN = sorted(basic_int.cell_to_children(UNCLE, 7))[0]


def _cells(rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["cell", "events", "people"])


def _as_set(frame: pd.DataFrame) -> set[tuple[int, int, int, int, int]]:
    return {tuple(int(v) for v in row) for row in frame[OUTPUT_COLUMNS].itertuples(index=False)}


@pytest.mark.parametrize(
    ("rows", "k", "expected"),
    [
        # exactly k stays where it is
        ([(KIDS[0], 2, 5)], 5, {(KIDS[0], 7, 2, 5, 1)}),
        # small siblings merge into the parent, which then reaches k; the large sibling stays
        (
            [(KIDS[0], 1, 20), (KIDS[1], 1, 2), (KIDS[2], 2, 3)],
            5,
            {(KIDS[0], 7, 1, 20, 1), (PARENT, 6, 3, 5, 2)},
        ),
        # parent still under k: it moves up to the grandparent, where a cousin's small count joins it
        (
            [(KIDS[1], 1, 1), (KIDS[2], 1, 2), (COUSIN, 4, 3)],
            5,
            {(GRANDPARENT, 5, 6, 6, 3)},
        ),
        # still under k at min_res: dropped
        ([(KIDS[1], 1, 1), (KIDS[2], 1, 2)], 5, set()),
        # zero people (a sighting without a head count) is a small count too
        ([(KIDS[3], 9, 0), (KIDS[4], 1, 40)], 3, {(KIDS[4], 7, 1, 40, 1)}),
        # k <= 1 changes nothing
        ([(KIDS[1], 1, 1), (KIDS[2], 0, 0)], 1, {(KIDS[1], 7, 1, 1, 1), (KIDS[2], 7, 0, 0, 1)}),
        ([(KIDS[1], 1, 1)], 0, {(KIDS[1], 7, 1, 1, 1)}),
    ],
    ids=["exactly-k", "siblings-reach-k", "parent-still-small", "dropped-at-min-res", "zero-people", "k1", "k0"],
)
def test_suppress_small_counts(rows: list[tuple[int, int, int]], k: int, expected: set) -> None:
    assert _as_set(suppress_small_counts(_cells(rows), k, min_res=5)) == expected


def test_several_resolutions_in_the_input() -> None:
    # PARENT itself is in the input (events known only to res 6) and its small children join it;
    # an independent res-6 cell that is large stays; duplicate rows of one cell are summed first.
    rows = [(PARENT, 3, 4), (KIDS[0], 1, 1), (KIDS[0], 1, 1), (KIDS[5], 1, 30), (UNCLE, 2, 9)]
    got = suppress_small_counts(_cells(rows), 5, min_res=4)
    assert _as_set(got) == {(PARENT, 6, 5, 6, 3), (UNCLE, 6, 2, 9, 1), (KIDS[5], 7, 1, 30, 1)}
    assert got["res"].tolist() == sorted(got["res"].tolist())  # coarse first: parents drawn beneath


def test_min_res_is_respected_and_nothing_under_k_leaves() -> None:
    rng = np.random.default_rng(9)
    cells = np.array(sorted(basic_int.cell_to_children(GRANDPARENT, 8)), dtype=np.int64)
    frame = pd.DataFrame({"cell": cells, "events": rng.poisson(1, cells.size), "people": rng.poisson(1.5, cells.size)})
    frame["notes"] = "extra column"
    for min_res in (4, 6):
        got = suppress_small_counts(frame, 10, min_res=min_res)
        assert list(got.columns) == OUTPUT_COLUMNS
        assert (got["people"] >= 10).all()
        assert got["res"].min() >= min_res
        assert got["merged"].sum() <= cells.size
        assert got["people"].sum() <= frame["people"].sum()
        if min_res == 4:  # everything fits in one res-4 ancestor, so nothing is lost
            assert got["people"].sum() == frame["people"].sum() and got["merged"].sum() == cells.size
        assert got["cell"].is_unique


def test_empty_input_and_bad_input() -> None:
    got = suppress_small_counts(_cells([]), 5)
    assert got.empty and list(got.columns) == OUTPUT_COLUMNS
    with pytest.raises(InvalidView, match="people"):
        suppress_small_counts(pd.DataFrame({"cell": [PARENT], "events": [1]}), 5)
    with pytest.raises(InvalidView, match="non-negative"):
        suppress_small_counts(_cells([(PARENT, 1, -2)]), 5)


EDGE = {r: precision_limit_m(r) for r in range(4, 10)}


@pytest.mark.parametrize(
    ("precision", "resolutions", "expected"),
    [
        (math.nan, range(4, 10), 9),
        (0.0, range(4, 10), 9),
        (10.0, range(4, 10), 9),
        (EDGE[9], range(4, 10), 9),  # exactly an edge length still fits
        (EDGE[9] + 1, range(4, 10), 8),
        (EDGE[7], range(4, 10), 7),
        (EDGE[7] * 1.5, range(4, 10), 6),
        (EDGE[4], range(4, 10), 4),
        (EDGE[4] * 10, range(4, 10), 4),  # coarser than any cell: the coarsest
        (10.0, range(5, 8), 7),
        (math.nan, [6, 4, 5], 6),
    ],
)
def test_resolution_for_precision(precision: float, resolutions: range | list[int], expected: int) -> None:
    assert resolution_for_precision(np.array([precision]), resolutions).tolist() == [expected]


def test_resolution_for_precision_is_vectorised_and_uses_the_edge_length() -> None:
    precision = np.array([5.0, 300.0, 2000.0, np.nan, 12_000.0])
    got = resolution_for_precision(precision)
    assert got.tolist() == [9, 8, 6, 9, 4]
    for p, r in zip(precision[~np.isnan(precision)], got[~np.isnan(precision)], strict=True):
        assert h3.average_hexagon_edge_length(int(r), unit="m") >= p
        assert r == 9 or h3.average_hexagon_edge_length(int(r) + 1, unit="m") < p


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"people": 3, "events": 7}, {"people": None, "events": 7}),
        (
            {"people": 0, "windows": [0, 1, 6], "baseline_mean": 2.3, "change_pct": -100.0},
            {"people": 0, "windows": [0, "<5", 6], "baseline_mean": None, "change_pct": None},
        ),
        (
            {"people": 9, "windows": [None, 5, 6], "baseline_mean": 5.5, "change_pct": 63.0},
            {"people": 9, "windows": [None, 5, 6], "baseline_mean": 5.5, "change_pct": 63.0},
        ),
        (
            {"people": 9, "windows": [9, 0], "baseline_mean": 0.5, "change_pct": 1700.0},
            {"people": 9, "windows": [9, 0], "baseline_mean": None, "change_pct": None},
        ),
        (
            {"people": 2, "cell": "86", "gi_z": 3.1, "_s": "hx:1"},
            {"people": None, "cell": "86", "gi_z": 3.1, "_s": "hx:1"},
        ),
    ],
)
def test_withhold_small_counts_covers_windows_means_and_derived_values(props: dict, expected: dict) -> None:
    from geo.suppression import withhold_small_counts

    assert withhold_small_counts(props, 5) == expected
    assert withhold_small_counts(props, 1) == props  # k = 1 withholds nothing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 distress event(s) in Sector AA", "under 5 distress event(s) in Sector AA"),
        ("Surge: 1,204 people, 3 events in 24h", "Surge: 1,204 people, under 5 events in 24h"),
        ("Crossing point Elegu is closed", "Crossing point Elegu is closed"),
        ("Surge: 12 people in 6h, 2 cells", "Surge: 12 people in 6h, 2 cells"),
    ],
)
def test_withhold_small_counts_in_text(text: str, expected: str) -> None:
    from geo.suppression import withhold_small_counts_in_text

    assert withhold_small_counts_in_text(text, 5) == expected


def test_alert_evidence_for_a_restricted_role_names_what_is_withheld() -> None:
    from geo.suppression import withhold_evidence

    evidence = {
        "people": 3,
        "events": 2,
        "baseline_mean_people": 1.5,
        "p_value": 0.001,
        "place": "near Elegu (3 km)",
        "event_ids": ["ev-1"],
        "window": "24h",
    }
    shown = withhold_evidence(evidence, 5)
    assert "event_ids" not in shown
    assert {shown[k] for k in ("people", "events", "baseline_mean_people", "p_value")} == {"fewer than 5"}
    assert shown["place"] == "near Elegu (3 km)" and shown["window"] == "24h"
    big = withhold_evidence({"people": 60, "events": 40, "baseline_mean_people": 20.0, "p_value": 0.001}, 5)
    assert big == {"people": 60, "events": 40, "baseline_mean_people": 20.0, "p_value": 0.001}
