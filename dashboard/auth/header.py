"""The header's sign-in items (the user and Log out, or a "no login" marker) and the callback that fills them."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from dash import Dash, Input, Output, dcc
from dash import html as dhtml

from dashboard.auth.pages import LOGOUT_PATH
from dashboard.permissions import current_user
from dashboard.settings import AppSettings
from layers.i18n import _, value_label


class AuthId(StrEnum):
    """Component ids of the header's sign-in items."""

    USER = "hbm-auth-user"
    LOGOUT = "hbm-auth-logout"
    CSRF = "hbm-auth-csrf"


def header_items(settings: AppSettings) -> list[Any]:
    """Return the header's sign-in items: a "no login" marker with auth off, else the user and Log out."""
    if not settings.auth:
        text = _("DEMO — no login") if settings.synthetic else _("NO LOGIN — authentication is off")
        hint = _("Anyone who can open this page can use it")
        return [dhtml.Span(text, className="hbm-nologin", role="status", title=hint)]
    return [
        dhtml.Span(id=AuthId.USER, className="hbm-user"),
        dhtml.Form(
            [
                dcc.Input(type="hidden", name="csrf", id=AuthId.CSRF),  # the session's token, set by _show_user
                dhtml.Button(_("Log out"), type="submit", id=AuthId.LOGOUT, className="hbm-logout"),
            ],
            method="post",
            action=LOGOUT_PATH,
            className="hbm-logout-form",
        ),
    ]


def register_header(app: Dash, csrf: Callable[[], str]) -> None:
    """Fill the header's user name and the log-out form's CSRF token on every page load."""

    @app.callback(Output(AuthId.USER, "children"), Output(AuthId.CSRF, "value"), Input(AuthId.USER, "id"))
    def _show_user(_id: str) -> tuple[str, str]:
        user = current_user()
        return (f"{user.name} ({value_label(user.role)})" if user else "", csrf())
