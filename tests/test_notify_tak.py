"""Alert notifications (a local SMTP server and local HTTP listeners) and Cursor on Target (a local TCP listener).

Every network peer is on 127.0.0.1, started by the test, with timeouts.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from dashboard.cli import main as hbm_main
from dashboard.tak import build_cot, load_tak_settings, push_to_tak
from data import audit_log
from data.alerts import Alert, list_alerts, save_rule, write_alert
from data.notify import NotificationWorker, deliver_due, list_outbox, load_notify_settings, retry_dead
from data.store import Store
from layers.services.alerts import DEFAULT_RULES, evaluate_rules
from tests.helpers import free_port, sample_features
from tests.helpers.alerts import REGION, background, events

HOST = "127.0.0.1"


class Mailbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A local SMTP server on a free loopback port."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname=HOST, port=port)
    controller.start()
    yield box, port
    controller.stop()


class Hook:
    """A local HTTP listener: records JSON POSTs; answers ``status`` (and sleeps ``delay`` s first)."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length") or 0)
                hook.bodies.append(json.loads(self.rfile.read(length)))
                time.sleep(delay)
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hooks/ops"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks() -> Iterator[list[Hook]]:
    made: list[Hook] = []
    yield made
    for hook in made:
        hook.close()


def surge(store: Store, now: datetime, notify: dict[str, Any]) -> None:
    """The default surge rule with ``notify``, a baseline and a surge at Elegu."""
    rule = next(r for r in DEFAULT_RULES if r.kind == "hotspot_surge")
    save_rule(store, replace(rule, params={**rule.params, "notify": notify}), now)
    background(store)
    store.upsert("events", events("surge-a", 20, now - timedelta(hours=2), 3.58, 32.06))


def test_a_surge_alert_reaches_smtp_and_webhook_exactly_once(
    store: Store, smtp: tuple[Mailbox, int], hooks: list[Hook]
) -> None:
    from tests.helpers import NOW

    box, port = smtp
    hook = Hook()
    hooks.append(hook)
    surge(store, NOW, {"email": ["duty@ops.example"], "webhook": [hook.url], "on_close": True})
    settings = load_notify_settings(smtp_host=HOST, smtp_port=port, notify_retry_base_s=0)
    first = evaluate_rules(store, NOW, REGION)
    assert len(first.opened) == 1
    assert deliver_due(store, settings) == {"sent": 2, "retry": 0, "dead": 0}
    # The surge goes on (evaluated again, grows): no second message; a second delivery round sends nothing.
    store.upsert("events", events("surge-b", 30, NOW - timedelta(hours=1), 3.58, 32.10))
    again = evaluate_rules(store, NOW + timedelta(minutes=5), REGION)
    assert len(again.updated) == 1 and again.opened == []
    assert deliver_due(store, settings)["sent"] == 0
    assert len(box.messages) == 1 and len(hook.bodies) == 1
    mail = box.messages[0]
    assert mail.rcpt_tos == ["duty@ops.example"]
    text = mail.content.decode("utf-8")
    assert "NEW" in text and first.opened[0].title[:30] in text
    body = hook.bodies[0]
    assert isinstance(body["text"], str) and first.opened[0].title in body["text"]  # Slack/Teams/Mattermost: "text"
    assert body["alert_id"] == first.opened[0].id and body["event"] == "opened"
    actions = [e.action for e in audit_log.query(store, action="notify_*")]
    assert actions.count("notify_queue") == 2 and actions.count("notify_sent") == 2


