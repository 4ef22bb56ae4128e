"""The alert-quality benchmark runs end to end at small scale and prints every figure (full scale: README)."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks import alerts


def test_small_scale_alert_benchmark_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert alerts.main(["--seeds", "3", "--days", "30", "--eval-days", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    figures = {json.loads(line)["figure"]: json.loads(line) for line in lines if line.startswith("{")}
    expected = set(alerts.FIGURES)
    assert set(figures) == expected
    assert "load_average" in expected and figures["seeds"]["value"] == 1
    assert figures["surges"]["value"] == alerts.SURGE_REGIONS
    assert figures["null_region_weeks"]["value"] == pytest.approx(round((len(alerts.REGIONS) - 2) * 3 / 7, 3))
    assert figures["detect_100"]["target"] == 0.9
    assert lines[-1].startswith("seeds 3: 2 surges; detected within 24 h:")


def test_scenario_is_fixed_by_its_seed_and_holds_the_surge() -> None:
    a, surges = alerts.scenario(5, 30, 7)
    b, _ = alerts.scenario(5, 30, 7)
    assert a.equals(b)
    assert len(surges) == alerts.SURGE_REGIONS
    for s in surges:
        near = a[(abs(a["lat"] - s.lat) < 0.02) & (abs(a["lng"] - s.lng) < 0.02)]
        during = near[(near["occurred_at"] >= s.start) & (near["occurred_at"] < s.end)]["people"].sum()
        hours = (s.end - s.start).total_seconds() / 3600
        before = near[(near["occurred_at"] >= s.start - (s.end - s.start) * 3) & (near["occurred_at"] < s.start)]
        # the surge adds about size x the site's rate: the surge hours carry clearly more people per hour
        assert during / hours > before["people"].sum() / (3 * hours) * (1 + s.size / 3)


def test_a_logged_run_summarises_to_the_same_figures(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "runs.jsonl"
    assert alerts.main(["--seeds", "4", "--days", "30", "--eval-days", "2", "--log", str(log)]) == 0
    first = capsys.readouterr().out.splitlines()
    assert alerts.main(["--from-log", str(log)]) == 0
    again = capsys.readouterr().out.splitlines()
    assert first[:-1] == again[:-1]  # the same figures; only the summary's seed label differs


def test_tuning_variants_are_separate_rules_with_their_own_figures(capsys: pytest.CaptureFixture[str]) -> None:
    variants = '[{"alpha": 1e-12}, {"alpha": 0.05, "alpha_keep": 0.05}]'
    assert alerts.main(["--seeds", "3", "--days", "30", "--eval-days", "3", "--rule", variants]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    figures = {line["figure"]: line["value"] for line in lines if "figure" in line}
    assert [line["params"]["alpha"] for line in lines if "variant" in line] == [1e-12, 0.05]
    # p <= 1e-12 is far stricter than p <= 0.05: never more alerts, so never a shorter delay or more false ones
    assert figures["bench-0.false_per_region_week"] <= figures["bench-1.false_per_region_week"]
    assert figures["bench-0.alerts_per_surge"] <= figures["bench-1.alerts_per_surge"]
