"""Alerts panel: open and recent alerts with evidence, fly-to, and acknowledgement; a header badge.

The rules run from here on the refresh interval (throttled, and only when the data changed),
so a wall screen with nobody at it still raises alerts. ``hbm alerts run`` does the same
from cron when no dashboard is open.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import dash_leaflet as dl
import h3
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard.ids import Id
from dashboard.permissions import (
    ACK_ALERTS,
    DEMO_USER,
    RAW,
    REQUEST_USER,
    VIEW,
    User,
    acting_user,
    can,
    current_user,
    denied_text,
    require,
)
from dashboard.settings import AppSettings
from data.alerts import Alert, acknowledge, get_alert, list_alerts
from data.store import Store
from geo.errors import HbmError
from geo.suppression import withhold_small_counts, withhold_small_counts_in_text
from layers.hotspots import load_hotspot_settings
from layers.i18n import N_, _, ngettext, value_label
from layers.labels import evidence_rows, format_time, format_value
from layers.services.alert_monitor import AlertMonitor
from layers.services.alerts import alert_title, ensure_default_rules, place_text

TITLE = N_("Alerts")
LIST = "alerts-list"
WHO = "alerts-who"
WHO_BOX = "alerts-who-box"
ROLE_NOTE = "alerts-role"
MESSAGE = "alerts-message"
ACKED = "alerts-acked"
SIGNATURE = "alerts-signature"
FLY = "alert-fly"
ACK = "alert-ack"
RECENT = timedelta(hours=24)
FLY_ZOOM = 10
MARK = "alert-mark"
EMPTY = {"type": "FeatureCollection", "features": []}


def layout(settings: AppSettings) -> html.Div:
    """Return the panel: who is on watch (kept in this browser), the alert list, a message line."""
    return html.Div(
        [
            html.Div(
                [
                    html.Label(_("On watch (for acknowledgements)"), htmlFor=WHO, className="hbm-field-label"),
                    dcc.Input(
                        id=WHO,
                        type="text",
                        placeholder=_("name or call sign"),
                        maxLength=80,
                        persistence=True,
                        persistence_type="local",
                        className="hbm-input",
                    ),
                ],
                id=WHO_BOX,
            ),
            html.Div(id=ROLE_NOTE, className="hbm-muted"),
            html.Div(id=MESSAGE, className="hbm-view-error", role="alert"),
            html.Div(id=LIST, className="hbm-alerts", children=_("No alerts yet.")),
            dcc.Store(id=ACKED, data=0),
            dcc.Store(id=SIGNATURE, data=""),
        ]
    )


def _when(t: datetime | None) -> str:
    return "—" if t is None else format_time(t, fmt="%d %b %H:%M")


def _evidence_value(key: str, value: Any, small_k: int | None) -> str:
    if value is None and small_k:
        return _("fewer than {k}").format(k=small_k)  # withheld: small counts stay hidden from roles without raw access
    if key == "place":
        return place_text(str(value))
    if isinstance(value, list):
        return ", ".join(map(value_label, value))
    return format_value(key, value) if isinstance(value, int | float) else value_label(value)


def render_alert(alert: Alert, can_ack: bool = True, small_k: int | None = None) -> html.Div:
    """Return one alert as a card; evidence and names are rendered as text only.

    ``can_ack`` False shows a disabled Acknowledge button; ``small_k`` hides people counts under k.
    """
    shown = dict(alert.evidence)
    if small_k:  # withheld counts are named, not left out: "people: fewer than 5"
        safe = withhold_small_counts(shown, small_k)
        shown = {
            key: _("fewer than {k}").format(k=small_k) if safe[key] is None and value is not None else safe[key]
            for key, value in shown.items()
        }
    evidence = [
        html.Tr([html.Td(label), html.Td(_evidence_value(key, value, small_k))])
        for key, label, value in evidence_rows(shown)
    ]
    if alert.acked_by:
        ack: Any = html.Span(
            _("Acknowledged by {who}, {when}").format(who=alert.acked_by, when=_when(alert.acked_at)),
            className="hbm-acked",
        )
    elif can_ack:
        ack = html.Button(_("Acknowledge"), id={"type": ACK, "id": alert.id}, className="hbm-button", n_clicks=0)
    else:
        ack = html.Button(
            _("Acknowledge"),
            id={"type": ACK, "id": alert.id},
            className="hbm-button",
            n_clicks=0,
            disabled=True,
            title=_("Your role may not acknowledge alerts"),
        )
    state = _("open") if alert.status == "open" else _("closed {when}").format(when=_when(alert.closed_at))
    return html.Div(
        className=f"hbm-alert sev-{alert.severity} {'acked' if alert.acked_by else 'unacked'} {alert.status}",
        children=[
            html.Div([html.B(value_label(alert.severity).upper()), f" · {state}"], className="hbm-alert-head"),
            html.Div(alert_title(alert, small_k), className="hbm-alert-title"),
            html.Div(
                _("Opened {opened} · updated {updated}").format(
                    opened=_when(alert.opened_at), updated=_when(alert.updated_at)
                ),
                className="hbm-muted",
            ),
            html.Table(html.Tbody(evidence), className="hbm-evidence"),
            html.Div(
                [
                    html.Button(_("Show on map"), id={"type": FLY, "id": alert.id}, className="hbm-button", n_clicks=0),
                    ack,
                ],
                className="hbm-alert-actions",
            ),
        ],
    )


def badge(alerts: list[Alert], small_k: int | None = None) -> tuple[str, str]:
    """Return the header badge text and class: open alerts nobody has acknowledged yet."""
    unacked = [a for a in alerts if a.status == "open" and not a.acked_by]
    if not unacked:
        return "", "hbm-alert-badge"
    worst = "critical" if any(a.severity == "critical" for a in unacked) else unacked[0].severity
    text = ngettext("⚠ {n} new alert: {title}", "⚠ {n} new alerts: {title}", len(unacked)).format(
        n=len(unacked), title=alert_title(unacked[0], small_k)
    )
    return text, f"hbm-alert-badge show sev-{worst}"


def alerts_view(
    store: Store, monitor: AlertMonitor | None, now: datetime, user: User | None = REQUEST_USER
) -> tuple[Any, str, str, str, str]:
    """Return (alert cards, badge text, badge class, message, signature), evaluating the rules first when due.

    The signature changes only when an alert does, so the panel is not redrawn (and a button
    under the operator's finger or keyboard focus is not replaced) on every refresh.
    """
    user = acting_user(user)
    if not can(user, VIEW):
        return "", "", "hbm-alert-badge", denied_text(user, VIEW), ""
    message = ""
    if monitor is not None:
        try:
            monitor.maybe_evaluate(now, store.revisions()["_all"].revision)
        except HbmError as exc:
            message = _("Rules not evaluated: {error}").format(error=exc)
        if monitor.last_errors:
            message = "; ".join(monitor.last_errors)
    alerts = list_alerts(store, status="open") + [
        a for a in list_alerts(store, status="closed", since=now - RECENT, limit=10)
    ]
    small_k = None if can(user, RAW) else load_hotspot_settings()[1]
    if small_k:  # titles name counts too ("2 distress event(s) in …"): small ones read "under k"
        alerts = [replace(a, title=withhold_small_counts_in_text(a.title, small_k)) for a in alerts]
    can_ack = can(user, ACK_ALERTS)
    cards: Any = [render_alert(a, can_ack, small_k) for a in alerts] or _("No open or recent alerts.")
    text, cls = badge(alerts, small_k)
    signature = "|".join(f"{a.id}:{a.updated_at.isoformat()}:{a.status}:{a.acked_by}" for a in alerts)
    return cards, text, cls, message, signature


def ack_alert(store: Store, alert_id: str, user: User | None, typed_name: str | None, now: datetime) -> Alert:
    """Acknowledge an alert as ``user`` and return it; raise Forbidden without ``ack_alerts``.

    The name recorded is the signed-in user's; only the demo user (authentication off) types one.
    """
    user = require(user, ACK_ALERTS)
    who = (typed_name or "") if user == DEMO_USER else user.name
    return acknowledge(store, alert_id, who, now)


def fly_target(alert: Alert, user: User | None, max_res: int) -> tuple[float, float] | None:
    """Return where "Show on map" flies: the alert's point, or its H3 cell centre at ``max_res`` without raw."""
    if alert.lat is None or alert.lng is None:
        return None
    if can(user, RAW):
        return alert.lat, alert.lng
    return h3.cell_to_latlng(h3.latlng_to_cell(alert.lat, alert.lng, max_res))  # no raw point for this role


def who_controls(user: User | None) -> tuple[dict[str, str], str]:
    """Return (style of the on-watch name field, role note): the field is for the demo user only."""
    if user == DEMO_USER:
        return {}, ""
    if user is None:
        return {"display": "none"}, _("Sign in to acknowledge alerts.")
    if not can(user, ACK_ALERTS):
        return {"display": "none"}, denied_text(user, ACK_ALERTS)
    return {"display": "none"}, _("Acknowledging as {name}.").format(name=user.name)


def map_children(settings: AppSettings) -> list[Any]:
    """Return the marker "Show on map" puts on an alert's point (a ring with the alert's title)."""
    return [
        dl.Pane(name="hbm-alert-mark", style={"zIndex": 640}),
        dl.GeoJSON(id=MARK, data=EMPTY, pane="hbm-alert-mark", pointToLayer={"variable": "hbm.alertMark"}),
    ]


def mark_feature(alert: Alert, centre: tuple[float, float], small_k: int | None = None) -> dict[str, Any]:
    """Return the one-point collection marking ``alert`` at ``centre`` (lat, lng) on the map."""
    lat, lng = centre
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lng, lat]},
                "properties": {"title": alert_title(alert, small_k), "severity": alert.severity, "alert": alert.id},
            }
        ],
    }


