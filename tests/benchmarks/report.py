"""Run every benchmark, check each printed its figures, and write the README's performance tables.

Run from the repo root::

    python -m tests.benchmarks.report [--small] [--only NAME ...] [--write-readme [README.md]] [--json OUT]

The convention every benchmark follows (so a new one joins CI and the report by itself): a module
``tests/benchmarks/<name>.py`` (any name but those in ``NOT_BENCHMARKS`` or starting with ``_``)
runs as ``python -m tests.benchmarks.<name>``, prints one JSON line per figure on stdout (a
``"figure"`` name and a ``"value"``, or ``"median"``; ``"unit"``, ``"target"`` and ``"met"``
where it has them) and declares, as plain literals at module level:

- ``SMALL_ARGS``: the arguments of a small-scale run (seconds, not minutes: CI runs it);
- ``FIGURES``: the figure names every run must print;
- ``NEEDS_POSTGIS = True`` if it cannot run without ``HBM_TEST_POSTGIS_URL`` (optional).

Without ``--small`` each benchmark runs at its own full-scale defaults (1M events: an hour or more
on 2 cores; run it on a quiet machine). ``--write-readme`` replaces the block between the
``<!-- benchmarks:begin -->`` and ``<!-- benchmarks:end -->`` markers with one table per benchmark,
headed by the date and the machine.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NOT_BENCHMARKS = frozenset({"report"})
BEGIN, END = "<!-- benchmarks:begin -->", "<!-- benchmarks:end -->"


@dataclass
class Benchmark:
    """One benchmark module and what it declares."""

    name: str
    small_args: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    needs_postgis: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class Run:
    """The outcome of running one benchmark."""

    bench: Benchmark
    args: tuple[str, ...]
    returncode: int
    seconds: float
    lines: list[dict[str, Any]]
    stderr_tail: str


def _declared(path: Path) -> dict[str, Any]:
    """Return the module-level literal assignments of ``path`` (without importing it)."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and node.value is not None and target.id.isupper():  # type: ignore[union-attr]
            try:
                found[target.id] = ast.literal_eval(node.value)  # type: ignore[union-attr, arg-type]
            except ValueError:
                continue
    return found


def discover(folder: Path = HERE) -> list[Benchmark]:
    """Return every benchmark module in ``folder`` with its declarations (problems listed, not raised)."""
    found = []
    for path in sorted(folder.glob("*.py")):
        if path.stem.startswith("_") or path.stem in NOT_BENCHMARKS:
            continue
        values = _declared(path)
        bench = Benchmark(path.stem, needs_postgis=bool(values.get("NEEDS_POSTGIS", False)))
        for key in ("SMALL_ARGS", "FIGURES"):
            value = values.get(key)
            if not (isinstance(value, tuple | list) and value and all(isinstance(v, str) for v in value)):
                bench.problems.append(f"{path.name} must declare {key} as a tuple of strings (see report.py)")
        bench.small_args = tuple(values.get("SMALL_ARGS") or ())
        bench.figures = tuple(values.get("FIGURES") or ())
        found.append(bench)
    return found


def run(bench: Benchmark, small: bool, timeout: float | None = None, env: dict[str, str] | None = None) -> Run:
    """Run ``bench`` in a child process (small or full scale) and return its JSON lines."""
    args = bench.small_args if small else ()
    cmd = [sys.executable, "-m", f"tests.benchmarks.{bench.name}", *args]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    lines = []
    for raw in done.stdout.splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(line, dict) and "figure" in line:
            lines.append(line)
    tail = "\n".join(done.stderr.strip().splitlines()[-5:])
    return Run(bench, args, done.returncode, round(time.perf_counter() - t0, 1), lines, tail)


def value_of(line: dict[str, Any]) -> Any:
    """Return a figure line's value (``value``, else ``median``), or None."""
    return line.get("value", line.get("median"))


