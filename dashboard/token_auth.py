"""API-token sign-in for machine clients on the paths made for them (OGC API – Features, the live KML).

The gate in ``dashboard.auth`` calls :func:`token_identity` first on these paths: a token in
``Authorization: Bearer hbm_…`` (or ``?token=`` on the KML paths only, because Google Earth's
network links cannot send headers) acts as its user; a wrong, revoked or disabled-user token gets 401.
A token never opens a page or a Dash callback.
"""

from __future__ import annotations

import json

from flask import Response, request

from data import api_tokens, users
from data.store import Store

TOKEN_PATHS = ("/ogc", "/kml/")
QUERY_TOKEN_PATHS = ("/kml/",)


def presented_token() -> str | None:
    """Return the API token the request carries on a token path, or None."""
    if not request.path.startswith(TOKEN_PATHS):
        return None
    scheme, _, given = (request.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and given.strip().startswith(api_tokens.TOKEN_PREFIX):
        return given.strip()
    if request.path.startswith(QUERY_TOKEN_PATHS):
        return request.args.get("token") or None
    return None


def token_identity(store: Store, ip: str) -> users.UserRecord | Response | None:
    """Return the token's user, a 401 response for a token that opens nothing, or None when there is no token."""
    token = presented_token()
    if token is None:
        return None
    found = api_tokens.token_user(store, token, request.path[:200], ip)
    if found is None:
        body = json.dumps({"code": "401", "description": "the API token is unknown, revoked or its user disabled"})
        headers = {"WWW-Authenticate": 'Bearer realm="hbm"', "Cache-Control": "no-store"}
        return Response(body, status=401, mimetype="application/json", headers=headers)
    return found