def register(app: Dash, store: Store, settings: AppSettings) -> None:
    """Attach the alert callbacks; the rules are seeded with defaults on first use."""
    sql = store
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
            view = alerts_view(sql, monitor, datetime.now(UTC), current_user())
        except HbmError:
            return (no_update,) * 5  # the store banner reports the outage
        if view[4] == shown:
            return (no_update, no_update, no_update, view[3] or no_update, no_update)
        return view

    @app.callback(Output(WHO_BOX, "style"), Output(ROLE_NOTE, "children"), Input(LIST, "id"))
    def _who(_list: str) -> tuple[dict[str, str], str]:
        return who_controls(current_user())

    @app.callback(
        Output(Id.MAP, "viewport", allow_duplicate=True),
        Output(MARK, "data"),
        Input({"type": FLY, "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def _fly(clicks: list[int | None]) -> Any:
        target = ctx.triggered_id
        if not target or not any(clicks):
            return no_update, no_update
        user = current_user()
        if not can(user, VIEW):
            return no_update, no_update
        alert = get_alert(sql, target["id"])  # type: ignore[index]
        centre = fly_target(alert, user, settings.viewer_max_res) if alert is not None else None
        if alert is None or centre is None:
            return no_update, no_update
        small_k = None if can(user, RAW) else load_hotspot_settings()[1]
        return {"center": list(centre), "zoom": FLY_ZOOM, "transition": "flyTo"}, mark_feature(alert, centre, small_k)

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
            ack_alert(sql, target["id"], current_user(), who, datetime.now(UTC))  # type: ignore[index]
        except HbmError as exc:
            return no_update, str(exc)
        return int(count or 0) + 1, ""
