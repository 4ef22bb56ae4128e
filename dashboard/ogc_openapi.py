"""The OpenAPI 3.0 document of the OGC API – Features endpoints (``/ogc/openapi``): a plain function."""

from __future__ import annotations

from typing import Any

from layers.view import WINDOWS


def openapi_document(base: str, collections: list[str], default_limit: int, max_limit: int) -> dict[str, Any]:
    """Return the OpenAPI 3.0 description of the endpoints (conformance class oas30) served under ``base``."""

    def param(name: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema, "description": text}

    item_params = [
        param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit},
            "features per page",
        ),
        param("offset", {"type": "integer", "minimum": 0, "default": 0}, "features to skip (paging)"),
        param(
            "bbox",
            {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6},
            "west,south,east,north (CRS84)",
        ),
        param("datetime", {"type": "string"}, "RFC 3339 instant or interval: the View's time window"),
        param("window", {"type": "string", "enum": list(WINDOWS)}, "named window ending now (default 24h)"),
        param("res", {"type": "integer", "minimum": 4, "maximum": 9}, "H3 resolution (clamped by role)"),
        param("zoom", {"type": "number"}, "map zoom the resolution follows when res is not given"),
        param("metric", {"type": "string", "enum": ["events", "people"]}, "hotspot metric"),
        param("statistic", {"type": "string", "enum": ["count", "change", "gi", "emerging"]}, "hotspot statistic"),
    ]
    ok = {"200": {"description": "OK"}, "400": {"description": "bad parameter"}, "401": {"description": "no token"}}
    cid = {
        "name": "collectionId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": collections},
    }
    fid = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "HBM OGC API – Features",
            "version": "1.0.0",
            "description": "The operating picture as OGC API – Features; access with a per-user API token.",
        },
        "servers": [{"url": base}],
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": {
            "/": {"get": {"summary": "landing page", "operationId": "getLandingPage", "responses": ok}},
            "/conformance": {
                "get": {"summary": "conformance classes", "operationId": "getConformance", "responses": ok}
            },
            "/collections": {"get": {"summary": "collections", "operationId": "getCollections", "responses": ok}},
            "/collections/{collectionId}": {
                "get": {
                    "summary": "one collection",
                    "operationId": "describeCollection",
                    "parameters": [cid],
                    "responses": ok,
                }
            },
            "/collections/{collectionId}/items": {
                "get": {
                    "summary": "features",
                    "operationId": "getFeatures",
                    "parameters": [cid, *item_params],
                    "responses": ok,
                }
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "summary": "one feature",
                    "operationId": "getFeature",
                    "parameters": [cid, fid, *item_params[3:]],
                    "responses": ok,
                }
            },
        },
    }
