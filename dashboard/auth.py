"""Sign-in for the dashboard: the gate in front of every page, callback and endpoint.

With authentication on (``HBM_AUTH``, the default; only ``hbm demo`` turns it off) every request
needs a live session of an enabled user, except the login page, its stylesheet, ``/healthz`` and
``POST /api/v1/events`` (which checks its own ingest-only bearer token; a token never opens a page
or a callback). A browser navigation without a session is redirected to ``/login?next=…``; anything
else (Dash's callbacks, layout, scripts, assets, downloads) gets 401. The gate sets
``flask.g.hbm_user`` (read through ``dashboard.permissions.current_user``) and names the user in the
audit log for whatever the request changes.

Sessions: Flask's signed cookie (``HBM_SECRET_KEY``; HttpOnly, SameSite=Lax, Secure unless
``HBM_COOKIE_SECURE=false``) carries a random token; the store keeps only its SHA-256 with the
user and expiry, so log-out and disabling a user end the session on the server, not just in the
browser. The user row behind a session is re-read on every request (``HBM_AUTH_RECHECK_SECONDS``,
default 0), so a log-out or a disabled user takes effect in every worker process and node at once.
Failed sign-ins are counted per client IP and per user name in the store (``data.login_limits``:
one count for every worker and node) and refused with 429 past the limit.
"""

from __future__ import annotations

import hmac
import html
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

from dash import Dash, Input, Output, dcc
from dash import html as dhtml
from flask import Response, g, redirect, request, session
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dashboard.permissions import DEMO_USER, User, current_user
from dashboard.settings import AppSettings
from dashboard.token_auth import token_identity
from data import audit_log, users
from data.login_limits import StoreFailureLimiter
from data.settings import config_error
from data.store import Store
from geo.errors import ConfigError, StoreUnavailable
from layers.i18n import LANGUAGES, N_, _, current_language, text_direction, value_label

LOGIN_PATH = "/login"
LANGUAGE_PATH = "/language/"  # the language selector (dashboard.i18n): open, so the sign-in page has it
LOGOUT_PATH = "/logout"
LOGIN_CSS_PATH = "/login.css"
# Reachable without a session, by method: nothing else is. /api/v1/events checks its own bearer token
# (ingest only); /livez and /readyz are the probes of a process manager or load balancer.
OPEN_ROUTES = frozenset(
    {
        ("GET", LOGIN_PATH),
        ("POST", LOGIN_PATH),
        ("GET", LOGIN_CSS_PATH),
        ("GET", "/healthz"),
        ("GET", "/livez"),
        ("GET", "/readyz"),
        ("POST", "/api/v1/events"),
    }
)
OPEN_PATHS = frozenset(path for _method, path in OPEN_ROUTES)
#: The largest body read from anyone before sign-in: the login form is a name, a password and two tokens.
LOGIN_MAX_BYTES = 16 * 1024
ANONYMOUS = "anonymous"  # ``who`` of audit rows that nobody signed in caused; a typed name is data, never ``who``
# Never a page: a request for these without a session gets 401, never a redirect.
MACHINE_PREFIXES = ("/_dash-", "/_reload-hash", "/_favicon", "/assets/", "/static/", "/api/")
WRONG = N_("Name or password is wrong.")
SECRET_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
NO_USERS = "no users yet: add one with `hbm users add NAME --role admin`"


class AuthId(StrEnum):
    """Component ids of the header's sign-in items."""

    USER = "hbm-auth-user"
    LOGOUT = "hbm-auth-logout"
    CSRF = "hbm-auth-csrf"


class AuthSettings(BaseSettings):
    """Secrets and limits of sign-in, from ``HBM_*`` environment variables or ``.env`` (never from the repo)."""

    model_config = SettingsConfigDict(env_prefix="HBM_", env_file=".env", extra="ignore")

    secret_key: SecretStr | None = None
    auth_proxy_header: str | None = None
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    cookie_secure: bool = True
    auth_recheck_seconds: float = Field(0.0, ge=0, le=3600)  # 0: every request, so every worker and node sees a change
    login_max_failures: int = Field(5, ge=1, le=1000)
    login_max_failures_per_ip: int = Field(20, ge=1, le=100_000)
    login_window_seconds: int = Field(300, ge=10, le=86_400)
    trusted_proxies: int = Field(0, ge=0, le=5)

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and len(value.get_secret_value()) < 16:
            raise ConfigError(f"HBM_SECRET_KEY is too short: use at least 32 random characters, e.g. {SECRET_HINT}")
        return value if value is not None and value.get_secret_value() else None

    @field_validator("auth_proxy_header")
    @classmethod
    def _header_name(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if value and not all(ch.isalnum() or ch == "-" for ch in value):
            raise ConfigError(f"HBM_AUTH_PROXY_HEADER {value!r} must be a header name such as X-Remote-User")
        return value or None


def load_auth_settings(**overrides: object) -> AuthSettings:
    """Return validated AuthSettings, raising ConfigError with a one-line message."""
    try:
        return AuthSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc) from None


