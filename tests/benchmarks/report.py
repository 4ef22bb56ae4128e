"""Run every benchmark, check each printed its figures, and write the README's performance tables.

Run from the repo root::

    python -m tests.benchmarks.report [--small] [--only NAME ...] [--json OUT] [--write-readme [README.md]]
    python -m tests.benchmarks.report --from-json a.json b.json --write-readme   # combine separate runs

The convention every benchmark follows (so a new one joins CI and the report by itself): a module
``tests/benchmarks/<name>.py`` (any name but those in ``NOT_BENCHMARKS`` or starting with ``_``)
runs as ``python -m tests.benchmarks.<name>``, prints one JSON line per figure on stdout (a
``"figure"`` name and a ``"value"``, or ``"median"``; ``"unit"``, ``"target"`` and ``"met"``
where it has them) and declares, as plain literals at module level:

- ``SMALL_ARGS``: the arguments of a small-scale run (seconds, not minutes: CI runs it);
- ``FIGURES``: the figure names every run must print;
- ``NEEDS_POSTGIS = True`` if it cannot run without ``HBM_TEST_POSTGIS_URL`` (optional).

Without ``--small`` each benchmark runs at its own full-scale defaults (1M events: an hour or more
on 2 cores; run it on a quiet machine). ``--write-readme`` writes two blocks, each between the
``<!-- benchmarks:begin -->`` and ``<!-- benchmarks:end -->`` markers of its file: in
docs/performance.md (``--docs``) one full table per benchmark with its date, machine and load
average; in the README a compact headline table, one row per figure that has a target.

Full-scale runs of every benchmark take hours on 2 cores, so runs can be combined: ``--json OUT``
saves a run's figures with its date, machine and load; ``--from-json A B ...`` renders (and writes)
from saved runs instead of running, a later file's run of a benchmark replacing an earlier one's.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shlex
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
    """The outcome of running one benchmark, with when, where and under what load it ran."""

    bench: Benchmark
    args: tuple[str, ...]
    returncode: int
    seconds: float
    lines: list[dict[str, Any]]
    stderr_tail: str
    measured_at: datetime | None = None
    machine: str = ""
    load: tuple[float, float] | None = None  # 1-minute load average at start and at end
    command: str = ""  # how it runs, when not ``python -m tests.benchmarks.<name>``


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


def run(
    bench: Benchmark,
    small: bool,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> Run:
    """Run ``bench`` in a child process (small or full scale, plus ``extra`` arguments) and return its JSON lines."""
    args = (bench.small_args if small else ()) + tuple(extra)
    cmd = [sys.executable, "-m", f"tests.benchmarks.{bench.name}", *args]
    when, load0 = datetime.now(UTC), load_average()
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
    seconds = round(time.perf_counter() - t0, 1)
    return Run(bench, args, done.returncode, seconds, lines, tail, when, machine(load=False), (load0, load_average()))


def load_average() -> float:
    """Return the 1-minute load average (0.0 where the system has none)."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0


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


def machine(load: bool = True) -> str:
    """Return a one-line description of this machine: CPU, cores, memory, OS, Python (and load, if ``load``)."""
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
    at_start = f", load average {load_average():.1f} at start" if load else ""
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores{mem}, {system}{at_start}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "–" if value is None else str(value).replace("|", "\\|")


DETAIL_KEYS = ("backend", "zoom", "res", "cells", "events", "rows")


HEADLINE_KEYS = ("backend", "zoom", "res", "events")


def _detail(line: dict[str, Any], keys: tuple[str, ...] = DETAIL_KEYS) -> str:
    return ", ".join(f"{k} {_cell(line[k])}" if k != "backend" else str(line[k]) for k in keys if k in line)


def _value(line: dict[str, Any]) -> str:
    """Return the figure's value and unit; when the target is on a percentile (``p95 <= 5``), that too."""
    text = _cell(value_of(line))
    stat = str(line.get("target") or "").split(" ", 1)[0]
    if stat in ("p90", "p95", "p99") and stat in line:
        text = f"{text} (p50), {_cell(line[stat])} ({stat})"
    return f"{text} {line.get('unit', '') or ''}".strip()


