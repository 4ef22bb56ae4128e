"""Security headers on every response: a Content-Security-Policy that allows only the app's own assets.

The app loads nothing from a CDN (``serve_locally=True``; the basemap is bundled), so ``'self'`` is
enough. Dash's inline scripts (its renderer bootstrap and any inline clientside callbacks) are
allowed by their SHA-256 hashes (``Dash.csp_hashes``), not by ``'unsafe-inline'``. A configured
``HBM_TILE_URL`` host is added to ``img-src`` only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from dash import Dash
from dash.exceptions import DependencyException
from flask import Response, g
from flask.json.provider import DefaultJSONProvider
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from dashboard.settings import AppSettings
from data.settings import config_error, env_names

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def tile_source(tile_url: str | None) -> str | None:
    """Return the CSP source (scheme://host[:port]) of an XYZ tile URL, or None for none or a same-site path."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url.replace("{s}", "SUBDOMAIN"))
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.replace('SUBDOMAIN', '*')}"


def content_security_policy(script_hashes: list[str], tile_url: str | None = None) -> str:
    """Return the Content-Security-Policy header value."""
    tiles = tile_source(tile_url)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        # React and Leaflet set element styles and dash-leaflet injects <style> tags at run time;
        # styles cannot run code, so inline styles are allowed while inline scripts are not.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *([tiles] if tiles else [])],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing NaN and Infinity in request bodies (Flask then answers 400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Return the parsed JSON; raise ValueError on NaN, Infinity or -Infinity."""
        return super().loads(s, parse_constant=_no_constant, **kwargs)


class SecuritySettings(BaseSettings):
    """Transport headers (``HBM_SECURITY_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="HBM_SECURITY_", env_file=".env", extra="ignore", populate_by_name=True
    )

    hsts: int = Field(
        0,
        ge=0,
        le=2 * 365 * 86_400,
        validation_alias=env_names("HBM_SECURITY_HSTS", "HBM_HSTS"),
        description="Seconds of Strict-Transport-Security; 0 sends none. Set it only when the app is reached over "
        "HTTPS (behind a TLS reverse proxy): browsers then refuse plain http for that long.",
    )


def load_security_settings(**overrides: object) -> SecuritySettings:
    """Return validated SecuritySettings, raising ConfigError with a one-line message."""
    try:
        return SecuritySettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc, "HBM_SECURITY_") from None


def install_security_headers(app: Dash, settings: AppSettings, security: SecuritySettings | None = None) -> None:
    """Add the CSP and the other security headers to every response of ``app``.

    Every response to a signed-in user (pages, callbacks, downloads, scripts) gets
    ``Cache-Control: no-store``: map data and exports must not stay in a shared or disk cache.
    """
    security = security or load_security_settings()
    app.server.json = StrictJSONProvider(app.server)  # NaN/Infinity in a callback body: 400, never a 500 later

    @app.server.errorhandler(DependencyException)
    def _no_such_script(_exc: DependencyException) -> Response:  # a bad /_dash-component-suites/ path
        return Response("no such script\n", status=404, mimetype="text/plain")

    @app.server.after_request
    def _headers(response: Response) -> Response:
        if settings.auth and getattr(g, "hbm_user", None) is not None:
            response.headers["Cache-Control"] = "no-store"
        if security.hsts:
            response.headers["Strict-Transport-Security"] = f"max-age={security.hsts}; includeSubDomains"
        # Hashes are taken per response: clientside callbacks may be registered after create_app.
        csp = content_security_policy(list(app.csp_hashes()), settings.tile_url)
        response.headers["Content-Security-Policy"] = csp
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
