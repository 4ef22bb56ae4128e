"""geo.cells: H3 indexing, parents by bit arithmetic, zoom to resolution."""

from __future__ import annotations

import ast

import h3
import numpy as np
import pytest

from geo.cells import (
    cell_to_ring,
    cells_to_parents,
    is_valid_cell,
    points_to_all_cells,
    points_to_cells,
    resolution_for_zoom,
)
from tests.helpers import ROOT

RNG = np.random.default_rng(42)
LATS = RNG.uniform(-60, 70, 500)
LNGS = RNG.uniform(-179, 179, 500)


def test_points_to_cells_matches_h3() -> None:
    cells = points_to_cells(LATS[:50], LNGS[:50], 7)
    assert [h3.int_to_str(int(c)) for c in cells] == [
        h3.latlng_to_cell(a, b, 7) for a, b in zip(LATS[:50], LNGS[:50], strict=True)
    ]


@pytest.mark.parametrize("res", [4, 5, 6, 7, 8])
def test_cells_to_parents_matches_h3_cell_to_parent(res: int) -> None:
    fine = points_to_cells(LATS, LNGS, 9)
    expected = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res)) for c in fine]
    assert cells_to_parents(fine, res).tolist() == expected


def test_points_to_all_cells_gives_every_stored_resolution() -> None:
    cells = points_to_all_cells(LATS[:5], LNGS[:5])
    assert sorted(cells) == [4, 5, 6, 7, 8, 9]
    assert all(h3.get_resolution(h3.int_to_str(int(c))) == r for r, arr in cells.items() for c in arr)


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        points_to_cells(np.zeros(2), np.zeros(3), 5)


@pytest.mark.parametrize(("zoom", "res"), [(3, 4), (6, 4), (7, 5), (8, 6), (10, 7), (12, 8), (14, 9), (18, 9)])
def test_resolution_for_zoom(zoom: float, res: int) -> None:
    assert resolution_for_zoom(zoom) == res


def test_resolution_never_gets_coarser_when_zooming_in() -> None:
    resolutions = [resolution_for_zoom(z / 2) for z in range(0, 40)]
    assert resolutions == sorted(resolutions)


def test_cell_helpers() -> None:
    cell = int(points_to_cells([3.58], [32.06], 6)[0])
    assert is_valid_cell(cell)
    assert not is_valid_cell(12345)
    ring = cell_to_ring(cell)
    assert ring[0] == ring[-1] and len(ring) == 7
    assert all(31 < lng < 33 and 3 < lat < 4 for lng, lat in ring)


def test_geo_imports_no_web_or_database_library() -> None:
    forbidden = {"dash", "flask", "sqlalchemy", "dash_leaflet"}
    paths = sorted((ROOT / "geo").rglob("*.py"))
    assert len(paths) >= 10, "the check must see geo/'s modules, wherever pytest runs from"
    for path in paths:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & forbidden, f"{path} imports {names}"
