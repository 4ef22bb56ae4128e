"""``POST /api/v1/events``: a live feed pushes JSON batches through the same validation as ``hbm ingest``.

The body is a GeoJSON FeatureCollection (or Feature) or a JSON list of objects with the schema's
field names (``lat``/``lon`` or a ``geometry``). The answer gives a result per item. Authentication
is a bearer token from ``HBM_API_TOKEN``; with no token configured the endpoint refuses (503).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from flask import Flask, Response, request
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.ingest import ingest_records
from data.ingest.readers import items_from_json
from data.ingest.settings import IngestSettings, load_ingest_settings
from data.settings import config_error
from data.store import Store
from geo.errors import IngestError, StoreUnavailable

EVENTS_PATH = "/api/v1/events"


class ApiSettings(BaseSettings):
    """Who may push events, and how much at once (``HBM_API_*``)."""

    model_config = SettingsConfigDict(env_prefix="HBM_API_", env_file=".env", extra="ignore")

    token: str | None = Field(
        None,
        description="Bearer token that may POST events to /api/v1/events (ingest only: it opens no page or "
        "callback); unset: the endpoint is off.",
    )
    max_bytes: int = Field(2_000_000, ge=1_000, le=100_000_000, description="Largest request body the API reads.")
    max_items: int = Field(5_000, ge=1, le=1_000_000, description="Most events in one API batch.")


def load_api_settings(**overrides: object) -> ApiSettings:
    """Return validated ApiSettings, raising ConfigError with a one-line message."""
    try:
        return ApiSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc) from None


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _answer(status, {"error": " ".join(message.split())}, headers)


def is_authorised(header: str | None, token: str) -> bool:
    """Return True if an ``Authorization`` header carries ``Bearer <token>`` (compared in constant time)."""
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


JSON_TYPES = frozenset({"application/json", "application/geo+json"})


def is_json_type(content_type: str | None) -> bool:
    """Return True for a JSON media type (parameters such as charset are ignored)."""
    return (content_type or "").split(";", 1)[0].strip().lower() in JSON_TYPES


def _read_body(limit: int) -> bytes | None:
    """Return the request body, or None if it is longer than ``limit`` bytes (read no further than that)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    data = request.stream.read(limit + 1)
    return None if len(data) > limit else data


def handle_events(store: Store, api: ApiSettings, ingest: IngestSettings) -> Response:
    """Return the response to one POST of events: 401/503/413/400 refusals, else 200 or 207 with per-item results."""
    if not api.token:
        return _error(503, "the events API is disabled: set HBM_API_TOKEN on the server to enable it")
    if not is_authorised(request.headers.get("Authorization"), api.token):
        return _error(401, "missing or wrong bearer token", {"WWW-Authenticate": 'Bearer realm="hbm"'})
    if not is_json_type(request.content_type):
        return _error(415, "send the events as JSON: Content-Type: application/json (or application/geo+json)")
    body = _read_body(api.max_bytes)
    if body is None:
        return _error(413, f"payload larger than {api.max_bytes:,} bytes (HBM_API_MAX_BYTES); send smaller batches")
    try:
        # NaN and Infinity are not JSON numbers: kept as text, so the row check rejects them with a reason
        # instead of reading them as "no value".
        doc = json.loads(body.decode("utf-8-sig"), parse_constant=str)
    except UnicodeDecodeError as exc:
        return _error(400, f"the body is not UTF-8 text (byte {exc.start})")
    except json.JSONDecodeError as exc:
        return _error(400, f"malformed JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except RecursionError:
        return _error(400, "malformed JSON: nested too deeply")
    except ValueError as exc:  # e.g. an integer longer than Python's 4,300-digit conversion limit
        return _error(400, f"malformed JSON: {str(exc).splitlines()[0][:120]}")
    try:
        items, crs = items_from_json(doc, "body")
    except IngestError as exc:
        return _error(400, str(exc))
    if len(items) > api.max_items:
        return _error(413, f"{len(items):,} items; at most {api.max_items:,} per request (HBM_API_MAX_ITEMS)")
    try:
        summary = ingest_records(store, items, "events", settings=ingest, name="api", crs=crs)
    except StoreUnavailable as exc:
        return _error(503, f"store unavailable, nothing was written: {exc}", {"Retry-After": "5"})
    except IngestError as exc:
        return _error(400, f"nothing was written: {exc}")
    body_out = {
        "received": summary.read,
        "accepted": summary.accepted,
        "corrected": summary.corrected,
        "rejected": summary.rejected,
        "written": summary.written,
        "rejected_by_reason": dict(summary.rejected_by_reason),
        "items": [item.as_dict() for item in summary.items],
    }
    return _answer(200 if summary.rejected == 0 else 207, body_out)


def register_api(
    server: Flask,
    store: Store,
    settings: object = None,
    api: ApiSettings | None = None,
    ingest: IngestSettings | None = None,
) -> None:
    """Add ``POST /api/v1/events`` to the Flask ``server``; settings come from ``HBM_API_*``/``HBM_INGEST_*``."""
    api = api or load_api_settings()
    ingest = ingest or load_ingest_settings()

    @server.post(EVENTS_PATH)
    def _post_events() -> Response:
        return handle_events(store, api, ingest)
