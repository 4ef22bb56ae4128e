"""The sign-in gate as a Flask Blueprint: each step a plain method of ``Gate``, testable in a request context.

``Gate.check`` runs before every request (open routes, the 413 limit on the login form, API tokens, the
proxy header, the session recheck); ``login_form``, ``login``, ``sign_in`` and ``logout`` serve the
sign-in routes. ``auth_blueprint`` only wires them to URLs; ``install_auth`` configures the session cookie
and registers the blueprint (or, with ``HBM_AUTH`` off, the demo blueprint that makes everyone DEMO_USER).
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import timedelta
from urllib.parse import quote

from dash import Dash
from flask import Blueprint, Response, g, redirect, request, session

from dashboard.auth.header import register_header
from dashboard.auth.limits import Recheck, RefusalCounter
from dashboard.auth.pages import (
    LANGUAGE_PATH,
    LOGIN_CSS,
    LOGIN_CSS_PATH,
    LOGIN_MAX_BYTES,
    LOGIN_PATH,
    LOGOUT_PATH,
    MACHINE_PREFIXES,
    WRONG,
    is_open_route,
    login_page,
    safe_next,
)
from dashboard.auth.settings import AuthSettings, load_auth_settings, require_secret
from dashboard.permissions import DEMO_USER, User, current_user
from dashboard.settings import AppSettings
from dashboard.token_auth import token_identity
from data import audit_log, users
from data.login_limits import StoreFailureLimiter
from data.store import Store
from geo.errors import StoreUnavailable
from layers.i18n import _

ANONYMOUS = "anonymous"  # ``who`` of audit rows that nobody signed in caused; a typed name is data, never ``who``


def client_ip() -> str:
    """Return the request's client IP (after ProxyFix, when trusted proxies are set), at most 64 characters."""
    return (request.remote_addr or "unknown")[:64]


def csrf_ok() -> bool:
    """Return True when the posted form carries this session's CSRF token (compared in constant time)."""
    given, expected = request.form.get("csrf", ""), session.get("csrf")
    return isinstance(expected, str) and len(expected) >= 20 and hmac.compare_digest(given, expected)


