"""Security headers on every response: a Content-Security-Policy that allows only the app's own assets.

The app loads nothing from a CDN (``serve_locally=True``; the basemap is bundled), so ``'self'`` is
enough. Dash's inline scripts (its renderer bootstrap and any inline clientside callbacks) are
allowed by their SHA-256 hashes (``Dash.csp_hashes``), not by ``'unsafe-inline'``. A configured
``HBM_TILE_URL`` host is added to ``img-src`` only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from dash import Dash
from flask import Response

from dashboard.settings import AppSettings

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


def install_security_headers(app: Dash, settings: AppSettings) -> None:
    """Add the CSP and the other security headers to every response of ``app``."""

    @app.server.after_request
    def _headers(response: Response) -> Response:
        # Hashes are taken per response: clientside callbacks may be registered after create_app.
        csp = content_security_policy(list(app.csp_hashes()), settings.tile_url)
        response.headers["Content-Security-Policy"] = csp
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
