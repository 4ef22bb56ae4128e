"""A day at the operations centre, then ``hbm audit --json``: every sign-in, export and plan edit, in order.

The day is played through the real entry points: people sign in through the login form and act
through the dashboard's own callback requests (Flask's test client, as their browsers would), and the
operator uses the ``hbm`` command line. The audit log stamps its rows with the real clock (it takes no
``now``), so the day is compressed into seconds; the order and the names are what is checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dashboard.app import create_app
from dashboard.cli import main
from dashboard.settings import load_app_settings
from data.alerts import Alert, get_alert, new_alert_id, write_alert
from data.open import open_store
from data.sar_plans import list_plans, load_plan
from data.settings import load_store_settings
from data.store import Store
from tests.helpers import sar_save_form
from tests.helpers.auth import (
    add_role_users,
    auth_env,
    callback_spec,
    post_callback,
    post_pattern_callback,
    seed,
    sign_in,
)

BOUNDS = [[3.4, 31.8], [3.8, 32.3]]
CONTROLS = {
    "window.value": "24h",
    "metric.value": "people",
    "resolution.value": "auto",
    "statistic.value": "count",
    "suppress.value": ["on"],
    "map.zoom": 9,
    "map.bounds": BOUNDS,
    "export-page.value": "A4",
    "export-orientation.value": "landscape",
    "export-dpi.value": 150,
    "layers-shown.data": ["Crossing points", "Hotspots (H3)"],
}


@pytest.fixture
def day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_hashing: None) -> Iterator[tuple[Any, Store]]:
    auth_env(monkeypatch)
    url = f"sqlite:///{tmp_path / 'day.sqlite'}"
    monkeypatch.setenv("HBM_DATABASE_URL", url)
    store = open_store(load_store_settings(database_url=url))
    store.init_schema()
    seed(store, datetime.now(UTC))
    add_role_users(store)
    app = create_app(load_app_settings(region_bbox="29.5,0.5,33.5,4.5"), store)
    yield app, store
    store.dispose()


def _export(client: Any, fmt: str) -> str:
    spec = callback_spec(client, "export-download.data", "export-button")
    clicked = [{"id": {"type": "export-button", "format": fmt}, "property": "n_clicks", "value": 1}]
    changed = json.dumps({"format": fmt, "type": "export-button"}, separators=(",", ":")) + ".n_clicks"
    status, response = post_pattern_callback(client, spec, clicked, CONTROLS, changed)
    assert status == 200, response
    return str(response["export-status"]["children"])


def _sector_edit(client: Any, store: Store, plan_id: str, button: str, **values: Any) -> str:
    plan = load_plan(store, plan_id)
    spec = callback_spec(client, "sar-plan-msg.children", "sar-sector-btn.n_clicks")
    form = {
        f"{button}.n_clicks": 1,
        "sar-seen.data": {"plan_id": plan_id, "version": plan.version},
        "sar-table.selected_row_ids": [str(plan.sectors["id"].iloc[0])],
        **values,
    }
    status, response = post_callback(client, spec, form, f"{button}.n_clicks")
    assert status == 200, response
    return str(response["sar-plan-msg"]["children"])


def _alert(store: Store) -> str:
    now = datetime.now(UTC)
    alert = Alert(
        id=new_alert_id(),
        rule_id="crossing-closed",
        subject="crossing:cp-b",
        status="open",
        severity="warning",
        title="Crossing point Bravo is closed",
        lat=2.4,
        lng=30.9,
        evidence={"name": "Bravo"},
        cells=[],
        opened_at=now,
        updated_at=now,
        last_true_at=now,
    )
    write_alert(store, alert)  # type: ignore[arg-type]
    return alert.id


def test_a_whole_day_is_in_the_audit_log(
    day: tuple[Any, Store], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, store = day
    clients = {name: app.server.test_client() for name in ("ada", "vera", "ana", "sam")}

    # 06:00 the administrator opens the day; the night viewer mistypes, then signs in.
    assert sign_in(clients["ada"], "ada") == 303
    assert sign_in(clients["vera"], "vera", "not the password") == 401
    assert sign_in(clients["vera"], "vera") == 303
    # 07:00 the morning brief: the viewer's PNG; her GeoPackage is refused (and nothing leaves).
    assert "ready" in _export(clients["vera"], "png")
    assert _export(clients["vera"], "gpkg").startswith("Export refused")
    # 08:00 the analyst's data extract, and the cron job's GeoJSON from the command line.
    assert sign_in(clients["ana"], "ana") == 303
    assert "ready" in _export(clients["ana"], "gpkg")
    assert main(["export", "--format", "geojson", "--out", str(tmp_path / "cron.geojson")]) == 0
    # 10:00 a boat is missing: the SAR coordinator plans, assigns a team and records a sortie.
    assert sign_in(clients["sam"], "sam") == 303
    spec = callback_spec(clients["sam"], "sar-new-msg.children", "sar-save-btn.n_clicks")
    status, response = post_callback(clients["sam"], spec, sar_save_form("Boat missing"), "sar-save-btn.n_clicks")
    assert status == 200 and response["sar-new-msg"]["children"].startswith("Saved plan Boat missing")
    plan_id = list_plans(store)[0]["id"]
    team = {"sar-team.value": "Marine Police MP-3", "sar-status.value": "assigned"}
    assert "saved" in _sector_edit(clients["sam"], store, plan_id, "sar-sector-btn", **team)
    sortie = {"sar-sweep.value": 500, "sar-spacing.value": 500}
    assert "Sortie recorded" in _sector_edit(clients["sam"], store, plan_id, "sar-sortie-btn", **sortie)
    # 14:00 an alert: the analyst acknowledges it from the panel; the viewer could not.
    alert_id = _alert(store)
    spec = callback_spec(clients["ana"], "alerts-acked.data", "alert-ack")
    for name in ("vera", "ana"):
        clicked = [{"id": {"id": alert_id, "type": "alert-ack"}, "property": "n_clicks", "value": 1}]
        changed = json.dumps({"id": alert_id, "type": "alert-ack"}, separators=(",", ":")) + ".n_clicks"
        values = {"alerts-who.value": "typed name", "alerts-acked.data": 0}
        status, _response = post_pattern_callback(clients[name], spec, clicked, values, changed)
        assert status == 200
    assert get_alert(store, alert_id).acked_by == "ana"  # type: ignore[arg-type,union-attr]
    # 16:00 the administrator raises the surge rule's threshold from the command line.
    assert main(["alerts", "set-rule", "surge-r6-24h", "--params", '{"min_people": 100}', "--who", "ada"]) == 0
    # 18:00 the analyst signs out.
    with clients["ana"].session_transaction() as session:  # the log-out form carries the session's CSRF token
        token = session["csrf"]
    assert clients["ana"].post("/logout", data={"csrf": token}).status_code == 303
    capsys.readouterr()

    assert main(["audit", "--json", "--limit", "500"]) == 0
    log = list(reversed(json.loads(capsys.readouterr().out)))  # oldest first
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)
    assert all(e["who"] and datetime.fromisoformat(e["at"]) for e in log)
    day_rows = [(e["who"], e["action"]) for e in log if e["action"] not in ("user_add",)]
    expected = [
        ("ada", "login"),
        ("anonymous", "login_failed"),
        ("vera", "login"),
        ("vera", "export"),
        ("ana", "login"),
        ("ana", "export"),
        ("cli", "export"),
        ("sam", "login"),
        ("sam", "sar_plan_create"),
        ("sam", "sar_plan_update_sector"),
        ("sam", "sar_plan_record_sortie"),
        ("ana", "alert_ack"),
        ("ada", "rule_change"),
        ("ana", "logout"),
    ]
    assert _in_order(expected, day_rows), "\n".join(map(str, day_rows))
    exports = {e["who"]: e for e in log if e["action"] == "export"}
    assert set(exports) == {"vera", "ana", "cli"}  # the refused GeoPackage left no row
    assert exports["vera"]["target"] == "png" and exports["ana"]["target"] == "gpkg"
    assert [e for e in log if e["action"] == "login_failed"][0]["target"] == "vera"
    assert sum(1 for e in log if e["action"] == "alert_ack") == 1  # the viewer's click changed nothing


def _in_order(expected: list[tuple[str, str]], rows: list[tuple[str, str]]) -> bool:
    """Return True when ``expected`` appears in ``rows`` in this order (other rows may come between)."""
    found = iter(rows)
    return all(any(row == want for row in found) for want in expected)
