"""``hbm hotspots`` and ``hbm alerts`` through the real command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard.cli import main
from data.demo import demo_features
from data.demo_events import demo_events
from data.open import open_store
from data.settings import load_store_settings


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("HBM_DATABASE_URL", url)
    store = open_store(load_store_settings(database_url=url))
    store.init_schema()
    now = datetime.now(UTC)
    for table, rows in demo_features(now).items():
        store.upsert(table, rows)
    store.upsert_events(demo_events(10_000, now))
    store.dispose()
    return url


def test_hotspots_json_lists_every_statistic(demo_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hotspots", "--window", "24h", "--res", "6", "--json", "--limit", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["cells"]) == 3
    first = out["cells"][0]
    assert {"cell", "current", "baseline", "category", "gi_z", "gi_p", "gi_bin", "emerging"} <= set(first)
    assert len(first["baseline"]) == 4
    assert out["cells"][0]["gi_z"] >= out["cells"][1]["gi_z"]


def test_alerts_run_then_list_and_acknowledge(demo_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "run"]) == 0
    assert "opened" in capsys.readouterr().out
    assert main(["alerts", "list", "--json"]) == 0
    alerts = json.loads(capsys.readouterr().out)
    assert alerts, "the demo surge at Elegu should raise an alert"
    assert any("Surge" in a["title"] for a in alerts)
    assert main(["alerts", "ack", alerts[0]["id"], "--who", "Ops desk"]) == 0
    assert "acknowledged by Ops desk" in capsys.readouterr().out
    main(["alerts", "list", "--json"])
    assert json.loads(capsys.readouterr().out)[0]["acked_by"] == "Ops desk"
    # A second run in the same conditions opens nothing new.
    main(["alerts", "run"])
    assert "0 opened" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["hotspots", "--bbox", "1,2,3"], "four numbers"),
        (["alerts", "set-rule", "r1", "--params", "[1"], "not JSON"),
        (["alerts", "set-rule", "new-rule"], "needs --kind and --name"),
        (["alerts", "ack", "al-missing", "--who", "me"], "no alert"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    demo_db: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