def problems(result: Run, postgis: bool) -> list[str]:
    """Return what is wrong with a run: a failure, a missing figure, a skipped backend that should run."""
    name = result.bench.name
    found = list(result.bench.problems)
    if result.returncode != 0:
        found.append(f"{name}: exited {result.returncode}: {result.stderr_tail.splitlines()[-1:] or ''}")
    printed = {line["figure"] for line in result.lines if value_of(line) is not None}
    for figure in result.bench.figures:
        if figure not in printed:
            found.append(f"{name}: printed no value for figure {figure!r}")
    for line in result.lines:
        if line.get("skipped") and postgis:
            found.append(f"{name}: skipped {line['figure']}: {line.get('reason')}")
    return found


def machine() -> str:
    """Return a one-line description of this machine: CPU, cores, memory, OS, Python, load."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for row in cpuinfo.read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    mem = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GB RAM"
    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores{mem}, {system}{load}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "–" if value is None else str(value).replace("|", "\\|")


DETAIL_KEYS = ("backend", "zoom", "res", "cells", "events", "rows")


def render(results: list[Run], when: datetime, where: str, small: bool) -> str:
    """Return the markdown block: a heading line, then one table per benchmark."""
    scale = "small scale (CI arguments)" if small else "full scale (each benchmark's defaults)"
    out = [f"Measured {when:%Y-%m-%d %H:%M} UTC at {scale} on: {where}.", ""]
    for result in results:
        args = " ".join(result.args)
        out += [
            f"**`python -m tests.benchmarks.{result.bench.name}{' ' + args if args else ''}`** ({result.seconds:g} s)",
            "",
        ]
        out += ["| figure | detail | value | target | met? |", "|---|---|---|---|---|"]
        for line in result.lines:
            if value_of(line) is None:
                continue
            detail = ", ".join(
                f"{k} {_cell(line[k])}" if k != "backend" else str(line[k]) for k in DETAIL_KEYS if k in line
            )
            value = f"{_cell(value_of(line))} {line.get('unit', '') or ''}".strip()
            met = {True: "yes", False: "**no**", None: "–"}[line.get("met")]
            out.append(f"| {_cell(line['figure'])} | {detail or '–'} | {value} | {_cell(line.get('target'))} | {met} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_readme(path: Path, block: str) -> None:
    """Replace the text between the benchmark markers in ``path`` with ``block``; raise if they are missing."""
    text = path.read_text()
    if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"{path}: no {BEGIN} … {END} block to replace")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{block}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print any problems, and write the tables; exit 1 if a benchmark failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="run each at its small-scale CI arguments")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--write-readme", nargs="?", const=ROOT / "README.md", type=Path, metavar="PATH")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also save every figure line here")
    args = parser.parse_args(argv)
    benches = [b for b in discover() if not args.only or b.name in args.only]
    if args.only and len(benches) != len(set(args.only)):
        parser.error(f"unknown benchmark in {args.only}; known: {', '.join(b.name for b in discover())}")
    postgis = bool(os.environ.get("HBM_BENCH_POSTGIS_URL") or os.environ.get("HBM_TEST_POSTGIS_URL"))
    when, where = datetime.now(UTC), machine()
    results, failed = [], []
    for bench in benches:
        if bench.needs_postgis and not postgis:
            print(f"report: {bench.name}: skipped (needs HBM_TEST_POSTGIS_URL)", file=sys.stderr)
            continue
        print(f"report: running {bench.name} …", file=sys.stderr, flush=True)
        result = run(bench, args.small)
        results.append(result)
        failed += problems(result, postgis)
    for problem in failed:
        print(f"report: {problem}", file=sys.stderr)
    block = render(results, when, where, args.small)
    print(block)
    if args.json:
        args.json.write_text(
            "".join(json.dumps({"benchmark": r.bench.name, **line}) + "\n" for r in results for line in r.lines)
        )
    if args.write_readme and not failed:
        write_readme(args.write_readme, block)
        print(f"report: wrote {args.write_readme}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
