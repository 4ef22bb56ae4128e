"""The rate surge test (geo.surge) against answers known by hand, and its calibration on steady Poisson counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from geo.errors import InvalidView
from geo.suppression import withhold_small_counts
from geo.surge import rate_surge_test

CELL = 0x862A1072FFFFFFF


def _hours(counts: dict[int, list[int]], people_per_event: int = 3) -> pd.DataFrame:
    """Return ``cell, hour, events, people`` from per-cell lists of hourly event counts (hour 0 first)."""
    rows = [(c, h, n, n * people_per_event) for c, per in counts.items() for h, n in enumerate(per) if n]
    return pd.DataFrame(rows, columns=["cell", "hour", "events", "people"])


def test_a_new_place_gets_the_exact_binomial_tail() -> None:
    current = _hours({CELL: [2, 2, 2, 2] + [0] * 20})  # 8 events in the last 4 hours, none before
    out = rate_surge_test(current, _hours({}), weeks=4, lengths=(6,), ratio0=1.0)
    row = out.iloc[0]
    assert row["window_events"] == 8 and row["expected_events"] == 0
    assert row["p_value"] == pytest.approx(0.2**8)  # P(Bin(8, 1/5) >= 8): every event in the current week
    assert row["events"] == 8 and row["people"] == 24


def test_the_p_value_is_the_conditional_binomial_with_the_bonferroni_factor() -> None:
    current = _hours({CELL: [3] * 24})  # 18 events in 6 h, 72 in 24 h
    baseline = _hours({CELL: [4] * 24})  # 4 weeks summed: 1 per hour per week
    out = rate_surge_test(current, baseline, weeks=4, lengths=(6, 24), ratio0=1.0).iloc[0]
    p6 = binom.sf(18 - 1, 18 + 24, 0.2)
    p24 = binom.sf(72 - 1, 72 + 96, 0.2)
    assert out["test_hours"] == 24 and out["p_value"] == pytest.approx(2 * min(p6, p24))
    assert out["expected_events"] == pytest.approx(96 / 4) and out["window_events"] == 72
    # a margin (ratio0 = 2: "at most double is no surge") makes a threefold rise much less significant
    margin = rate_surge_test(current, baseline, weeks=4, lengths=(6, 24), ratio0=2.0).iloc[0]
    assert margin["p_value"] > out["p_value"] * 1e6


def test_steady_poisson_counts_alert_no_more_often_than_the_level_says() -> None:
    rng = np.random.default_rng(11)
    cells = np.arange(2000, dtype=np.int64) + CELL
    lam = rng.uniform(0.2, 3.0, cells.size)  # events per hour, a different level per place
    cur = {int(c): list(rng.poisson(lam[i], 24)) for i, c in enumerate(cells)}
    base = {int(c): list(rng.poisson(4 * lam[i], 24)) for i, c in enumerate(cells)}  # 4 weeks at the same rate
    out = rate_surge_test(_hours(cur), _hours(base), weeks=4, lengths=(3, 6, 12, 24))
    for level in (0.01, 0.05, 0.2):
        assert (out["p_value"] <= level).mean() <= level  # conservative: discrete, Bonferroni over 4 lengths
    assert (out["p_value"] <= 0.05).mean() > 0.005  # but not blind


def test_a_doubling_is_found_in_the_window_that_holds_it() -> None:
    rng = np.random.default_rng(3)
    quiet = list(rng.poisson(1.5, 24))
    surge = list(rng.poisson(3.0, 6)) + quiet[6:]  # the last 6 hours at twice the rate
    baseline = _hours({CELL: list(rng.poisson(6.0, 24))})
    calm = rate_surge_test(_hours({CELL: quiet}), baseline, weeks=4).iloc[0]
    hot = rate_surge_test(_hours({CELL: surge}), baseline, weeks=4).iloc[0]
    assert hot["p_value"] < calm["p_value"] and hot["test_hours"] in (3, 6)


def test_cells_only_in_the_baseline_are_not_tested_and_bad_input_is_refused() -> None:
    out = rate_surge_test(_hours({CELL: [1] * 24}), _hours({CELL + 1: [5] * 24}), weeks=2)
    assert out["cell"].tolist() == [CELL]
    assert rate_surge_test(_hours({}), _hours({CELL: [1]}), weeks=2).empty
    with pytest.raises(InvalidView):
        rate_surge_test(_hours({CELL: [1]}), _hours({}), weeks=0)
    with pytest.raises(InvalidView):
        rate_surge_test(_hours({CELL: [1]}), _hours({}), weeks=4, lengths=(0,))


def test_rate_evidence_under_k_is_withheld_with_everything_derived_from_it() -> None:
    evidence = {
        "people": 60,
        "events": 20,
        "window_events": 9,
        "window_people": 27,
        "baseline_mean": 1.5,
        "baseline_mean_people": 4.5,
        "p_value": 2e-5,
        "test_hours": 6,
        "window_start": "2026-01-01T06:00:00Z",
        "window_end": "2026-01-01T12:00:00Z",
    }
    safe = withhold_small_counts(evidence, 5)
    assert safe["baseline_mean"] is None and safe["baseline_mean_people"] is None
    assert safe["p_value"] is None  # with the window's count it would give the baseline back
    assert safe["people"] == 60 and safe["window_events"] == 9 and safe["test_hours"] == 6
