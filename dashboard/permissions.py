"""Roles, what each may do, and who is asking: the one place the server decides access.

Every callback and endpoint asks ``can(current_user(), PERMISSION)`` (or ``require``) on the
server; hiding a button is never the control. The request's user is set by the authentication
layer (``flask.g.hbm_user``); with authentication off (``hbm demo`` only) it is ``DEMO_USER``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

from data.roles import (
    ACK_ALERTS,
    ADMIN,
    DEMO_USER,
    EDIT_RULES,
    EDIT_SAR,
    EXPORT_DATA,
    EXPORT_IMAGE,
    INGEST,
    PERMISSIONS,
    RAW,
    ROLES,
    VIEW,
    VIEWER_MAX_RES,
    Forbidden,
    User,
    can,
    require,
)
from layers.i18n import N_, _, value_label

# The pure policy lives in data/roles.py (importable from every package); re-exported here for the dashboard.
__all__ = [
    "ACK_ALERTS",
    "ADMIN",
    "DEMO_USER",
    "EDIT_RULES",
    "EDIT_SAR",
    "EXPORT_DATA",
    "EXPORT_IMAGE",
    "Forbidden",
    "INGEST",
    "PERMISSIONS",
    "RAW",
    "ROLES",
    "User",
    "VIEW",
    "VIEWER_MAX_RES",
    "can",
    "require",
]

if TYPE_CHECKING:
    from layers.view import View


class _RequestUser:
    """The default of a ``user`` argument: whoever is acting (see ``acting_user``)."""

    def __repr__(self) -> str:
        return "REQUEST_USER"


REQUEST_USER: User = cast(User, _RequestUser())


def acting_user(user: User | None = REQUEST_USER) -> User | None:
    """Return ``user`` as given (None = anonymous), or for the default: the request's user, or DEMO_USER outside one.

    Functions behind callbacks default their ``user`` argument to REQUEST_USER and call this, so a
    callback that forgets to pass the user still acts as the signed-in user, never as an administrator;
    outside a web request (the CLI, tests) the default is the demo user.
    """
    if user is not REQUEST_USER:
        return user
    try:
        from flask import has_request_context
    except ImportError:  # pragma: no cover - flask comes with dash
        return DEMO_USER
    return current_user() if has_request_context() else DEMO_USER


def current_user() -> User | None:
    """Return the user of the current request (set by the authentication layer), or None."""
    try:
        from flask import g, has_request_context
    except ImportError:  # pragma: no cover - flask comes with dash
        return None
    if not has_request_context():
        return None
    user = g.get("hbm_user")
    return user if isinstance(user, User) else None


# -- enforcement helpers (issue 7: what each role sees) ---------------------------------------------------------------

WHAT = {
    RAW: N_("see raw event points or H3 cells finer than the viewer limit"),
    EXPORT_IMAGE: N_("export maps"),
    EXPORT_DATA: N_("export data"),
    EDIT_RULES: N_("edit alert rules"),
    ACK_ALERTS: N_("acknowledge alerts"),
    EDIT_SAR: N_("edit SAR plans"),
    ADMIN: N_("administer users, settings and the audit"),
}


def denied_text(user: User | None, permission: str) -> str:
    """Return the one-line message shown when ``user`` lacks ``permission`` ("" when allowed)."""
    if can(user, permission):
        return ""
    if user is None:
        return _("Sign in first.")
    what = _(WHAT[permission]) if permission in WHAT else permission.replace("_", " ")
    return _("Your role ({role}) may not {action}.").format(role=value_label(user.role), action=what)


def clamp_view(view: View, user: User | None, max_res: int = VIEWER_MAX_RES) -> View:
    """Return ``view`` as ``user`` may see it: unchanged with ``raw``; else at most ``max_res`` and suppressed.

    Whatever the client sent (a fixed resolution of 9, the suppression toggle off, a crafted callback),
    a user without ``raw`` gets H3 cells no finer than ``max_res`` with small counts merged into parents.
    A zoom-derived resolution at or under the limit keeps following the zoom.
    """
    if can(user, RAW):
        return view
    if view.resolution is None and view.res <= max_res:
        return replace(view, suppress=True)
    return replace(view, resolution=min(view.res, max_res), suppress=True)
