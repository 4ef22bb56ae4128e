"""The sign-in page, its routes and which routes are open: plain functions (no dash, no flask)."""

from __future__ import annotations

import html
from urllib.parse import quote, urlsplit

from layers.i18n import LANGUAGES, N_, _, current_language, text_direction

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


def is_open_route(method: str, path: str) -> bool:
    """Return True if ``method path`` may be served without a session (HEAD counts as GET)."""
    return ("GET" if method == "HEAD" else method, path) in OPEN_ROUTES


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
