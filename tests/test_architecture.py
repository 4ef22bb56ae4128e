"""The package layers (issue 14): dashboard -> layers -> data -> geo, nothing imports upward, no cycles.

The contracts live in pyproject.toml ([tool.importlinter]); these tests run import-linter on them so CI
checks them, and run the same checker on a small package tree with a deliberate upward import to show
the contract can fail (it does not pass vacuously).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dashboard", "layers", "data", "geo")  # top to bottom


def lint_imports(cwd: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run import-linter (no cache) in ``cwd``, whose packages are imported first; return the finished process."""
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    args = [sys.executable, "-c", code, "--no-cache", *(["--config", str(config)] if config else [])]
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def module_cycles(*packages: str) -> list[list[str]]:
    """Return the import cycles (strongly connected modules, runtime imports only) among ``packages``."""
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True, cache_dir=None)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) & graph.modules for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return cycles


def test_the_layer_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout  # both contracts ran, on the real packages
    analysed = int(result.stdout.split("Analyzed ", 1)[1].split(" files", 1)[0])
    assert analysed > 100, f"import-linter analysed only {analysed} files"


def test_no_module_import_cycles() -> None:
    assert module_cycles(*PACKAGES) == []


def _write_tree(root: Path, upward: bool, cycle: bool = False) -> None:
    files = {
        "geo/__init__.py": "",
        "geo/shapes.py": "X = 1\n",
        "data/__init__.py": "",
        "data/store.py": "from geo.shapes import X\n",
        "layers/__init__.py": "",
        "layers/hotspots.py": "from data.store import X\n",
        "dashboard/__init__.py": "",
        "dashboard/app.py": "from layers.hotspots import X\n",
    }
    if upward:
        files["data/users.py"] = "from dashboard.app import X  # upward: data must not know the dashboard\n"
    if cycle:
        files["geo/shapes.py"] = "X = 1\n\n\ndef f():\n    from geo import cells\n    return cells\n"
        files["geo/cells.py"] = "from geo.shapes import X\n"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # the project's own contracts, unchanged
    config = (ROOT / "pyproject.toml").read_text()
    contracts = config[config.index("[tool.importlinter]") :]
    (root / "pyproject.toml").write_text(textwrap.dedent(contracts))


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    _write_tree(tmp_path, upward=False)
    kept = lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert kept.returncode == 0, kept.stdout[-2000:] + kept.stderr[-2000:]

    _write_tree(tmp_path, upward=True)
    broken = lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert broken.returncode != 0
    assert "BROKEN" in broken.stdout
    assert "data.users -> dashboard.app" in broken.stdout


def test_a_cycle_is_found(tmp_path: Path, monkeypatch) -> None:
    _write_tree(tmp_path, upward=False, cycle=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] in PACKAGES]:
        monkeypatch.delitem(sys.modules, name)  # grimp finds packages through the import system
    assert module_cycles(*PACKAGES) == [["geo.cells", "geo.shapes"]]
    broken = lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert broken.returncode != 0 and "geo" in broken.stdout


def _package_modules(*packages: str) -> list[Path]:
    paths = [p for name in packages for p in sorted((ROOT / name).rglob("*.py")) if ".venv" not in p.parts]
    assert len(paths) > 50, "found too few modules: the check would pass vacuously"
    return paths


def test_no_module_imports_another_modules_private_names() -> None:
    found = []
    for path in _package_modules(*PACKAGES):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
                found += [
                    f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and a.name != "_"
                ]  # `_` is gettext
    assert found == []


def test_no_module_in_layers_data_or_geo_is_over_450_lines() -> None:
    # dashboard/ joins this list when its panels are split (issue 14)
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in _package_modules("layers", "data", "geo")
    }
    assert {name: n for name, n in sizes.items() if n > 450} == {}
