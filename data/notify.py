"""Alert notifications by e-mail (SMTP) and webhook (Slack/Teams/Mattermost), through an outbox in the store.

A rule asks for notifications in its parameters::

    params["notify"] = {"email": ["ops@example.org"], "webhook": ["https://chat.example.org/hooks/x"],
                        "on_close": true}

Rule evaluation only *enqueues* (one INSERT per alert event and target, in the store), so a slow or
dead endpoint never delays it. A unique key (alert, event, channel, target) makes each message go
once: "opened" once per alert, "escalated:<severity>" once per severity it rises to, "closed" once
when ``on_close`` is set. A worker (``NotificationWorker`` in the app, or ``hbm notify run``) sends
what is due; a failed send is retried with exponential back-off (``HBM_NOTIFY_RETRY_BASE_S`` × 2^n)
and after ``HBM_NOTIFY_MAX_ATTEMPTS`` becomes a dead letter, listed by ``hbm notify dead-letters``.
Every enqueue, send, failure and dead letter is audited. Texts carry no people counts under k.
"""

from __future__ import annotations

import json
import smtplib
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from data import audit_log
from data.alerts import SEVERITY_RANK, Alert, Rule, load_rules
from data.interfaces import Store
from data.notify_settings import NotifySettings, load_notify_settings
from geo.errors import HbmError, StoreUnavailable
from geo.suppression import withhold_evidence, withhold_small_counts_in_text

CHANNELS = ("email", "webhook")
TABLE = "notification_outbox"


@dataclass(frozen=True)
class Outgoing:
    """One row of the outbox."""

    id: int
    alert_id: str
    rule_id: str
    event: str
    channel: str
    target: str
    subject: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Return the row as JSON-safe values."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def _table(store: Store) -> Table:
    return store.metadata.tables[TABLE]


def ensure_table(store: Store) -> None:
    """Create the outbox in a store from before it (safe to repeat)."""
    with store.connect(write=True) as conn:
        _table(store).create(conn, checkfirst=True)


def notify_targets(rule: Rule) -> tuple[list[tuple[str, str]], bool]:
    """Return ([(channel, target)], on_close) a rule asks for; empty when it asks for none."""
    spec = rule.params.get("notify") or {}
    if not isinstance(spec, dict):
        return [], False
    targets = []
    for channel in CHANNELS:
        values = spec.get(channel) or []
        values = [values] if isinstance(values, str) else values
        targets += [(channel, str(v).strip()) for v in values if str(v).strip()]
    return targets, bool(spec.get("on_close"))


def check_notify(spec: Any) -> None:
    """Raise HbmError unless ``spec`` is a valid ``notify`` parameter (lists of addresses and http(s) URLs)."""
    if spec is None:
        return
    if not isinstance(spec, dict) or set(spec) - {"email", "webhook", "on_close"}:
        raise HbmError("notify must be {email: [...], webhook: [...], on_close: true|false}")
    for address in spec.get("email") or []:
        if "@" not in str(address) or any(ch in str(address) for ch in "\r\n,;"):
            raise HbmError(f"notify e-mail {str(address)[:80]!r} is not one address")
    for url in spec.get("webhook") or []:
        if not str(url).startswith(("http://", "https://")):
            raise HbmError(f"notify webhook {str(url)[:80]!r} must be an http(s) URL")


