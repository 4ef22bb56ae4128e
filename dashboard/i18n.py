"""The language of each request: the signed-in user's saved choice, else a cookie, else ``HBM_LANGUAGE``.

``install_i18n`` puts the language in force for every request (``layers.i18n``), writes
``<html lang=… dir=…>`` into Dash's page, and serves ``GET /language/<code>?next=…``: the language
selector's links. A signed-in user's choice is saved in the store (``data.preferences``) and follows
them to any browser; without sign-in (``hbm demo``) it is kept in the ``hbm_lang`` cookie. Accept-Language
is not consulted: an operations room sets one default for its screens with ``HBM_LANGUAGE``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

from dash import Dash, html
from flask import Response, redirect, request

from dashboard.auth import LANGUAGE_PATH, LOGIN_PATH, safe_next
from dashboard.permissions import DEMO_USER, current_user
from dashboard.settings import AppSettings
from data import preferences
from data.store import Store
from geo.errors import HbmError
from layers.i18n import (
    LANGUAGES,
    N_,
    _,
    current_language,
    default_language,
    normalise_language,
    reset_language,
    set_language,
    text_direction,
)

COOKIE = "hbm_lang"
COOKIE_AGE_S = 365 * 24 * 3600


def _same_site_referrer() -> str | None:
    """Return the path and query of the page the link was clicked on, when it is on this site."""
    if not request.referrer:
        return None
    parts = urlsplit(request.referrer)
    if parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _signed_in_name() -> str | None:
    user = current_user()
    return None if user is None or user == DEMO_USER else user.name


def request_language(store: Store, default: str) -> str:
    """Return this request's language: the user's saved choice, else the cookie, else ``default``."""
    name = _signed_in_name()
    if name:
        try:
            saved = normalise_language(preferences.get_language(store, name))
        except HbmError:  # the store is down: the cookie or default still gives a usable page
            saved = None
        if saved:
            return saved
    return normalise_language(request.cookies.get(COOKIE)) or default


# Text that Leaflet, leaflet-draw and Dash's own inputs make themselves; assets/i18n.js swaps in the translations.
LEAFLET_STRINGS = (
    N_("Zoom in"),
    N_("Zoom out"),
    N_("A JavaScript library for interactive maps"),
    N_("Draw a polyline"),
    N_("Draw a polygon"),
    N_("Draw a rectangle"),
    N_("Draw a circle"),
    N_("Draw a marker"),
    N_("Draw a circlemarker"),
    N_("Edit layers"),
    N_("No layers to edit"),
    N_("Delete layers"),
    N_("No layers to delete"),
    N_("Cancel drawing"),
    N_("Cancel"),
    N_("Finish drawing"),
    N_("Finish"),
    N_("Delete last point drawn"),
    N_("Delete last point"),
    N_("Save changes"),
    N_("Save"),
    N_("Cancel editing, discards all changes"),
    N_("Clear all layers"),
    N_("Clear All"),
    N_("Click to start drawing shape."),
    N_("Click to continue drawing shape."),
    N_("Click first point to close this shape."),
    N_("Click and drag to draw rectangle."),
    N_("Release mouse to finish drawing."),
    N_("Drag handles or markers to edit features."),
    N_("Click cancel to undo changes."),
    N_("Click on a feature to remove."),
    N_("Layers"),
    N_("Clear selection"),
    N_("Increase value"),
    N_("Decrease value"),
)


def client_strings() -> html.Div:
    """Return the hidden element carrying the Leaflet texts' translations for ``assets/i18n.js``."""
    table = {} if current_language() == "en" else {s: _(s) for s in LEAFLET_STRINGS if _(s) != s}
    return html.Div(id="hbm-i18n", hidden=True, **{"data-strings": json.dumps(table, ensure_ascii=False)})


def language_selector() -> html.Nav:
    """Return the header's language selector: one link per language, the current one marked."""
    here = current_language()
    links = []
    for code, name in LANGUAGES.items():
        links.append(
            html.A(
                name,
                href=f"{LANGUAGE_PATH}{code}",
                lang=code,
                hrefLang=code,
                className="hbm-lang" + (" current" if code == here else ""),
                **({"aria-current": "true"} if code == here else {}),
            )
        )
    return html.Nav(links, className="hbm-langs", id="language-selector", **{"aria-label": _("Language")})


def install_i18n(app: Dash, store: Store, settings: AppSettings) -> None:
    """Resolve each request's language, mark Dash's page with lang/dir, and serve the selector's links."""
    server = app.server
    default = normalise_language(settings.language) or default_language()  # per app: never the process default

    @server.before_request
    def _language() -> None:
        request.environ["hbm.lang_token"] = set_language(request_language(store, default))

    @server.teardown_request
    def _reset(_exc: BaseException | None = None) -> None:
        token = request.environ.pop("hbm.lang_token", None)
        if token is not None:
            reset_language(token)

    original = app.interpolate_index

    def _interpolate(**kwargs: Any) -> str:
        lang = current_language()
        kwargs["title"] = page_title(settings)
        page = original(**kwargs)
        return re.sub(r"<html[^>]*>", f'<html lang="{lang}" dir="{text_direction(lang)}">', page, count=1)

    app.interpolate_index = _interpolate  # type: ignore[method-assign]

    @server.get(f"{LANGUAGE_PATH}<code>")
    def _choose(code: str) -> Response:
        chosen = normalise_language(code)
        target = safe_next(request.args.get("next") or _same_site_referrer())
        if request.args.get("login"):  # chosen on the sign-in page: back to it, keeping where it leads
            target = f"{LOGIN_PATH}?next={quote(target, safe='/')}"
        if chosen is None:
            return Response(f"unknown language {code[:12]!r}; use one of {', '.join(LANGUAGES)}\n", 404)
        name = _signed_in_name()
        if name:
            try:
                preferences.set_language(store, name, chosen)
            except HbmError:
                pass  # the cookie below still switches this browser
        response: Response = redirect(target, code=303)  # type: ignore[assignment]
        response.set_cookie(COOKIE, chosen, max_age=COOKIE_AGE_S, samesite="Lax", httponly=True, path="/")
        return response


def page_title(settings: AppSettings) -> str:
    """Return the browser tab's title in the language in force (a custom ``HBM_TITLE`` is kept as set)."""
    title = _(settings.title)
    return title + (" — " + _("SYNTHETIC") if settings.synthetic else "")