def csrf_token() -> str:
    """Return this session's CSRF token, creating one when it has none."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def is_navigation() -> bool:
    """Return True for a browser page load (GET of HTML, not a callback, script, asset or API call)."""
    if request.method not in ("GET", "HEAD") or request.path.startswith(MACHINE_PREFIXES):
        return False
    return bool(request.accept_mimetypes.accept_html)


def unauthorised(message: str = "sign in first") -> Response:
    """Return a redirect to the sign-in page for a page load, else 401 JSON (never cached)."""
    if is_navigation():
        target = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
        return redirect(f"{LOGIN_PATH}?next={quote(safe_next(target), safe='/')}", code=302)  # type: ignore[return-value]
    body = json.dumps({"error": message, "login": LOGIN_PATH})
    return Response(body, status=401, mimetype="application/json", headers={"Cache-Control": "no-store"})


def too_large(limit: int) -> Response:
    """Return 413 for a body over ``limit`` bytes, closing the connection (the rest is never read)."""
    body = json.dumps({"error": f"request body larger than {limit:,} bytes"})
    return Response(body, status=413, mimetype="application/json", headers={"Connection": "close"})


def html_page(body: str, status: int = 200) -> Response:
    """Return an HTML page that no cache keeps."""
    return Response(body, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


def limit_login_body() -> Response | None:
    """Refuse a declared login body over LOGIN_MAX_BYTES at once (413) and cap a chunked one while it is read."""
    if (request.content_length or 0) > LOGIN_MAX_BYTES:
        return too_large(LOGIN_MAX_BYTES)
    request.max_content_length = LOGIN_MAX_BYTES
    request.max_form_memory_size = LOGIN_MAX_BYTES
    return None


def reset_actor(_exc: BaseException | None = None) -> None:
    """Forget the audit actor of the request that ends."""
    token = g.pop("hbm_actor", None)
    if token is not None:
        try:
            audit_log.reset_actor(token)
        except ValueError:  # set in another context (should not happen): make sure it does not leak
            audit_log.clear_actor()


class Gate:
    """Who may do what, per request: sessions, the SSO proxy header, API tokens and sign-in limits."""

    def __init__(self, store: Store, settings: AppSettings, auth: AuthSettings) -> None:
        self.store, self.settings, self.auth = store, settings, auth
        self.limiter = StoreFailureLimiter(store, auth.login_window_seconds)  # every worker and node (issue 15)
        self.sessions = Recheck(auth.auth_recheck_seconds)
        self.proxied = Recheck(auth.auth_recheck_seconds)
        self.proxy_logins = Recheck(auth.session_hours * 3600)
        self.refusals = RefusalCounter(auth.login_window_seconds)

    def _note_proxy_login(self, found: users.UserRecord) -> bool:
        detail = {"role": found.role, "via": self.auth.auth_proxy_header}
        audit_log.record(self.store, found.name, "login", found.name, detail, client_ip())
        return True

    def session_user(self, token: str) -> users.UserRecord | None:
        """Return the enabled user behind a session token (re-read after HBM_AUTH_RECHECK_SECONDS)."""
        return self.sessions.get(token, lambda: users.session_user(self.store, token))

    def identify(self) -> users.UserRecord | None | Response:
        """Return the request's user (API token, SSO header or session), None, or a 403 for an unknown SSO user."""
        by_token = token_identity(self.store, client_ip())  # API tokens on /ogc and /kml/ only (issue 16)
        if by_token is not None:
            return by_token
        header = self.auth.auth_proxy_header
        if header:
            claimed = request.headers.get(header, "").strip()
            if claimed:
                found = self.proxied.get(claimed.lower(), lambda: users.get_user(self.store, claimed))
                if found is None or found.disabled:
                    return Response(
                        "this single sign-on user may not use HBM: ask an administrator to add or enable it\n",
                        status=403,
                        mimetype="text/plain",
                    )
                # One audit row per user per session length.
                self.proxy_logins.get(found.name, lambda: self._note_proxy_login(found))
                return found
        token = session.get("t")
        if not isinstance(token, str) or not token:
            return None
        return self.session_user(token)

    def check(self) -> Response | None:
        """Run before every request: None lets it through (``g.hbm_user`` set), else the refusal to send."""
        g.hbm_user = None
        if is_open_route(request.method, request.path):
            if request.method == "POST" and request.path == LOGIN_PATH:
                return limit_login_body()  # before anything parses the form
            return None
        if request.path.startswith(LANGUAGE_PATH):  # open to all; a signed-in user's choice is saved for them
            try:
                known = self.identify()
            except StoreUnavailable:
                known = None
            if isinstance(known, users.UserRecord):
                g.hbm_user = User(known.name, known.role)
            return None
        try:
            found = self.identify()
        except StoreUnavailable:
            return Response("the store is unavailable, so sign-in cannot be checked: try again shortly\n", 503)
        if isinstance(found, Response):
            return found
        if found is None:
            if request.path == LOGOUT_PATH and request.method == "POST":  # already signed out: nothing to end
                return redirect(LOGIN_PATH, code=303)  # type: ignore[return-value]
            session.pop("t", None)
            return unauthorised()
        g.hbm_user = User(found.name, found.role)
        g.hbm_actor = audit_log.set_actor(found.name, client_ip())
        return None

    def form(self, next_path: str, name: str = "", error: str = "", status: int = 200) -> Response:
        """Return the sign-in page with this session's CSRF token."""
        return html_page(login_page(self.settings.title, csrf_token(), next_path, name, error), status)

    def login_form(self) -> Response:
        """GET /login: the form, or straight on to ``next`` for a live session."""
        next_path = safe_next(request.args.get("next"))
        token = session.get("t")
        if isinstance(token, str) and self.session_user(token):
            return redirect(next_path, code=303)  # type: ignore[return-value]
        return self.form(next_path)

    def login(self) -> Response:
        """POST /login: check the CSRF token, then sign in."""
        next_path = safe_next(request.form.get("next"))
        name = request.form.get("name", "")[:200]
        password = request.form.get("password", "")
        if not csrf_ok():
            session.pop("csrf", None)
            return self.form(next_path, name, _("The sign-in form expired: please try again."), 400)
        try:
            return self.sign_in(name, password, next_path)
        except StoreUnavailable:
            return self.form(next_path, name, _("The store is unavailable: try again shortly."), 503)

    def sign_in(self, name: str, password: str, next_path: str) -> Response:
        """Check the limits and the password; start a session (303 to ``next``) or answer 429/401 with the form."""
        auth, ip, key = self.auth, client_ip(), name.strip().lower()
        wait = max(
            self.limiter.retry_after(f"ip:{ip}", auth.login_max_failures_per_ip),
            self.limiter.retry_after(f"name:{key}", auth.login_max_failures),
        )
        if wait > 0:
            detail = self.refusals.refuse(ip, key[:64])
            if detail is not None:  # bounded: a few rows per IP and window, whatever names are sprayed
                detail = {**detail, "retry_after_s": round(wait), "last_name": key[:64]}
                audit_log.record(self.store, ANONYMOUS, "login_rate_limited", None, detail, ip)
            minutes = max(1, round(wait / 60))
            too_many = _("Too many failed sign-ins: wait {minutes} min and try again.").format(minutes=minutes)
            return self.form(next_path, name, too_many, 429)
        verdict = users.verify_password(self.store, name, password)
        if not verdict.ok:
            self.limiter.fail(f"ip:{ip}")
            self.limiter.fail(f"name:{key}")
            audit_log.record(self.store, ANONYMOUS, "login_failed", key[:64] or None, {"reason": verdict.reason}, ip)
            message = _("This account is disabled: ask an administrator.") if verdict.reason == "disabled" else _(WRONG)
            return self.form(next_path, name, message, 401)
        assert verdict.user is not None
        self.limiter.clear(f"name:{key}")
        session.clear()
        session.permanent = True
        session["t"] = users.start_session(self.store, verdict.user.name, auth.session_hours, ip)
        session["csrf"] = secrets.token_urlsafe(32)
        audit_log.record(self.store, verdict.user.name, "login", verdict.user.name, {"role": verdict.user.role}, ip)
        return redirect(next_path, code=303)  # type: ignore[return-value]

    def logout(self) -> Response:
        """POST /logout: end the session on the server (every worker sees it at once) and go to the sign-in page."""
        if not csrf_ok():  # (SameSite=Lax already keeps the cookie off other sites' forms)
            return Response("the log-out form expired: reload the page and try again\n", 400, mimetype="text/plain")
        token = session.get("t")
        user = current_user()
        if isinstance(token, str):
            users.end_session(self.store, token)
            self.sessions.forget(token)
        session.clear()
        if user is not None:
            audit_log.record(self.store, user.name, "logout", user.name, None, client_ip())
        return redirect(LOGIN_PATH, code=303)  # type: ignore[return-value]