def _people_text(evidence: dict[str, Any], k: int) -> str:
    parts = []
    for key, value in withhold_evidence(evidence, k).items():
        parts.append(f"{key.replace('_', ' ')}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    return "; ".join(parts)


def message(alert: Alert, event: str, k: int, link: str = "") -> tuple[str, str]:
    """Return (subject, body) for one alert event; people counts under k never appear."""
    what = {"opened": "NEW", "closed": "CLOSED"}.get(event, "ESCALATED")
    subject = f"[HBM {alert.severity.upper()}] {what}: {withhold_small_counts_in_text(alert.title, k)}"[:200]
    lines = [
        subject,
        f"Opened {alert.opened_at:%Y-%m-%d %H:%M} UTC · status {alert.status}",
        _people_text(alert.evidence, k),
    ]
    if link:
        lines.append(link)
    return subject, "\n".join(line for line in lines if line)


def enqueue(store: Store, alert: Alert, rule: Rule, event: str, k: int, link: str = "") -> int:
    """Queue ``event`` of ``alert`` for each target of ``rule``; return how many rows are new (others went already)."""
    targets, on_close = notify_targets(rule)
    if not targets or (event == "closed" and not on_close):
        return 0
    table = _table(store)
    subject, body = message(alert, event, k, link)
    now = store.to_db_time(datetime.now(UTC))
    added = 0
    for channel, target in targets:
        row = {
            "alert_id": alert.id,
            "rule_id": rule.id,
            "event": event,
            "channel": channel,
            "target": target,
            "subject": subject,
            "body": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        key = (
            table.c.alert_id == alert.id,
            table.c.event == event,
            table.c.channel == channel,
            table.c.target == target,
        )
        with store.connect() as conn:
            if conn.execute(select(table.c.id).where(*key)).first() is not None:
                continue  # this alert event already went (or is going) to this target: once only
        try:
            with store.connect(write=True) as conn:
                conn.execute(insert(table).values(**row))
                detail = {"alert": alert.id, "event": event, "channel": channel}
                audit_log.record(store, audit_log.SYSTEM, "notify_queue", target[:200], detail, conn=conn)
            added += 1
        except (IntegrityError, StoreUnavailable) as exc:
            if not _is_duplicate(exc):
                raise
            # another process queued the same message a moment ago: the unique key keeps it once
    return added


def _is_duplicate(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, IntegrityError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def enqueue_evaluation(store: Store, evaluation: Any, k: int, link: str = "") -> int:
    """Queue notifications for what one rule evaluation opened, escalated and closed; return rows queued."""
    rules = {r.id: r for r in load_rules(store)}
    ensure_table(store)
    added = 0
    for alert in evaluation.opened:
        if alert.rule_id in rules:
            added += enqueue(store, alert, rules[alert.rule_id], "opened", k, link)
    for alert in evaluation.updated:
        rule = rules.get(alert.rule_id)
        if rule is not None and SEVERITY_RANK.get(alert.severity, 0) > SEVERITY_RANK.get("info", 0):
            added += _escalation(store, alert, rule, k, link)
    for alert in evaluation.closed:
        if alert.rule_id in rules:
            added += enqueue(store, alert, rules[alert.rule_id], "closed", k, link)
    return added


def _escalation(store: Store, alert: Alert, rule: Rule, k: int, link: str) -> int:
    """Queue an escalation when the alert's severity rose above the one it was first notified at."""
    table = _table(store)
    with store.connect() as conn:
        first = conn.execute(
            select(table.c.subject).where(table.c.alert_id == alert.id, table.c.event == "opened").limit(1)
        ).scalar()
    if first is None:
        return 0
    opened_at = next((s for s in ("CRITICAL", "WARNING", "INFO") if f"[HBM {s}]" in first), "INFO").lower()
    if SEVERITY_RANK[alert.severity] <= SEVERITY_RANK[opened_at]:
        return 0
    return enqueue(store, alert, rule, f"escalated:{alert.severity}", k, link)


# -- sending ---------------------------------------------------------------------------------------
def _row(store: Store, r: Any) -> Outgoing:
    return Outgoing(
        id=int(r["id"]),
        alert_id=r["alert_id"],
        rule_id=r["rule_id"],
        event=r["event"],
        channel=r["channel"],
        target=r["target"],
        subject=r["subject"],
        body=r["body"],
        status=r["status"],
        attempts=int(r["attempts"]),
        next_attempt_at=store.from_db_time(r["next_attempt_at"]),  # type: ignore[arg-type]
        last_error=r["last_error"],
        created_at=store.from_db_time(r["created_at"]),  # type: ignore[arg-type]
        sent_at=store.from_db_time(r["sent_at"]) if r["sent_at"] is not None else None,
    )


def list_outbox(store: Store, status: str | None = None, limit: int = 200) -> list[Outgoing]:
    """Return outbox rows (of one status: pending, sent or dead), newest first."""
    ensure_table(store)
    table = _table(store)
    query = select(table).order_by(table.c.id.desc()).limit(limit)
    if status:
        query = query.where(table.c.status == status)
    with store.connect() as conn:
        return [_row(store, r) for r in conn.execute(query).mappings().all()]


def send_email(item: Outgoing, settings: NotifySettings) -> None:
    """Send one e-mail through the configured SMTP server (raises on failure)."""
    if not settings.smtp_host:
        raise HbmError("HBM_NOTIFY_SMTP_HOST is not set")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = settings.smtp_from, item.target, item.subject
    mail.set_content(item.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(mail)


def webhook_body(item: Outgoing) -> dict[str, Any]:
    """Return a webhook's JSON: ``text`` (shown by Slack, Teams and Mattermost incoming webhooks) plus fields."""
    return {"text": item.body, "title": item.subject, "alert_id": item.alert_id, "event": item.event}


def send_webhook(item: Outgoing, settings: NotifySettings) -> None:
    """POST the message as JSON (raises on a network error or a non-2xx answer)."""
    data = json.dumps(webhook_body(item)).encode("utf-8")
    request = urllib.request.Request(
        item.target, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "hbm-notify"}
    )
    with urllib.request.urlopen(request, timeout=settings.notify_timeout_s) as resp:  # noqa: S310 - admin-set URL
        if not 200 <= resp.status < 300:
            raise HbmError(f"HTTP {resp.status}")


SENDERS: dict[str, Callable[[Outgoing, NotifySettings], None]] = {"email": send_email, "webhook": send_webhook}


def deliver_due(store: Store, settings: NotifySettings | None = None, now: datetime | None = None) -> dict[str, int]:
    """Send every due pending message once; return counts of sent, retried and dead."""
    settings = settings or load_notify_settings()
    now = now or datetime.now(UTC)
    ensure_table(store)
    table = _table(store)
    with store.connect() as conn:
        rows = (
            conn.execute(
                select(table)
                .where(table.c.status == "pending", table.c.next_attempt_at <= store.to_db_time(now))
                .order_by(table.c.id)
            )
            .mappings()
            .all()
        )
    counts = {"sent": 0, "retry": 0, "dead": 0}
    for item in (_row(store, r) for r in rows):
        try:
            SENDERS[item.channel](item, settings)
        except Exception as exc:  # noqa: BLE001 - any failure of an endpoint is recorded, never raised
            error = _one_line(exc)
            attempts = item.attempts + 1
            dead = attempts >= settings.notify_max_attempts
            delay = timedelta(seconds=settings.notify_retry_base_s * 2 ** (attempts - 1))
            values = {
                "attempts": attempts,
                "last_error": error,
                "status": "dead" if dead else "pending",
                "next_attempt_at": store.to_db_time(now + delay),
            }
            with store.connect(write=True) as conn:
                conn.execute(update(table).where(table.c.id == item.id).values(**values))
                detail = {
                    "alert": item.alert_id,
                    "event": item.event,
                    "channel": item.channel,
                    "attempts": attempts,
                    "error": error,
                }
                action = "notify_dead_letter" if dead else "notify_failed"
                audit_log.record(store, audit_log.SYSTEM, action, item.target[:200], detail, conn=conn)
            counts["dead" if dead else "retry"] += 1
            continue
        with store.connect(write=True) as conn:
            conn.execute(
                update(table)
                .where(table.c.id == item.id)
                .values(
                    status="sent",
                    attempts=item.attempts + 1,
                    sent_at=store.to_db_time(datetime.now(UTC)),
                    last_error=None,
                )
            )
            detail = {"alert": item.alert_id, "event": item.event, "channel": item.channel}
            audit_log.record(store, audit_log.SYSTEM, "notify_sent", item.target[:200], detail, conn=conn)
        counts["sent"] += 1
    return counts


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]


def retry_dead(store: Store, ids: list[int] | None = None, who: str = audit_log.SYSTEM) -> int:
    """Put dead letters (all, or ``ids``) back in the queue for one more round; return how many."""
    table = _table(store)
    where = [table.c.status == "dead"] + ([table.c.id.in_(ids)] if ids else [])
    with store.connect(write=True) as conn:
        n = conn.execute(
            update(table)
            .where(*where)
            .values(status="pending", attempts=0, next_attempt_at=store.to_db_time(datetime.now(UTC)))
        ).rowcount
        if n:
            audit_log.note(store, "notify_retry", None, {"rows": n, "ids": ids}, who=who, conn=conn)
    return int(n)


class NotificationWorker:
    """Sends due notifications in a daemon thread every ``notify_interval_s`` (never in a request or evaluation)."""

    def __init__(self, store: Store, settings: NotifySettings | None = None) -> None:
        self.store, self.settings = store, settings or load_notify_settings()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error = ""

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hbm-notify", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                deliver_due(self.store, self.settings)
                self.last_error = ""
            except HbmError as exc:  # the store is down: try again next round
                self.last_error = str(exc)
            self._stop.wait(self.settings.notify_interval_s)