MET = {True: "yes", False: "**no**", None: "–"}


def _run_heading(result: Run) -> str:
    """Return the bold command line of a run, with its duration, date and load average."""
    args = " ".join(result.args)
    said = [f"{result.seconds:g} s"]
    if result.measured_at is not None:
        said.append(f"{result.measured_at:%Y-%m-%d %H:%M} UTC")
    if result.load is not None:
        said.append(f"load average {result.load[0]:.1f} at start, {result.load[1]:.1f} at end")
    command = result.command or f"python -m tests.benchmarks.{result.bench.name}"
    return f"**`{command}{' ' + args if args else ''}`** ({'; '.join(said)})"


def render(results: list[Run], when: datetime, where: str, small: bool) -> str:
    """Return the full markdown block: a heading line, then one table per benchmark with its date and load."""
    scale = "small scale (CI arguments)" if small else "full scale (each benchmark's defaults)"
    out = [f"Generated {when:%Y-%m-%d %H:%M} UTC at {scale} on: {where}.", ""]
    if not small and any(r.args for r in results):
        out[0] = f"Generated {when:%Y-%m-%d %H:%M} UTC from the runs below (their arguments as shown) on: {where}."
    for result in results:
        out += [_run_heading(result), ""]
        if result.machine and result.machine != where.split(", load average")[0]:
            out += [f"Machine: {result.machine}.", ""]
        out += ["| figure | detail | value | target | met? |", "|---|---|---|---|---|"]
        for line in result.lines:
            if value_of(line) is None:
                continue
            row = [_cell(line["figure"]), _detail(line) or "–", _value(line), _cell(line.get("target"))]
            out.append(f"| {' | '.join(row)} | {MET[line.get('met')]} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_headline(results: list[Run], docs_link: str = "docs/performance.md") -> str:
    """Return the compact README block: one row per figure that has a target (figure, value, target, met)."""
    dates = sorted(r.measured_at for r in results if r.measured_at is not None)
    span = ""
    if dates:
        first, last = f"{dates[0]:%Y-%m-%d}", f"{dates[-1]:%Y-%m-%d}"
        span = f"Measured {first}{'' if first == last else ' to ' + last}; "
    loads = [x for r in results if r.load for x in r.load]
    if loads:
        span += f"load average {min(loads):.1f}–{max(loads):.1f} (start/end of each run); "
    out = [f"{span}every figure with its date, machine and load average: [{docs_link}]({docs_link}).", ""]
    out += ["| figure | value | target | met? |", "|---|---|---|---|"]
    for result in results:
        for line in result.lines:
            if value_of(line) is None or line.get("target") in (None, ""):
                continue
            detail = _detail(line, HEADLINE_KEYS)
            name = f"{result.bench.name}: {_cell(line['figure'])}{f' ({detail})' if detail else ''}"
            out.append(f"| {name} | {_value(line)} | {_cell(line.get('target'))} | {MET[line.get('met')]} |")
    return "\n".join(out).rstrip() + "\n"


def write_readme(path: Path, block: str) -> None:
    """Replace the text between the benchmark markers in ``path`` with ``block``; raise if they are missing."""
    text = path.read_text()
    if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"{path}: no {BEGIN} … {END} block to replace")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{block}{END}{tail}")


def save_json(path: Path, results: list[Run]) -> None:
    """Write each run as JSON lines: one ``run`` line (args, date, machine, load), then its figure lines."""
    out = []
    for r in results:
        meta = {"args": list(r.args), "returncode": r.returncode, "seconds": r.seconds, "machine": r.machine}
        meta |= {"measured_at": r.measured_at.isoformat() if r.measured_at else None, "load": r.load}
        meta |= {"command": r.command} if r.command else {}
        out.append(json.dumps({"benchmark": r.bench.name, "run": meta}))
        out += [json.dumps({"benchmark": r.bench.name, **line}) for line in r.lines]
    path.write_text("".join(f"{row}\n" for row in out))