def test_escalation_and_closing_notify_again_once(store: Store, hooks: list[Hook]) -> None:
    from data.notify import enqueue_evaluation
    from layers.services.alerts import Evaluation

    hook = Hook()
    hooks.append(hook)
    now = datetime.now(UTC)
    rule = replace(DEFAULT_RULES[0], params={**DEFAULT_RULES[0].params, "notify": {"webhook": [hook.url]}})
    save_rule(store, rule, now)
    alert = Alert(
        "al-1", rule.id, "cells", "open", "warning", "Surge near Elegu", 3.58, 32.06, {"people": 60}, [], now, now, now
    )
    write_alert(store, alert)
    settings = load_notify_settings(notify_retry_base_s=0)
    enqueue_evaluation(store, Evaluation(opened=[alert]), 5)
    escalated = replace(alert, severity="critical")
    for _ in range(2):  # the same escalation seen twice goes once
        enqueue_evaluation(store, Evaluation(updated=[escalated]), 5)
    enqueue_evaluation(store, Evaluation(updated=[escalated]), 5)
    closed = replace(escalated, status="closed", closed_at=now)
    enqueue_evaluation(store, Evaluation(closed=[closed]), 5)  # on_close not asked: nothing
    deliver_due(store, settings)
    assert [b["event"] for b in hook.bodies] == ["opened", "escalated:critical"]
    save_rule(
        store,
        replace(rule, params={**rule.params, "notify": {"webhook": [hook.url], "on_close": True}}),
        now,
    )
    enqueue_evaluation(store, Evaluation(closed=[closed]), 5)
    enqueue_evaluation(store, Evaluation(closed=[closed]), 5)
    deliver_due(store, settings)
    assert [b["event"] for b in hook.bodies] == ["opened", "escalated:critical", "closed"]


