"""Alerts panel: open and recent alerts with evidence, fly-to, and acknowledgement; a header badge.

The rules run from here on the refresh interval (throttled, and only when the data changed),
so a wall screen with nobody at it still raises alerts. ``hbm alerts run`` does the same
from cron when no dashboard is open.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard.ids import Id
from dashboard.settings import AppSettings
from data.alerts import Alert, acknowledge, get_alert, list_alerts
from data.store import SqlStore, Store, as_sql_store
from geo.errors import HbmError
from layers.alerts import AlertMonitor, ensure_default_rules

TITLE = "Alerts"
LIST = "alerts-list"
WHO = "alerts-who"
MESSAGE = "alerts-message"
ACKED = "alerts-acked"
SIGNATURE = "alerts-signature"
FLY = "alert-fly"
ACK = "alert-ack"
RECENT = timedelta(hours=24)
FLY_ZOOM = 10


def layout(settings: AppSettings) -> html.Div:
    """Return the panel: who is on watch (kept in this browser), the alert list, a message line."""
    return html.Div(
        [
            html.Label("On watch (for acknowledgements)", htmlFor=WHO, className="hbm-field-label"),
            dcc.Input(
                id=WHO,
                type="text",
                placeholder="name or call sign",
                maxLength=80,
                persistence=True,
                persistence_type="local",
                className="hbm-input",
            ),
            html.Div(id=MESSAGE, className="hbm-view-error", role="alert"),
            html.Div(id=LIST, className="hbm-alerts", children="No alerts yet."),
            dcc.Store(id=ACKED, data=0),
            dcc.Store(id=SIGNATURE, data=""),
        ]
    )


def _when(t: datetime | None) -> str:
    return "—" if t is None else t.astimezone(UTC).strftime("%d %b %H:%M UTC")


def render_alert(alert: Alert) -> html.Div:
    """Return one alert as a card; evidence and names are rendered as text only."""
    evidence = [
        html.Tr([html.Td(str(k).replace("_", " ")), html.Td(", ".join(map(str, v)) if isinstance(v, list) else str(v))])
        for k, v in alert.evidence.items()
        if k != "event_ids"
    ]
    if alert.acked_by:
        ack: Any = html.Span(f"Acknowledged by {alert.acked_by}, {_when(alert.acked_at)}", className="hbm-acked")
    else:
        ack = html.Button("Acknowledge", id={"type": ACK, "id": alert.id}, className="hbm-button", n_clicks=0)
    state = "open" if alert.status == "open" else f"closed {_when(alert.closed_at)}"
    return html.Div(
        className=f"hbm-alert sev-{alert.severity} {'acked' if alert.acked_by else 'unacked'} {alert.status}",
        children=[
            html.Div([html.B(alert.severity.upper()), f" · {state}"], className="hbm-alert-head"),
            html.Div(alert.title, className="hbm-alert-title"),
            html.Div(f"Opened {_when(alert.opened_at)} · updated {_when(alert.updated_at)}", className="hbm-muted"),
            html.Table(html.Tbody(evidence), className="hbm-evidence"),
            html.Div(
                [
                    html.Button("Show on map", id={"type": FLY, "id": alert.id}, className="hbm-button", n_clicks=0),
                    ack,
                ],
                className="hbm-alert-actions",
            ),
        ],
    )


def badge(alerts: list[Alert]) -> tuple[str, str]:
    """Return the header badge text and class: open alerts nobody has acknowledged yet."""
    unacked = [a for a in alerts if a.status == "open" and not a.acked_by]
    if not unacked:
        return "", "hbm-alert-badge"
    worst = "critical" if any(a.severity == "critical" for a in unacked) else unacked[0].severity
    noun = "alert" if len(unacked) == 1 else "alerts"
    return f"⚠ {len(unacked)} new {noun}: {unacked[0].title}", f"hbm-alert-badge show sev-{worst}"


def alerts_view(store: SqlStore, monitor: AlertMonitor | None, now: datetime) -> tuple[Any, str, str, str, str]:
    """Return (alert cards, badge text, badge class, message, signature), evaluating the rules first when due.

    The signature changes only when an alert does, so the panel is not redrawn (and a button
    under the operator's finger or keyboard focus is not replaced) on every refresh.
    """
    message = ""
    if monitor is not None:
        try:
            monitor.maybe_evaluate(now, store.revisions()["_all"].revision)
        except HbmError as exc:
            message = f"Rules not evaluated: {exc}"
        if monitor.last_errors:
            message = "; ".join(monitor.last_errors)
    alerts = list_alerts(store, status="open") + [
        a for a in list_alerts(store, status="closed", since=now - RECENT, limit=10)
    ]
    cards: Any = [render_alert(a) for a in alerts] or "No open or recent alerts."
    text, cls = badge(alerts)
    signature = "|".join(f"{a.id}:{a.updated_at.isoformat()}:{a.status}:{a.acked_by}" for a in alerts)
    return cards, text, cls, message, signature


def register(app: Dash, store: Store, settings: AppSettings) -> None:
    """Attach the alert callbacks; the rules are seeded with defaults on first use."""
    sql = as_sql_store(store)
    monitor = AlertMonitor(sql, settings.region)
    seeded: list[bool] = []  # nothing touches the store at start-up: default rules are seeded on first poll

    @app.callback(
        Output(LIST, "children"),
        Output(Id.ALERT_BADGE, "children"),
        Output(Id.ALERT_BADGE, "className"),
        Output(MESSAGE, "children"),
        Output(SIGNATURE, "data"),
        Input(Id.INTERVAL, "n_intervals"),
        Input(ACKED, "data"),
        State(SIGNATURE, "data"),
    )
    def _poll(_n: int | None, _acked: int, shown: str | None) -> tuple[Any, ...]:
        try:
            if not seeded:
                ensure_default_rules(sql, datetime.now(UTC))
                seeded.append(True)
            view = alerts_view(sql, monitor, datetime.now(UTC))
        except HbmError:
            return (no_update,) * 5  # the store banner reports the outage
        if view[4] == shown:
            return (no_update, no_update, no_update, view[3] or no_update, no_update)
        return view

    @app.callback(
        Output(Id.MAP, "viewport", allow_duplicate=True),
        Input({"type": FLY, "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def _fly(clicks: list[int | None]) -> Any:
        target = ctx.triggered_id
        if not target or not any(clicks):
            return no_update
        alert = get_alert(sql, target["id"])  # type: ignore[index]
        if alert is None or alert.lat is None:
            return no_update
        return {"center": [alert.lat, alert.lng], "zoom": FLY_ZOOM, "transition": "flyTo"}

    @app.callback(
        Output(ACKED, "data"),
        Output(MESSAGE, "children", allow_duplicate=True),
        Input({"type": ACK, "id": ALL}, "n_clicks"),
        State(WHO, "value"),
        State(ACKED, "data"),
        prevent_initial_call=True,
    )
    def _ack(clicks: list[int | None], who: str | None, count: int) -> tuple[Any, Any]:
        target = ctx.triggered_id
        if not target or not any(clicks):
            return no_update, no_update
        try:
            acknowledge(sql, target["id"], who or "", datetime.now(UTC))  # type: ignore[index]
        except HbmError as exc:
            return no_update, str(exc)
        return int(count or 0) + 1, ""
