"""Rules for the tests themselves: shared code lives in tests/helpers, and no test file imports another."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

TESTS = ROOT / "tests"


def imports_of_test_files(path: Path) -> list[str]:
    """Return the modules ``path`` imports that are test files or conftest (absolute or relative)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [("." * node.level) + (node.module or "")]
        for module in modules:
            last = module.lstrip(".").split(".")[-1]
            if last.startswith("test_") or last == "conftest":
                found.append(module)
    return found


def test_no_test_file_imports_another() -> None:
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 50, "the check must see the test files, wherever pytest runs from"
    offenders = {str(p.relative_to(ROOT)): imports_of_test_files(p) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_check_catches_each_form_of_import(tmp_path: Path) -> None:
    bad = tmp_path / "test_bad.py"
    bad.write_text(
        "from tests.conftest import NOW\nimport tests.test_auth\nfrom .test_alerts import REGION\n"
        "from tests.helpers import NOW\n",
        encoding="utf-8",
    )
    assert imports_of_test_files(bad) == ["tests.conftest", "tests.test_auth", ".test_alerts"]


def test_tests_do_not_run_from_the_repository(tmp_path: Path) -> None:
    # conftest moves every test to an empty directory, so a relative path to a repo file fails here too.
    assert not Path("README.md").exists() and not Path("geo").exists()
