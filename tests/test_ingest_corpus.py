"""The malformed-file corpus (tests/fixtures/bad/) through the real CLI entry point, table-driven.

Each case in expected.json says: the exit code, which reasons land on which lines of the rejects
file, which corrections were flagged, and how many live rows each table holds afterwards. No case
may print a traceback.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from dashboard.cli import main
from data.open import open_store
from data.schema import LAYER_TABLES
from data.settings import load_store_settings
from tests.helpers import POSTGIS_URL, reset_postgis, unavailable

BAD = Path(__file__).parent / "fixtures" / "bad"
GOOD = Path(__file__).parent / "fixtures" / "good"
CASES = json.loads((BAD / "expected.json").read_text())["cases"]
POSTGIS_SUBSET = {"05_events_epsg3857.geojson", "13_events_duplicate_ids.csv", "22_events.xlsx", "34_mmp_sample.csv"}


def _case_id(case: dict) -> str:
    return case["file"] + ("" if not case.get("args") else " " + " ".join(case["args"]))


def _args(case: dict) -> list[str]:
    args = list(case.get("args", []))
    return [str(BAD / a) if a.endswith(".toml") else a for a in args]


def _rejected_lines(path: Path) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            for reason in row["_reason"].split(" | "):
                out.setdefault(reason.split(":", 1)[0], []).append(int(row["_line"]))
    return {code: sorted(lines) for code, lines in out.items()}


def run_case(case: dict, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """Import one corpus case through ``hbm ingest`` and check everything the manifest says."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HBM_DATABASE_URL", url)
    for name, value in case.get("env", {}).items():
        monkeypatch.setenv(name, value)
    rejects = tmp_path / "case.rejects.csv"
    code = main(["ingest", str(BAD / case["file"]), *_args(case), "--rejects", str(rejects), "--json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == case["exit"], err or out
    store = open_store(load_store_settings(database_url=url))
    try:
        counts = store.counts()
    finally:
        store.dispose()
    expected_counts = {t: case.get("counts", {}).get(t, 0) for t in LAYER_TABLES}
    if code == 2:
        assert err.startswith("hbm: error: ") and err.count("\n") == 1, err
        assert case["error"] in err
        assert counts == dict.fromkeys(LAYER_TABLES, 0)
        return
    summary = json.loads(out)
    assert summary["read"] == summary["accepted"] + summary["rejected"]
    assert counts == expected_counts
    assert summary["corrected_by_reason"] == case.get("corrected", {})
    expected_rejects = case.get("rejects", {})
    assert summary["rejected_by_reason"] == {code: len(lines) for code, lines in expected_rejects.items()}
    if expected_rejects:
        assert _rejected_lines(rejects) == expected_rejects
        with rejects.open(encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert header[-3:] == ["_line", "_field", "_reason"]
        assert summary["rejected"] == sum(1 for _ in csv.DictReader(rejects.open(encoding="utf-8")))
    else:
        assert not rejects.exists()


def test_corpus_is_big_enough_and_every_file_is_used() -> None:
    data_files = {p.name for p in BAD.iterdir() if p.suffix not in (".json", ".toml") or p.name.startswith("36_")}
    used = {c["file"] for c in CASES} | {a for c in CASES for a in c.get("args", []) if a.endswith(".toml")}
    assert len(data_files) >= 30
    assert data_files <= used
    codes = Counter(code for c in CASES for code in c.get("rejects", {}))
    from data.ingest.validate import CORRECTIONS, REASONS

    assert set(REASONS) - {"invalid_record"} <= set(codes), "every rejection reason has a corpus file"
    assert set(CORRECTIONS) <= {code for c in CASES for code in c.get("corrected", {})}
    assert {c["file"].rsplit(".", 1)[-1] for c in CASES} >= {
        "csv",
        "tsv",
        "txt",
        "xlsx",
        "geojson",
        "kml",
        "kmz",
        "gpx",
        "gpkg",
    }


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_bad_file(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    run_case(case, f"sqlite:///{tmp_path / 'corpus.sqlite'}", tmp_path, monkeypatch, capsys)


@pytest.mark.postgis
@pytest.mark.parametrize("case", [c for c in CASES if c["file"] in POSTGIS_SUBSET], ids=_case_id)
def test_bad_file_on_postgis(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    if not POSTGIS_URL:
        unavailable("PostGIS tests need HBM_TEST_POSTGIS_URL=postgresql+psycopg://USER:PASS@HOST/DB")
    reset_postgis(POSTGIS_URL)
    run_case(case, POSTGIS_URL, tmp_path, monkeypatch, capsys)


def test_no_case_leaks_environment() -> None:
    assert "HBM_INGEST_REGION_BBOX" not in os.environ