def login_css() -> Response:
    """GET /login.css: the sign-in page's stylesheet (open, cacheable)."""
    return Response(LOGIN_CSS, mimetype="text/css", headers={"Cache-Control": "public, max-age=3600"})


def auth_blueprint(gate: Gate) -> Blueprint:
    """Return the Blueprint that puts ``gate`` in front of every request and serves sign-in and log-out."""
    bp = Blueprint("hbm_auth", __name__)
    bp.before_app_request(gate.check)
    bp.teardown_app_request(reset_actor)
    bp.add_url_rule(LOGIN_CSS_PATH, "login_css", login_css, methods=["GET"])
    bp.add_url_rule(LOGIN_PATH, "login_form", gate.login_form, methods=["GET"])
    bp.add_url_rule(LOGIN_PATH, "login", gate.login, methods=["POST"])
    bp.add_url_rule(LOGOUT_PATH, "logout", gate.logout, methods=["POST"])
    return bp


def demo_user() -> None:
    """Make the request's user DEMO_USER (authentication off: ``hbm demo``)."""
    g.hbm_user = DEMO_USER
    g.hbm_actor = audit_log.set_actor(DEMO_USER.name, client_ip())


def demo_blueprint() -> Blueprint:
    """Return the Blueprint used with HBM_AUTH off: everyone is DEMO_USER, named in the audit log."""
    bp = Blueprint("hbm_demo", __name__)
    bp.before_app_request(demo_user)
    bp.teardown_app_request(reset_actor)
    return bp


def install_auth(app: Dash, store: Store, settings: AppSettings, auth: AuthSettings | None = None) -> Gate | None:
    """Put the sign-in gate in front of ``app`` and return it (None, and everyone DEMO_USER, with auth off)."""
    server = app.server
    if not settings.auth:
        server.register_blueprint(demo_blueprint())
        return None
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
    gate = Gate(store, settings, auth)
    server.register_blueprint(auth_blueprint(gate))
    register_header(app, csrf_token)
    return gate
