"""Sign-in for the dashboard: the gate in front of every page, callback and endpoint.

With authentication on (``HBM_AUTH``, the default; only ``hbm demo`` turns it off) every request
needs a live session of an enabled user, except the login page, its stylesheet, ``/healthz`` and
``POST /api/v1/events`` (which checks its own ingest-only bearer token; a token never opens a page
or a callback). A browser navigation without a session is redirected to ``/login?next=…``; anything
else (Dash's callbacks, layout, scripts, assets, downloads) gets 401. The gate sets
``flask.g.hbm_user`` (read through ``dashboard.permissions.current_user``) and names the user in the
audit log for whatever the request changes.

Sessions: Flask's signed cookie (``HBM_AUTH_SECRET_KEY``; HttpOnly, SameSite=Lax, Secure unless
``HBM_AUTH_COOKIE_SECURE=false``) carries a random token; the store keeps only its SHA-256 with the
user and expiry, so log-out and disabling a user end the session on the server, not just in the
browser. The user row behind a session is re-read on every request (``HBM_AUTH_RECHECK_SECONDS``,
default 0), so a log-out or a disabled user takes effect in every worker process and node at once.
Failed sign-ins are counted per client IP and per user name in the store (``data.login_limits``:
one count for every worker and node) and refused with 429 past the limit.

Modules: ``pages`` (routes, the sign-in page, ``safe_next``: no dash, no flask), ``settings``
(``AuthSettings`` and the start-up checks), ``limits`` (in-memory counters), ``gate`` (the Flask
Blueprint and its plain steps) and ``header`` (the header's user and Log out).
"""

from dashboard.auth.gate import ANONYMOUS, Gate, auth_blueprint, install_auth
from dashboard.auth.header import AuthId, header_items
from dashboard.auth.limits import FailureLimiter, Recheck, RefusalCounter
from dashboard.auth.pages import (
    LANGUAGE_PATH,
    LOGIN_CSS_PATH,
    LOGIN_MAX_BYTES,
    LOGIN_PATH,
    LOGOUT_PATH,
    OPEN_PATHS,
    OPEN_ROUTES,
    WRONG,
    is_open_route,
    login_page,
    safe_next,
)
from dashboard.auth.settings import AuthSettings, check_serve_ready, load_auth_settings, require_secret

__all__ = [
    "ANONYMOUS",
    "LANGUAGE_PATH",
    "LOGIN_CSS_PATH",
    "LOGIN_MAX_BYTES",
    "LOGIN_PATH",
    "LOGOUT_PATH",
    "OPEN_PATHS",
    "OPEN_ROUTES",
    "WRONG",
    "AuthId",
    "AuthSettings",
    "FailureLimiter",
    "Gate",
    "Recheck",
    "RefusalCounter",
    "auth_blueprint",
    "check_serve_ready",
    "header_items",
    "install_auth",
    "is_open_route",
    "load_auth_settings",
    "login_page",
    "require_secret",
    "safe_next",
]
