"""Mann-Kendall trend test and the emerging-hotspot categories."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from geo.trends import EMERGING_CATEGORIES, emerging_categories, mann_kendall


def test_mann_kendall_hand_computed_with_a_tie() -> None:
    # Pairs of 1, 3, 2, 5, 5: eight rise, (3, 2) falls, (5, 5) ties, so S = 7.
    # One tie group of size 2: Var(S) = (5*4*15 - 2*1*9) / 18 = 282 / 18.
    # tau-b = 7 / sqrt(10 * (10 - 1)); z = (7 - 1) / sqrt(282 / 18) with the continuity correction.
    result = mann_kendall(np.array([[1.0, 3.0, 2.0, 5.0, 5.0]]))
    z = 6 / math.sqrt(282 / 18)
    assert result.s[0] == 7
    assert result.tau[0] == pytest.approx(7 / math.sqrt(90))
    assert result.z[0] == pytest.approx(z)
    assert result.p[0] == pytest.approx(math.erfc(z / math.sqrt(2)))


@pytest.mark.parametrize(
    ("series", "s", "tau", "p"),
    [
        ([1, 2, 3, 4, 5], 10, 1.0, math.erfc(9 / math.sqrt(300 / 18) / math.sqrt(2))),
        ([5, 4, 3, 2, 1], -10, -1.0, math.erfc(9 / math.sqrt(300 / 18) / math.sqrt(2))),
        ([7, 7, 7, 7, 7], 0, 0.0, 1.0),
        ([0, 0, 0, 0, 1], 4, 4 / math.sqrt(10 * 4), math.erfc(3 / math.sqrt((300 - 4 * 3 * 13) / 18) / math.sqrt(2))),
    ],
)
def test_mann_kendall_table(series: list[float], s: int, tau: float, p: float) -> None:
    result = mann_kendall(np.array(series, dtype=float))
    assert result.s[0] == s
    assert result.tau[0] == pytest.approx(tau)
    assert result.p[0] == pytest.approx(p)


def test_mann_kendall_matches_scipy_kendalltau_without_continuity() -> None:
    rng = np.random.default_rng(7)
    series = rng.integers(0, 4, size=(300, 6)).astype(float)  # many ties
    series = series[series.std(axis=1) > 0]
    result = mann_kendall(series, continuity=False)
    time = np.arange(series.shape[1])
    expected = [stats.kendalltau(time, row, method="asymptotic") for row in series]
    assert np.abs(result.tau - [e.statistic for e in expected]).max() < 1e-12
    assert np.abs(result.p - [e.pvalue for e in expected]).max() < 1e-12


def test_mann_kendall_continuity_makes_p_larger() -> None:
    series = np.array([[1.0, 2.0, 4.0, 3.0, 6.0, 8.0]])
    assert mann_kendall(series).p[0] > mann_kendall(series, continuity=False).p[0]


def test_mann_kendall_rejects_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        mann_kendall(np.array([[1.0, np.nan, 2.0]]))


UP = (0.8, 0.01)
DOWN = (-0.8, 0.01)
FLAT = (0.0, 1.0)
WEAK_UP = (0.4, 0.3)


@pytest.mark.parametrize(
    ("hot", "trend", "expected"),
    [
        ("00000", FLAT, "none"),
        ("11110", UP, "none"),  # hot before, not now: not reported
        ("00001", FLAT, "new"),
        ("00001", UP, "new"),
        ("11111", UP, "intensifying"),
        ("01111", UP, "intensifying"),  # 4 of 5 windows is the persistent share
        ("11111", DOWN, "diminishing"),
        ("11111", FLAT, "persistent"),
        ("11111", WEAK_UP, "persistent"),
        ("10111", FLAT, "persistent"),
        ("00011", UP, "consecutive"),
        ("00111", FLAT, "consecutive"),
        ("10011", FLAT, "sporadic"),  # hot before the current run
        ("01001", UP, "sporadic"),
        ("10101", FLAT, "sporadic"),
    ],
)
def test_emerging_categories(hot: str, trend: tuple[float, float], expected: str) -> None:
    hot_row = np.array([[c == "1" for c in hot]])
    got = emerging_categories(hot_row, np.array([trend[0]]), np.array([trend[1]]))
    assert got.tolist() == [expected]
    assert expected in EMERGING_CATEGORIES


def test_emerging_categories_vectorised_and_empty() -> None:
    hot = np.array([[0, 0, 1], [1, 1, 1], [0, 0, 0]], dtype=bool)
    got = emerging_categories(hot, np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 1.0]), persistent_share=0.6)
    assert got.tolist() == ["new", "intensifying", "none"]
    assert emerging_categories(np.zeros((0, 5), dtype=bool), np.zeros(0), np.zeros(0)).tolist() == []