def load_json(paths: list[Path], known: dict[str, Benchmark]) -> list[Run]:
    """Return the runs saved in ``paths`` (``--json`` files), a later file's run of a benchmark replacing an earlier."""
    runs: dict[str, Run] = {}
    for path in paths:
        found: dict[str, Run] = {}
        for raw in path.read_text().splitlines():
            if not raw.strip():
                continue
            row = json.loads(raw)
            name = row.pop("benchmark", None)
            if not name:
                raise SystemExit(f"{path}: a line without a benchmark name: {raw[:80]}")
            run = found.setdefault(name, Run(known.get(name) or Benchmark(name), (), 0, 0.0, [], ""))
            if "run" in row:
                meta = row["run"]
                run.args, run.returncode, run.seconds = (
                    tuple(meta.get("args", ())),
                    meta.get("returncode", 0),
                    meta.get("seconds", 0.0),
                )
                run.machine, run.command = meta.get("machine", ""), meta.get("command", "")
                run.measured_at = datetime.fromisoformat(meta["measured_at"]) if meta.get("measured_at") else None
                run.load = tuple(meta["load"]) if meta.get("load") else None  # type: ignore[assignment]
            elif "figure" in row:
                run.lines.append(row)
        runs.update(found)
    order = list(known)
    return sorted(runs.values(), key=lambda r: order.index(r.bench.name) if r.bench.name in order else len(order))


def write_blocks(readme: Path, docs: Path, results: list[Run], when: datetime, where: str, small: bool) -> None:
    """Write the full tables into ``docs`` and the headline table into ``readme``, each between its markers."""
    write_readme(docs, render(results, when, where, small))
    link = os.path.relpath(docs, readme.parent)
    write_readme(readme, render_headline(results, link))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks (or load saved runs), print any problems, and write the tables; exit 1 on a problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="run each at its small-scale CI arguments")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--write-readme", nargs="?", const=ROOT / "README.md", type=Path, metavar="PATH",
                        help="write the headline table here and the full tables into --docs")  # fmt: skip
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "performance.md", metavar="PATH")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also save the runs (figures, date, load) here")
    parser.add_argument("--from-json", nargs="+", type=Path, metavar="IN", help="combine saved runs; run nothing")
    parser.add_argument(
        "--args", default="", help='more arguments for the one --only benchmark, e.g. --args="--skip-sqlite"'
    )
    args = parser.parse_args(argv)
    known = {b.name: b for b in discover()}
    extra = tuple(shlex.split(args.args))
    if extra and (not args.only or len(args.only) != 1):
        parser.error("--args needs exactly one benchmark in --only")
    if args.only and not set(args.only) <= set(known):
        parser.error(f"unknown benchmark in {args.only}; known: {', '.join(known)}")
    postgis = bool(os.environ.get("HBM_BENCH_POSTGIS_URL") or os.environ.get("HBM_TEST_POSTGIS_URL"))
    when, where = datetime.now(UTC), machine()
    results, failed = [], []
    if args.from_json:
        results = [r for r in load_json(args.from_json, known) if not args.only or r.bench.name in args.only]
        where = machine(load=False)
        postgis = True  # a saved run that skipped PostGIS is a problem: its figures are missing
    for bench in [] if args.from_json else [b for b in known.values() if not args.only or b.name in args.only]:
        if bench.needs_postgis and not postgis:
            print(f"report: {bench.name}: skipped (needs HBM_TEST_POSTGIS_URL)", file=sys.stderr)
            continue
        print(f"report: running {bench.name} …", file=sys.stderr, flush=True)
        results.append(run(bench, args.small, extra=extra))
    for result in results:
        failed += problems(result, postgis)
    for problem in failed:
        print(f"report: {problem}", file=sys.stderr)
    small = args.small or (bool(results) and all(r.args == r.bench.small_args for r in results))
    block = render(results, when, where, small)
    print(block)
    if args.json:
        save_json(args.json, results)
    if args.write_readme and not failed:
        write_blocks(args.write_readme, args.docs, results, when, where, small)
        print(f"report: wrote {args.write_readme} and {args.docs}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