def require_secret(auth: AuthSettings) -> str:
    """Return the session secret, or raise ConfigError saying how to set one."""
    if auth.secret_key is None:
        raise ConfigError(f"HBM_SECRET_KEY is not set; authentication needs it: set it to the output of {SECRET_HINT}")
    return auth.secret_key.get_secret_value()


def check_serve_ready(store: Store, auth: AuthSettings, host: str = "127.0.0.1") -> list[str]:
    """Return warnings about a risky set-up; raise ConfigError unless there is a secret and an enabled user."""
    require_secret(auth)
    warnings = []
    if auth.auth_proxy_header and host not in ("127.0.0.1", "localhost", "::1"):
        warnings.append(
            f"HBM_AUTH_PROXY_HEADER={auth.auth_proxy_header} trusts that header from anyone who reaches "
            f"{host}: listen on 127.0.0.1 behind the proxy that sets it"
        )
    if not auth.cookie_secure:
        warnings.append("HBM_COOKIE_SECURE=false: session cookies travel over plain http (tests and local use only)")
    try:
        enabled = users.count_users(store)
    except StoreUnavailable:
        return warnings  # cannot tell now; the map shows the outage banner and sign-in works once the store is back
    if enabled == 0:
        if users.count_users(store, enabled_only=False):
            raise ConfigError("no enabled users: `hbm users enable NAME` or `hbm users add NAME --role admin`")
        raise ConfigError(NO_USERS)
    return warnings


# -- small in-memory state (per worker process) -----------------------------------------------------
class FailureLimiter:
    """Counts failed sign-ins per key (an IP or a user name) in a sliding window."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._fails: dict[str, deque[float]] = {}
        self._noted: dict[str, float] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._fails.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, key: str, limit: int, now: float | None = None) -> float:
        """Return seconds until ``key`` may try again (0 when it is under ``limit`` failures)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(key, now)
            return max(0.0, times[0] + self.window_s - now) if len(times) >= limit else 0.0

    def fail(self, key: str, now: float | None = None) -> None:
        """Count one failure for ``key``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._fails) > 10_000:  # name spraying must not grow memory without bound
                for stale in [k for k, v in self._fails.items() if not v or v[-1] <= now - self.window_s]:
                    del self._fails[stale]
            self._fails.setdefault(key, deque()).append(now)
            self._fails[key] = self._recent(key, now)

    def clear(self, key: str) -> None:
        """Forget ``key``'s failures (a successful sign-in)."""
        with self._lock:
            self._fails.pop(key, None)

    def first_block(self, key: str, now: float | None = None) -> bool:
        """Return True once per window for a blocked ``key`` (so the audit gets one row, not one per try)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._noted.get(key, -1e18) > now - self.window_s:
                return False
            self._noted[key] = now
            return True


def is_open_route(method: str, path: str) -> bool:
    """Return True if ``method path`` may be served without a session (HEAD counts as GET)."""
    return ("GET" if method == "HEAD" else method, path) in OPEN_ROUTES


class RefusalCounter:
    """Counts refused sign-ins per client IP and window, and says when the audit should hear of them.

    Anyone can trigger refusals without signing in, so the audit gets a bounded number of rows: one at
    the first refusal of an IP in a window, then one each time the count reaches 10, 100, 1,000… with
    the count and the number of distinct names tried. Memory is bounded too: windows that ended are
    pruned, and at most ``max_ips`` IPs and ``max_names`` names per IP are remembered.
    """

    def __init__(self, window_s: float, max_ips: int = 10_000, max_names: int = 1_000) -> None:
        self.window_s, self.max_ips, self.max_names = window_s, max_ips, max_names
        self._windows: dict[str, tuple[float, int, set[str]]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._windows)

    def refuse(self, ip: str, name: str, now: float | None = None) -> dict[str, Any] | None:
        """Count one refusal; return the audit detail when this one should be written, else None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(now)
            start, count, names = self._windows.get(ip, (now, 0, set()))
            if len(names) < self.max_names:
                names.add(name)
            count += 1
            self._windows[ip] = (start, count, names)
        if count == 1 or (count >= 10 and math.log10(count).is_integer()):
            return {"refused_in_window": count, "names_tried": len(names), "window_s": round(self.window_s)}
        return None

    def _prune(self, now: float) -> None:
        stale = [ip for ip, (start, _c, _n) in self._windows.items() if start <= now - self.window_s]
        for ip in stale:
            del self._windows[ip]
        while len(self._windows) >= self.max_ips:  # many IPs at once: forget the oldest windows first
            del self._windows[min(self._windows, key=lambda k: self._windows[k][0])]


