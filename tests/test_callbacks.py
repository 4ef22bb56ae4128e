"""Dashboard callbacks called as plain functions, and the CLI's one-line errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from dash import html, no_update

from dashboard.app import create_app
from dashboard.callbacks import describe_feature, refresh_map
from dashboard.settings import load_app_settings
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from geo.errors import ConfigError
from tests.helpers import NOW, sample_events

SETTINGS = load_app_settings()


def call(store: Store, client: dict | None, **kw: object) -> tuple:
    args = {
        "window": "7d",
        "custom_start": None,
        "custom_end": None,
        "metric": "events",
        "resolution": "auto",
        "zoom": 8,
        "bounds": [[0.5, 29.0], [4.0, 33.0]],
    }
    args.update(kw)
    return refresh_map(store, SETTINGS, client=client, now=NOW, **args)  # type: ignore[arg-type]


def test_first_poll_sends_all_layers_then_nothing(seeded: Store) -> None:
    first = call(seeded, None)
    assert all(isinstance(layer, dict) for layer in first[:4])
    status_text = "".join(c if isinstance(c, str) else str(c.children) for c in first[4])
    in_window = [r for r in sample_events() if NOW - timedelta(days=7) <= r["occurred_at"] < NOW]
    assert "Data as of" in status_text and f" {len(in_window)} events" in status_text
    second = call(seeded, first[7])
    assert second[:5] == (no_update,) * 5


def test_new_event_resends_event_layers_only(seeded: Store) -> None:
    first = call(seeded, None)
    seeded.upsert("events", [{**sample_events(1)[0], "id": "ev-extra", "people": 9}])
    second = call(seeded, first[7])
    hotspots, sar = second[2], second[3]
    assert isinstance(hotspots, dict) and sar is no_update


def test_store_failure_keeps_last_data_and_shows_banner(seeded: Store, tmp_path: Path) -> None:
    first = call(seeded, None)
    (tmp_path / "a-file").write_text("not a folder")
    broken = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path}/a-file/x.sqlite"))
    down = call(broken, first[7])
    assert down[:5] == (no_update,) * 5
    assert "Store unreachable since" in down[5] and down[6] == "hbm-banner show"
    # The store comes back: the banner clears and changed layers flow again.
    back = call(seeded, down[7])
    assert back[6] == "hbm-banner" and back[5] == ""


def test_bad_custom_window_shows_a_message_and_changes_nothing(seeded: Store) -> None:
    out = call(seeded, None, window="custom", custom_start="tomorrow-ish")
    assert out[:8] == (no_update,) * 8
    assert "is not a time" in out[8]


def test_feature_details_render_free_text_as_text() -> None:
    feature = {"properties": {"name": "<img src=x onerror=alert(1)>", "kind": "informal", "_s": "cp:x"}}
    table = describe_feature(feature, "crossing_points")
    assert isinstance(table[1], html.Div) and table[1].children == "<img src=x onerror=alert(1)>"
    assert "_s" not in str(table[2])


def test_create_app_builds_without_touching_the_store(tmp_path: Path) -> None:
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path}/never.sqlite"))
    app = create_app(load_app_settings(synthetic=True), store)
    assert "SYNTHETIC" in app.title
    assert not (tmp_path / "never.sqlite").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"region_bbox": "1,2,3"}, "four numbers"),
        ({"tile_url": "http://tiles/x.png"}, "{z}"),
        ({"port": 0}, "HBM_PORT"),
    ],
)
def test_bad_app_settings_raise_one_line_config_errors(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")) as err:
        load_app_settings(**overrides)
    assert "\n" not in str(err.value)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://u@h/db", "unsupported driver"),
        ("postgresql+psycopg://u:p@127.0.0.1:1/hbm", "unavailable"),
    ],
)
def test_cli_bad_database_settings_give_one_line(url: str, message: str) -> None:
    out = run_cli("db", "status", env={"HBM_DATABASE_URL": url})
    assert out.returncode == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_cli_db_init_and_status(tmp_path: Path) -> None:
    env = {"HBM_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite"}
    assert run_cli("db", "init", env=env).returncode == 0
    assert run_cli("db", "init", env=env).returncode == 0
    status = run_cli("db", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "backend   sqlite" in status.stdout and "events" in status.stdout and "revision  0" in status.stdout
