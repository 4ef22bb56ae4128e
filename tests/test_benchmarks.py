"""Every benchmark in tests/benchmarks/ runs at small scale and prints every figure it declares.

Benchmarks that nothing runs rot (the refresh benchmark broke unnoticed when sign-in became the
default). Each is discovered by the convention in ``tests/benchmarks/report.py`` and run in a
child process, as a user would run it; timings are printed, never asserted here.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.benchmarks import report
from tests.helpers import POSTGIS_URL, unavailable

BENCHMARKS = report.discover()


def test_the_known_benchmarks_are_discovered() -> None:
    names = {b.name for b in BENCHMARKS}
    assert {"refresh", "surge", "exports", "hotspots", "ingest", "soak"} <= names
    assert "report" not in names


@pytest.mark.parametrize("bench", BENCHMARKS, ids=[b.name for b in BENCHMARKS])
def test_benchmark_runs_at_small_scale_and_prints_every_figure(bench: report.Benchmark) -> None:
    assert not bench.problems, bench.problems
    if bench.needs_postgis and not POSTGIS_URL:
        unavailable(f"benchmark {bench.name} needs HBM_TEST_POSTGIS_URL")
    env = {k: v for k, v in os.environ.items() if k != "HBM_AUTH"}  # run as a user would: sign-in on by default
    result = report.run(bench, small=True, timeout=300, env=env)
    assert report.problems(result, postgis=bool(POSTGIS_URL)) == [], result.stderr_tail
    assert len(result.lines) >= len(bench.figures)


def test_a_benchmark_without_declarations_is_reported(tmp_path: Path) -> None:
    (tmp_path / "new_bench.py").write_text('"""A new benchmark."""\nREPEATS = 3\n')
    (tmp_path / "declared.py").write_text('SMALL_ARGS = ("--n", "1")\nFIGURES: tuple[str, ...] = ("a",)\n')
    found = {b.name: b for b in report.discover(tmp_path)}
    assert len(found["new_bench"].problems) == 2
    assert found["declared"].problems == [] and found["declared"].small_args == ("--n", "1")


def test_a_missing_figure_or_a_failure_is_a_problem() -> None:
    bench = report.Benchmark("x", ("--n", "1"), ("a", "b"))
    ok = report.Run(bench, (), 0, 1.0, [{"figure": "a", "value": 1}, {"figure": "b", "median": 2.0}], "")
    assert report.problems(ok, postgis=True) == []
    missing = report.Run(bench, (), 0, 1.0, [{"figure": "a", "value": 1}, {"figure": "b", "value": None}], "")
    assert report.problems(missing, postgis=True) == ["x: printed no value for figure 'b'"]
    crashed = report.Run(bench, (), 1, 1.0, [], "Traceback\nValueError: boom")
    assert any("exited 1" in p and "boom" in p for p in report.problems(crashed, postgis=False))
    skipped = report.Run(bench, (), 0, 1.0, ok.lines + [{"figure": "postgis", "skipped": True, "reason": "down"}], "")
    assert report.problems(skipped, postgis=False) == []
    assert report.problems(skipped, postgis=True) == ["x: skipped postgis: down"]


def test_write_readme_replaces_only_the_marked_block(tmp_path: Path) -> None:
    bench = report.Benchmark("refresh", ("--events", "10"), ("hotspot_query",))
    line = {"figure": "hotspot_query", "backend": "postgis", "zoom": 6, "value": 12.5, "unit": "ms",
            "target": "p50 <= 150", "met": True}  # fmt: skip
    block = report.render(
        [report.Run(bench, bench.small_args, 0, 3.2, [line], "")],
        datetime(2026, 11, 28, tzinfo=UTC),
        "a test box",
        True,
    )
    assert "Generated 2026-11-28 00:00 UTC" in block and "a test box" in block
    assert "| hotspot_query | postgis, zoom 6 | 12.5 ms | p50 <= 150 | yes |" in block
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\nbefore\n{report.BEGIN}\nold table\n{report.END}\nafter\n")
    report.write_readme(readme, block)
    text = readme.read_text()
    assert "old table" not in text and block in text
    assert text.startswith("# T\nbefore\n") and text.endswith(f"{report.END}\nafter\n")
    report.write_readme(readme, block)  # idempotent
    assert readme.read_text() == text
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no <!-- benchmarks:begin -->"):
        report.write_readme(readme, block)


def _saved_run(tmp_path: Path, name: str, value: float, when: datetime, load: float) -> Path:
    """Save one run of benchmark ``name`` (one figure with a target, one without) as ``--json`` would."""
    bench = report.Benchmark(name, ("--n", "1"), ("q",))
    lines = [
        {"figure": "q", "backend": "postgis", "zoom": 8, "value": value, "unit": "ms", "target": "p50 <= 150",
         "met": value <= 150},
        {"figure": "cells", "value": 836, "unit": "cells"},
    ]  # fmt: skip
    run = report.Run(bench, ("--n", "1000"), 0, 12.0, lines, "", when, "box", (load, load + 1))
    path = tmp_path / f"{name}-{value}.json"
    report.save_json(path, [run])
    return path


def test_saved_runs_combine_and_write_the_readme_headline_and_the_full_docs(tmp_path: Path) -> None:
    day1, day2 = datetime(2026, 11, 28, 9, tzinfo=UTC), datetime(2026, 11, 29, 14, tzinfo=UTC)
    a = _saved_run(tmp_path, "refresh", 180.0, day1, 0.4)
    b = _saved_run(tmp_path, "surge", 90.0, day1, 1.5)
    c = _saved_run(tmp_path, "refresh", 120.0, day2, 0.7)  # a later run of refresh replaces the first
    known = {n: report.Benchmark(n) for n in ("refresh", "surge")}
    runs = report.load_json([a, b, c], known)
    assert [(r.bench.name, r.lines[0]["value"]) for r in runs] == [("refresh", 120.0), ("surge", 90.0)]
    assert runs[0].measured_at == day2 and runs[0].load == (0.7, 1.7) and runs[0].args == ("--n", "1000")

    readme, docs = tmp_path / "README.md", tmp_path / "docs" / "performance.md"
    docs.parent.mkdir()
    readme.write_text(f"# T\n{report.BEGIN}\nold\n{report.END}\nrest\n")
    docs.write_text(f"# Performance\n{report.BEGIN}\n{report.END}\nevidence\n")
    report.write_blocks(readme, docs, runs, day2, "a test box", small=False)
    full, head = docs.read_text(), readme.read_text()
    assert "2026-11-29 14:00 UTC; load average 0.7 at start, 1.7 at end" in full
    assert "2026-11-28 09:00 UTC; load average 1.5 at start" in full  # each run keeps its own date and load
    assert "| q | postgis, zoom 8 | 120.0 ms | p50 <= 150 | yes |" in full and "| cells |" in full
    assert full.endswith(f"{report.END}\nevidence\n")
    assert "| refresh: q (postgis, zoom 8) | 120.0 ms | p50 <= 150 | yes |" in head
    assert "| surge: q (postgis, zoom 8) | 90.0 ms | p50 <= 150 | yes |" in head
    assert "cells" not in head  # no target: not a headline
    assert "Measured 2026-11-28 to 2026-11-29" in head and "(docs/performance.md)" in head
    assert head.startswith("# T\n") and head.endswith(f"{report.END}\nrest\n")


def test_report_from_json_writes_both_files_from_the_command_line(tmp_path: Path) -> None:
    saved = _saved_run(tmp_path, "scratch", 200.0, datetime(2026, 11, 28, tzinfo=UTC), 0.5)
    readme, docs = tmp_path / "R.md", tmp_path / "P.md"
    for path in (readme, docs):
        path.write_text(f"{report.BEGIN}\n{report.END}\n")
    assert report.main(["--from-json", str(saved), "--write-readme", str(readme), "--docs", str(docs)]) == 0
    assert "| scratch: q (postgis, zoom 8) | 200.0 ms | p50 <= 150 | **no** |" in readme.read_text()
    incomplete = tmp_path / "refresh.json"  # a known benchmark's saved run lacking its declared figures
    incomplete.write_text(saved.read_text().replace('"scratch"', '"refresh"'))
    assert report.main(["--from-json", str(incomplete), "--write-readme", str(readme), "--docs", str(docs)]) == 1
    assert "load average 0.5 at start" in docs.read_text()


def test_extra_arguments_go_to_exactly_one_benchmark() -> None:
    with pytest.raises(SystemExit):
        report.main(["--args=--skip-sqlite"])
    with pytest.raises(SystemExit):
        report.main(["--only", "refresh", "surge", "--args=--skip-sqlite"])