def test_a_failing_endpoint_ends_in_dead_letter_without_delaying_evaluation(
    store: Store,
    smtp: tuple[Mailbox, int],
    hooks: list[Hook],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.helpers import NOW

    box, port = smtp
    slow_fail = Hook(status=500, delay=3.0)  # answers 500 after 3 s
    hooks.append(slow_fail)
    dead_port = free_port()  # nothing listens here: connection refused
    targets = {"email": ["duty@ops.example"], "webhook": [slow_fail.url, f"http://{HOST}:{dead_port}/x"]}
    surge(store, NOW, targets)
    started = time.perf_counter()
    result = evaluate_rules(store, NOW, REGION)
    evaluation_s = time.perf_counter() - started
    assert len(result.opened) == 1 and result.errors == []
    assert evaluation_s < 3.0, evaluation_s  # the slow endpoint is not called during evaluation
    settings = load_notify_settings(
        smtp_host=HOST,
        smtp_port=port,
        notify_retry_base_s=0.05,
        notify_max_attempts=3,
        notify_timeout_s=5,
        notify_interval_s=0.05,
    )
    worker = NotificationWorker(store, settings)
    worker.start()
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and len(list_outbox(store, "dead")) < 2:
            time.sleep(0.1)
    finally:
        worker.stop(timeout=15)
    dead = list_outbox(store, "dead")
    assert sorted(d.target for d in dead) == sorted(targets["webhook"])
    assert all(d.attempts == 3 and d.last_error for d in dead)
    assert any("HTTP 500" in (d.last_error or "") for d in dead)
    assert len(box.messages) == 1 and len(slow_fail.bodies) == 3  # e-mail went once; the webhook was tried 3 times
    assert len(audit_log.query(store, action="notify_dead_letter")) == 2
    assert len(audit_log.query(store, action="notify_failed")) == 4
    monkeypatch.setenv("HBM_DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    assert hbm_main(["notify", "dead-letters"]) == 0
    listing = capsys.readouterr().out
    assert slow_fail.url[:40] in listing and "dead" in listing
    assert retry_dead(store) == 2 and list_outbox(store, "dead") == []


class CotListener:
    """A local TCP listener that collects what a client sends, until the client closes."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(1)
        self.sock.settimeout(20)
        self.url = f"tcp://{HOST}:{self.sock.getsockname()[1]}"
        self.data = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        conn.settimeout(20)
        with conn:
            while chunk := conn.recv(65536):
                self.data += chunk

    def events(self) -> list[ET.Element]:
        """Return the CoT events received, each parsed as its own XML document."""
        self.thread.join(timeout=20)
        self.sock.close()
        docs = [d for d in self.data.split(b"<?xml") if d.strip()]
        return [ET.fromstring(b"<?xml" + d) for d in docs]


def test_cot_for_an_alert_and_a_sector_assignment(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    now = datetime.now(UTC)
    alert = Alert(
        "al-cot",
        "surge",
        "cells",
        "open",
        "critical",
        "Surge near Elegu",
        3.5812,
        32.0614,
        {"people": 3, "event_ids": ["ev-1"], "cells": 2},
        [],
        now,
        now,
        now,
    )
    write_alert(store, alert)
    listener = CotListener()
    monkeypatch.setenv("HBM_TAK_URL", listener.url)
    batch = push_to_tak(store, load_tak_settings(), who="test")
    events = listener.events()
    assert len(events) == len(batch.events) == 2 and (batch.alerts, batch.sectors) == (1, 1)
    by_uid = {e.get("uid"): e for e in events}
    cot_alert, cot_sector = by_uid["hbm-alert-al-cot"], by_uid["hbm-sector-sec-aa"]
    for event in events:
        assert event.tag == "event" and event.get("version") == "2.0"
        for attr in ("type", "how", "time", "start", "stale"):
            assert event.get(attr), attr
        start = datetime.fromisoformat(event.get("start").replace("Z", "+00:00"))
        assert datetime.fromisoformat(event.get("stale").replace("Z", "+00:00")) > start
        point = event.find("point")
        assert point is not None and -90 <= float(point.get("lat")) <= 90 and -180 <= float(point.get("lon")) <= 180
    assert cot_alert.get("type") == "b-m-p-s-m"
    remarks = cot_alert.findtext("detail/remarks") or ""
    assert "fewer than" in remarks and "ev-1" not in remarks  # no small count, no event ids to the devices
    assert float(cot_alert.find("point").get("lat")) != 3.5812  # a cell centre, not the raw point
    assert cot_sector.get("type") == "u-d-f"
    assert len(cot_sector.findall("detail/link")) >= 4
    hbm = cot_sector.find("detail/hbm")
    assert hbm is not None and hbm.get("team") == "Boat 1" and hbm.get("status") == "assigned"
    assert "Assigned to Boat 1; status assigned" in (cot_sector.findtext("detail/remarks") or "")
    assert audit_log.query(store, action="tak_push")[0].detail["sectors"] == 1
    raw = build_cot(store, load_tak_settings(raw=True))
    assert any("3.581200" in ET.tostring(e, encoding="unicode") for e in raw.events)
    assert list_alerts(store, status="open")[0].id == "al-cot"


def test_tak_unreachable_is_one_line(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HBM_DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("HBM_TAK_URL", f"tcp://{HOST}:{free_port()}")
    monkeypatch.setenv("HBM_TAK_TIMEOUT_S", "3")
    assert hbm_main(["tak", "send"]) == 2
    assert "unreachable" in capsys.readouterr().err
    monkeypatch.setenv("HBM_TAK_URL", "http://wrong")
    assert hbm_main(["tak", "send"]) == 2


def test_hbm_notify_set_validates_and_saves(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from data.alerts import load_rules
    from layers.services.alerts import ensure_default_rules

    ensure_default_rules(sqlite_store, datetime.now(UTC))
    rule = load_rules(sqlite_store)[0]
    monkeypatch.setenv("HBM_DATABASE_URL", sqlite_store.engine.url.render_as_string())
    assert hbm_main(["notify", "set", rule.id, "--email", "a@b.org", "--webhook", "https://chat/x", "--on-close"]) == 0
    saved = next(r for r in load_rules(sqlite_store) if r.id == rule.id)
    assert saved.params["notify"] == {"email": ["a@b.org"], "webhook": ["https://chat/x"], "on_close": True}
    assert {k: v for k, v in saved.params.items() if k != "notify"} == rule.params  # its own parameters stay
    assert hbm_main(["notify", "set", rule.id, "--email", "a@b.org\nBcc: x@y"]) == 2
    assert hbm_main(["notify", "set", rule.id, "--webhook", "file:///etc/passwd"]) == 2
    assert hbm_main(["notify", "set", "no-such-rule", "--email", "a@b.org"]) == 2
    assert "must be an http(s) URL" in capsys.readouterr().err


def test_a_notification_never_carries_a_small_count() -> None:
    from data.alerts import Alert
    from data.notify import message

    now = datetime.now(UTC)
    alert = Alert(
        "al-small", "surge", "cells", "open", "warning", "Surge near Elegu: 3 people, 2 events in 24h", 3.58, 32.06,
        {"people": 3, "events": 2, "baseline_mean_people": 1.5, "event_ids": ["ev-1"], "place": "near Elegu"},
        [], now, now, now,
    )  # fmt: skip
    subject, body = message(alert, "opened", k=5)
    for text in (subject, body):
        assert "3 people" not in text and "2 events" not in text and "ev-1" not in text
    assert "fewer than 5" in body and "near Elegu" in body
