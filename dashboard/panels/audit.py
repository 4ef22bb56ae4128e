"""Audit panel (administrators only): the latest rows of the audit log, as text.

The rows come from ``data.audit_log.query`` on the server, and only for a user with the ``admin``
permission; everyone else gets a one-line note and no rows, whatever their browser asks for.
``hbm audit`` on the command line shows the same log in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, html

from dashboard.permissions import ADMIN, User, can, current_user, denied_text
from dashboard.settings import AppSettings
from data import audit_log
from data.store import Store
from geo.errors import HbmError
from layers.i18n import N_, _, format_time, value_label

if TYPE_CHECKING:
    from dashboard.config import Settings

TITLE = N_("Audit (administrators)")
NOTE = "audit-note"
TABLE = "audit-table"
REFRESH = "audit-refresh"
ROWS = 25


def layout(settings: AppSettings) -> html.Div:
    """Return the panel: a note, a refresh button and the table of the latest audit rows."""
    return html.Div(
        [
            html.Div(id=NOTE, className="hbm-muted", role="status"),
            html.Button(_("Refresh"), id=REFRESH, className="hbm-button", n_clicks=0),
            html.Table(id=TABLE, className="hbm-audit"),
        ]
    )


def audit_rows(store: Store, user: User | None, limit: int = ROWS) -> tuple[str, list[Any]]:
    """Return (note, table rows) of the latest audit entries for an administrator; other roles get no rows."""
    if not can(user, ADMIN):
        return denied_text(user, ADMIN), []
    entries = audit_log.query(store, limit=limit)
    header = html.Tr([html.Th(h) for h in (_("when (UTC)"), _("who"), _("action"), _("target"))])
    rows = [
        html.Tr(
            [
                html.Td(format_time(e.at, "d MMM HH:mm:ss").removesuffix(" UTC")),
                html.Td(e.who),
                html.Td(value_label(e.action)),
                html.Td("" if e.target is None else e.target),
            ]
        )
        for e in entries
    ]
    return _("The latest {n} audit rows (hbm audit shows them all).").format(n=len(rows)), [header, *rows]


def register(app: Dash, store: Store, settings: AppSettings, config: Settings | None = None) -> None:
    """Attach the audit panel's callback."""

    @app.callback(Output(NOTE, "children"), Output(TABLE, "children"), Input(REFRESH, "n_clicks"))
    def _audit(_n: int | None) -> tuple[str, list[Any]]:
        try:
            return audit_rows(store, current_user())
        except HbmError as exc:
            return f"Audit unavailable: {exc}", []