class Recheck:
    """Caches a lookup per key for ``seconds`` (the user row behind a session)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        """Return the cached value for ``key``, or ``load()`` it when older than ``seconds``."""
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (now, value)
        return value

    def forget(self, key: str) -> None:
        """Drop ``key`` (log-out), so the next request reads the store."""
        with self._lock:
            self._items.pop(key, None)


# -- pages -----------------------------------------------------------------------------------------
LOGIN_CSS = """
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
  background:#10151c;color:#e8edf2;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{width:min(22rem,90vw);padding:2rem;background:#18212c;border:1px solid #2b3948;border-radius:8px}
h1{font-size:1.2rem;margin:0 0 .25rem}
p.note{margin:0 0 1.25rem;color:#9fb0c0;font-size:.85rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{box-sizing:border-box;width:100%;padding:.55rem .6rem;font:inherit;color:#e8edf2;background:#0d1218;
  border:1px solid #3b4b5c;border-radius:4px}
input:focus,button:focus{outline:3px solid #f2c94c;outline-offset:1px}
button{margin-top:1.25rem;width:100%;padding:.6rem;font:inherit;font-weight:700;color:#10151c;background:#5fb3f9;
  border:0;border-radius:4px;cursor:pointer}
p.error{min-height:1.4em;margin:.75rem 0 0;color:#ff8a80;font-weight:600}
nav.langs{display:flex;gap:1rem;justify-content:center;margin-top:1.25rem;font-size:.9rem}
nav.langs a{color:#9fd0ff}
nav.langs a[aria-current]{color:#e8edf2;font-weight:700;text-decoration:none}
a:focus{outline:3px solid #f2c94c;outline-offset:1px}
"""


def _language_links(next_path: str) -> str:
    """Return the sign-in page's language links (each comes back to this page, keeping ``next``)."""
    here, back = current_language(), quote(next_path, safe="/")
    links = "".join(
        f'<a href="{LANGUAGE_PATH}{code}?login=1&amp;next={back}" lang="{code}" hreflang="{code}"'
        + (' aria-current="true"' if code == here else "")
        + f">{html.escape(name)}</a>"
        for code, name in LANGUAGES.items()
    )
    label = html.escape(_("Language"))
    return f'<nav class="langs" aria-label="{label}">{links}</nav>'


def login_page(title: str, csrf: str, next_path: str, name: str = "", error: str = "") -> str:
    """Return the sign-in page's HTML in the language in force: labelled fields, autofocus, every value escaped."""
    e = html.escape
    lang = current_language()
    sign_in, heading = e(_("Sign in")), e(_(title))
    note = e(_("Sign in to see the map. Sign-ins and exports are logged."))
    name_label, password_label = e(_("Name")), e(_("Password"))
    return (
        f'<!doctype html><html lang="{lang}" dir="{text_direction(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{sign_in} — {heading}</title>"
        f'<link rel="stylesheet" href="{e(LOGIN_CSS_PATH)}"></head><body><main>'
        f'<h1>{heading}</h1><p class="note">{note}</p>'
        f'<form method="post" action="{e(LOGIN_PATH)}">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<input type="hidden" name="next" value="{e(next_path)}">'
        f'<label for="name">{name_label}</label>'
        f'<input id="name" name="name" autocomplete="username" autocapitalize="none" spellcheck="false" '
        f'required autofocus value="{e(name)}">'
        f'<label for="password">{password_label}</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required>'
        f'<p class="error" role="alert" id="login-error">{e(error)}</p>'
        f'<button type="submit">{sign_in}</button></form>{_language_links(next_path)}</main></body></html>'
    )


def safe_next(raw: str | None) -> str:
    """Return ``raw`` if it is a path on this site (never another host), else ``/``."""
    value = (raw or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(LOGIN_PATH) or parts.path == LOGOUT_PATH:
        return "/"
    return value


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


# -- the gate --------------------------------------------------------------------------------------
def _client_ip() -> str:
    return (request.remote_addr or "unknown")[:64]


def _csrf_ok() -> bool:
    """Return True when the posted form carries this session's CSRF token (compared in constant time)."""
    given, expected = request.form.get("csrf", ""), session.get("csrf")
    return isinstance(expected, str) and len(expected) >= 20 and hmac.compare_digest(given, expected)


def _is_navigation() -> bool:
    if request.method not in ("GET", "HEAD") or request.path.startswith(MACHINE_PREFIXES):
        return False
    return bool(request.accept_mimetypes.accept_html)


def _unauthorised(message: str = "sign in first") -> Response:
    if _is_navigation():
        target = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
        return redirect(f"{LOGIN_PATH}?next={quote(safe_next(target), safe='/')}", code=302)  # type: ignore[return-value]
    body = json.dumps({"error": message, "login": LOGIN_PATH})
    return Response(body, status=401, mimetype="application/json", headers={"Cache-Control": "no-store"})


def _too_large(limit: int) -> Response:
    body = json.dumps({"error": f"request body larger than {limit:,} bytes"})
    return Response(body, status=413, mimetype="application/json", headers={"Connection": "close"})


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


def install_auth(app: Dash, store: Store, settings: AppSettings, auth: AuthSettings | None = None) -> None:
    """Put the sign-in gate in front of ``app`` (or, with ``settings.auth`` off, make everyone DEMO_USER)."""
    server = app.server

    if not settings.auth:

        @server.before_request
        def _demo_user() -> None:
            g.hbm_user = DEMO_USER
            g.hbm_actor = audit_log.set_actor(DEMO_USER.name, _client_ip())

        server.teardown_request(_reset_actor)
        return

    auth = auth or load_auth_settings()
    server.secret_key = require_secret(auth)
    secure = auth.cookie_secure
    server.config.update(
        SESSION_COOKIE_NAME="__Host-hbm_session" if secure else "hbm_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=auth.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    if auth.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = auth.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    limiter = StoreFailureLimiter(store, auth.login_window_seconds)  # shared by every worker and node (issue 15)
    sessions = Recheck(auth.auth_recheck_seconds)
    proxied = Recheck(auth.auth_recheck_seconds)
    proxy_logins = Recheck(auth.session_hours * 3600)

    def _note_proxy_login(found: users.UserRecord) -> bool:
        detail = {"role": found.role, "via": auth.auth_proxy_header}
        audit_log.record(store, found.name, "login", found.name, detail, _client_ip())
        return True

    def _identify() -> users.UserRecord | None | Response:
        by_token = token_identity(store, _client_ip())  # API tokens on /ogc and /kml/ only (issue 16)
        if by_token is not None:
            return by_token
        if auth.auth_proxy_header:
            claimed = request.headers.get(auth.auth_proxy_header, "").strip()
            if claimed:
                found = proxied.get(claimed.lower(), lambda: users.get_user(store, claimed))
                if found is None or found.disabled:
                    return Response(
                        "this single sign-on user may not use HBM: ask an administrator to add or enable it\n",
                        status=403,
                        mimetype="text/plain",
                    )
                proxy_logins.get(found.name, lambda: _note_proxy_login(found))  # one row per user per session length
                return found
        token = session.get("t")
        if not isinstance(token, str) or not token:
            return None
        return sessions.get(token, lambda: users.session_user(store, token))

    refusals = RefusalCounter(auth.login_window_seconds)

    @server.before_request
    def _gate() -> Response | None:
        g.hbm_user = None
        if is_open_route(request.method, request.path):
            if request.method == "POST" and request.path == LOGIN_PATH:
                # Limit the body before anything parses it: refuse a declared size at once, and cap a
                # chunked one while the form is read (werkzeug answers 413 past the cap).
                if (request.content_length or 0) > LOGIN_MAX_BYTES:
                    return _too_large(LOGIN_MAX_BYTES)
                request.max_content_length = LOGIN_MAX_BYTES
                request.max_form_memory_size = LOGIN_MAX_BYTES
            return None
        if request.path.startswith(LANGUAGE_PATH):  # open to all; a signed-in user's choice is saved for them
            try:
                known = _identify()
            except StoreUnavailable:
                known = None
            if isinstance(known, users.UserRecord):
                g.hbm_user = User(known.name, known.role)
            return None
        try:
            found = _identify()
        except StoreUnavailable:
            return Response("the store is unavailable, so sign-in cannot be checked: try again shortly\n", 503)
        if isinstance(found, Response):
            return found
        if found is None:
            if request.path == LOGOUT_PATH and request.method == "POST":  # already signed out: nothing to end
                return redirect(LOGIN_PATH, code=303)  # type: ignore[return-value]
            session.pop("t", None)
            return _unauthorised()
        g.hbm_user = User(found.name, found.role)
        g.hbm_actor = audit_log.set_actor(found.name, _client_ip())
        return None

    server.teardown_request(_reset_actor)

    @server.get(LOGIN_CSS_PATH)
    def _login_css() -> Response:
        return Response(LOGIN_CSS, mimetype="text/css", headers={"Cache-Control": "public, max-age=3600"})

    def _csrf() -> str:
        token = session.get("csrf")
        if not isinstance(token, str) or len(token) < 20:
            token = secrets.token_urlsafe(32)
            session["csrf"] = token
        return token

    def _form(next_path: str, name: str = "", error: str = "", status: int = 200) -> Response:
        return _html(login_page(settings.title, _csrf(), next_path, name, error), status)

    @server.get(LOGIN_PATH)
    def _login_form() -> Response:
        next_path = safe_next(request.args.get("next"))
        token = session.get("t")
        if isinstance(token, str) and sessions.get(token, lambda: users.session_user(store, token)):
            return redirect(next_path, code=303)  # type: ignore[return-value]
        return _form(next_path)

    @server.post(LOGIN_PATH)
    def _login() -> Response:
        next_path = safe_next(request.form.get("next"))
        name = request.form.get("name", "")[:200]
        password = request.form.get("password", "")
        if not _csrf_ok():
            session.pop("csrf", None)
            return _form(next_path, name, _("The sign-in form expired: please try again."), 400)
        try:
            return _sign_in(name, password, next_path)
        except StoreUnavailable:
            return _form(next_path, name, _("The store is unavailable: try again shortly."), 503)

    def _sign_in(name: str, password: str, next_path: str) -> Response:
        ip, key = _client_ip(), name.strip().lower()
        wait = max(
            limiter.retry_after(f"ip:{ip}", auth.login_max_failures_per_ip),
            limiter.retry_after(f"name:{key}", auth.login_max_failures),
        )
        if wait > 0:
            detail = refusals.refuse(ip, key[:64])
            if detail is not None:  # bounded: a few rows per IP and window, whatever names are sprayed
                detail = {**detail, "retry_after_s": round(wait), "last_name": key[:64]}
                audit_log.record(store, ANONYMOUS, "login_rate_limited", None, detail, ip)
            minutes = max(1, round(wait / 60))
            too_many = _("Too many failed sign-ins: wait {minutes} min and try again.").format(minutes=minutes)
            return _form(next_path, name, too_many, 429)
        verdict = users.verify_password(store, name, password)
        if not verdict.ok:
            limiter.fail(f"ip:{ip}")
            limiter.fail(f"name:{key}")
            audit_log.record(store, ANONYMOUS, "login_failed", key[:64] or None, {"reason": verdict.reason}, ip)
            message = _("This account is disabled: ask an administrator.") if verdict.reason == "disabled" else _(WRONG)
            return _form(next_path, name, message, 401)
        assert verdict.user is not None
        limiter.clear(f"name:{key}")
        session.clear()
        session.permanent = True
        session["t"] = users.start_session(store, verdict.user.name, auth.session_hours, ip)
        session["csrf"] = secrets.token_urlsafe(32)
        audit_log.record(store, verdict.user.name, "login", verdict.user.name, {"role": verdict.user.role}, ip)
        return redirect(next_path, code=303)  # type: ignore[return-value]

    @server.post(LOGOUT_PATH)
    def _logout() -> Response:
        if not _csrf_ok():  # (SameSite=Lax already keeps the cookie off other sites' forms)
            return Response("the log-out form expired: reload the page and try again\n", 400, mimetype="text/plain")
        token = session.get("t")
        user = current_user()
        if isinstance(token, str):
            users.end_session(store, token)
            sessions.forget(token)
        session.clear()
        if user is not None:
            audit_log.record(store, user.name, "logout", user.name, None, _client_ip())
        return redirect(LOGIN_PATH, code=303)  # type: ignore[return-value]

    @app.callback(Output(AuthId.USER, "children"), Output(AuthId.CSRF, "value"), Input(AuthId.USER, "id"))
    def _show_user(_id: str) -> tuple[str, str]:
        user = current_user()
        return (f"{user.name} ({value_label(user.role)})" if user else "", _csrf())


def _reset_actor(_exc: BaseException | None = None) -> None:
    token = g.pop("hbm_actor", None)
    if token is not None:
        try:
            audit_log.reset_actor(token)
        except ValueError:  # set in another context (should not happen): make sure it does not leak
            audit_log.clear_actor()
