"""OGC API – Features (Part 1: Core, GeoJSON, OpenAPI 3.0) over the map's layers, for QGIS, ArcGIS and GDAL.

A thin Flask blueprint on the Dash server (pygeoapi would need a provider per backend and its own
configuration and auth; this is ~300 lines over the layer code the map already uses). Every
collection is built exactly as the map builds it: the same View (``window``/``datetime``, ``res``
or ``zoom``, ``metric``, ``statistic``, ``bbox`` snapped like the map's), the same ``clamp_view``
for roles without raw access (no cell finer than HBM_VIEWER_MAX_RES, small counts merged into
parents), the same ``hide_small_flows`` for crossing and route flows, and the alerts panel's
evidence rule (people under k replaced, no event ids, no raw point). So a viewer's token gets
what a viewer sees. Access: the sign-in gate (``dashboard.auth``) accepts an API token
(``Authorization: Bearer hbm_…``, see ``data.api_tokens``) on these paths.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import h3
from flask import Blueprint, Response, request
from shapely.geometry import box, shape

from dashboard.ogc_openapi import openapi_document
from dashboard.permissions import RAW, VIEW, User, acting_user, can, clamp_view
from dashboard.settings import AppSettings
from data.alerts import Alert, list_alerts
from data.store import BBox, Store
from geo.errors import HbmError, InvalidView, StoreUnavailable
from geo.suppression import withhold_evidence, withhold_small_counts_in_text
from layers.features import LAYERS, hide_small_flows
from layers.hotspots import load_hotspot_settings
from layers.view import WINDOWS, View, snap_bbox, window_bounds

PREFIX = "/ogc"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
VIEW_PARAMS = ("window", "res", "zoom", "metric", "statistic")


class BadRequest(HbmError):
    """A query parameter the API cannot use (answered with 400 and a one-line message)."""


@dataclass(frozen=True)
class Collection:
    """One feature collection: which map layer it comes from and which of its features it keeps."""

    id: str
    title: str
    description: str
    layer: str | None  # a key of layers.features.LAYERS, or None for alerts
    keep: Callable[[dict[str, Any]], bool] = lambda f: True


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "crossing_points",
            "Crossing points",
            "BCPs, informal and DTM flow-monitoring points with flows "
            "over 24 h, 7 d and the window (flows under k people are empty without raw access)",
            "crossing_points",
        ),
        Collection("routes", "Informal routes", "Routes with mode, risk and activity in the window", "routes"),
        Collection(
            "sar_zones",
            "SAR zones",
            "SAR regions, search areas (plans) and sectors with status, team, POA/POD/POS",
            "sar_zones",
        ),
        Collection(
            "sar_plans",
            "SAR plans",
            "Search areas of SAR plans (their sectors are in sar_zones)",
            "sar_zones",
            lambda f: f["properties"].get("kind") == "search_area",
        ),
        Collection(
            "hotspot_cells",
            "Hotspot cells (H3)",
            "H3 cells with counts and surge statistics for the View, "
            "aggregated and suppressed by role exactly as on the map",
            "hotspots",
            lambda f: "cell" in f["properties"],
        ),
        Collection(
            "hotspot_areas",
            "Hotspot areas",
            "Touching flagged cells merged into areas",
            "hotspots",
            lambda f: "area" in f["properties"],
        ),
        Collection(
            "alerts",
            "Alerts",
            "Open and recent alerts (point where the rule fired; a cell centre without raw access)",
            None,
        ),
    )
}


# -- the View of a request -------------------------------------------------------------------------
def parse_datetime_param(raw: str | None, now: datetime) -> tuple[datetime, datetime] | None:
    """Return [start, end) of an RFC 3339 instant or interval (``a/b``, ``../b``, ``a/..``), or None."""
    if not raw:
        return None

    def one(text: str) -> datetime | None:
        if text in ("", ".."):
            return None
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise BadRequest(f"datetime {text[:40]!r} is not RFC 3339 (e.g. 2026-11-20T06:00:00Z)") from None
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)

    if "/" in raw:
        first, _, second = raw.partition("/")
        end = one(second) or now
        start = one(first) or end - WINDOWS["30d"]
    else:
        end = one(raw) or now
        start = end - WINDOWS["24h"]
    if end <= start:
        raise BadRequest("the datetime interval must end after it starts")
    return start, end


def parse_bbox_param(raw: str | None) -> BBox | None:
    """Return ``west, south, east, north`` from a ``bbox`` parameter, or None."""
    if not raw:
        return None
    try:
        parts = [float(p) for p in raw.split(",")]
    except ValueError:
        raise BadRequest("bbox must be four numbers: west,south,east,north") from None
    if len(parts) == 6:
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise BadRequest("bbox must be four numbers: west,south,east,north")
    w, s, e, n = parts
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        raise BadRequest("bbox is outside -180..180, -90..90 or south > north")
    return w, s, e, n


def request_view(args: Any, settings: AppSettings, now: datetime) -> tuple[View, BBox | None]:
    """Return the map View a request's parameters describe, and the exact bbox filter (or None)."""
    bbox = parse_bbox_param(args.get("bbox"))
    window = args.get("window") or "24h"
    interval = parse_datetime_param(args.get("datetime"), now)
    try:
        if interval:
            start, end = interval
            window = "custom"
        else:
            start, end = window_bounds(window, now)
        res = args.get("res")
        zoom = float(args.get("zoom") or 7.0)
        if not 0 <= zoom <= 30:
            raise BadRequest("zoom must be between 0 and 30")
        view = View(
            start=start,
            end=end,
            zoom=zoom,
            resolution=int(res) if res not in (None, "", "auto") else None,
            bbox=snap_bbox(bbox or settings.region),
            metric=args.get("metric") or "events",
            window_label=window,
            statistic=args.get("statistic") or "count",
        )
    except ValueError as exc:
        raise BadRequest(f"res or zoom is not a number ({exc})") from None
    return view, bbox


# -- features --------------------------------------------------------------------------------------
def _public(feature: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in (feature.get("properties") or {}).items() if not k.startswith("_")}
    fid = props.get("id") or props.get("cell") or props.get("area")
    return {"type": "Feature", "id": fid, "geometry": feature["geometry"], "properties": props}


def suppress_k(k: int | None = None) -> int:
    """Return ``k``, or HBM_HOTSPOT_SUPPRESS_K when the caller was not given one at start."""
    return k if k is not None else load_hotspot_settings()[1]


def layer_features(
    store: Store, settings: AppSettings, view: View, layer: str, user: User | None, k: int | None = None
) -> list[dict]:
    """Return one map layer's features as ``user`` sees it on the map for ``view`` (clamped, small flows hidden)."""
    view = clamp_view(view, user, settings.viewer_max_res)
    collection = LAYERS[layer].build(store, view)
    if layer in ("crossing_points", "routes") and not can(user, RAW):
        collection = hide_small_flows(collection, suppress_k(k))
    if layer == "hotspots" and not can(user, RAW):
        return scrub_small_values(list(collection["features"]), suppress_k(k))
    return list(collection["features"])


def scrub_small_values(features: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Return hotspot features with earlier-window counts and baseline means of 1..k-1 set to null.

    The merged cells already hold at least k people in the current window; a cell's earlier windows
    and its baseline mean may still be small, and they must not leave the system for a role
    without raw access either.
    """
    out = []
    for feature in features:
        props = dict(feature.get("properties") or {})
        if isinstance(props.get("windows"), list):
            props["windows"] = [None if isinstance(v, int | float) and 0 < v < k else v for v in props["windows"]]
        mean = props.get("baseline_mean")
        if isinstance(mean, int | float) and 0 < mean < k:
            props["baseline_mean"] = None
        out.append({**feature, "properties": props})
    return out


def alert_feature(alert: Alert, user: User | None, max_res: int, k: int) -> dict[str, Any]:
    """Return an alert as a point feature; without raw access: a cell centre, people under k replaced, no ids."""
    raw = can(user, RAW)
    evidence = dict(alert.evidence) if raw else withhold_evidence(alert.evidence, k)
    title = alert.title if raw else withhold_small_counts_in_text(alert.title, k)
    geometry = None
    if alert.lat is not None and alert.lng is not None:
        lat, lng = (
            (alert.lat, alert.lng) if raw else h3.cell_to_latlng(h3.latlng_to_cell(alert.lat, alert.lng, max_res))
        )
        geometry = {"type": "Point", "coordinates": [round(lng, 6), round(lat, 6)]}
    props = {
        "id": alert.id,
        "rule_id": alert.rule_id,
        "status": alert.status,
        "severity": alert.severity,
        "title": title,
        "opened_at": alert.opened_at.isoformat(),
        "updated_at": alert.updated_at.isoformat(),
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
        "acked_by": alert.acked_by,
        "evidence": json.dumps(evidence, sort_keys=True, default=str),
    }
    return {"type": "Feature", "id": alert.id, "geometry": geometry, "properties": props}


def alert_features(
    store: Store, settings: AppSettings, view: View, user: User | None, k: int | None = None
) -> list[dict[str, Any]]:
    """Return the alerts open in, or updated during, the View's window, newest first."""
    sql = store
    k = suppress_k(k)
    found = list_alerts(sql, status="open") + list_alerts(sql, status="closed", since=view.start, limit=1000)
    found = [a for a in found if a.opened_at < view.end and (a.closed_at is None or a.closed_at >= view.start)]
    return [alert_feature(a, user, settings.viewer_max_res, k) for a in found]


def collection_features(
    store: Store,
    settings: AppSettings,
    cid: str,
    view: View,
    bbox: BBox | None,
    user: User | None,
    k: int | None = None,
) -> list[dict[str, Any]]:
    """Return every feature of collection ``cid`` for ``view`` as ``user`` may see it, filtered to ``bbox``."""
    spec = COLLECTIONS[cid]
    if spec.layer is None:
        features = alert_features(store, settings, view, user, k)
    else:
        features = [f for f in layer_features(store, settings, view, spec.layer, user, k) if spec.keep(f)]
    if bbox is not None:
        area = box(*bbox)
        features = [f for f in features if f["geometry"] and shape(f["geometry"]).intersects(area)]
    return [_public(f) for f in features]


# -- responses -------------------------------------------------------------------------------------
def _json(body: Any, status: int = 200, mimetype: str = "application/json") -> Response:
    return Response(
        json.dumps(body, default=str), status=status, mimetype=mimetype, headers={"Cache-Control": "no-store"}
    )


def _error(status: int, message: str) -> Response:
    return _json({"code": str(status), "description": " ".join(message.split())}, status)


def _base() -> str:
    return request.host_url.rstrip("/") + PREFIX


def _collection_doc(spec: Collection, settings: AppSettings) -> dict[str, Any]:
    base = _base()
    return {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {"spatial": {"bbox": [list(settings.region)], "crs": CRS84}},
        "links": [
            {"href": f"{base}/collections/{spec.id}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{spec.id}/items", "rel": "items", "type": GEOJSON},
        ],
    }


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def items_page(features: list[dict[str, Any]], cid: str) -> dict[str, Any]:
    """Return one page of ``features`` (``limit``/``offset``) with numberMatched/Returned and a next link."""
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_arg("offset", 0, 0, 10**9)
    page = features[offset : offset + limit]
    keep = {k: v for k, v in request.args.items() if k not in ("limit", "offset", "f")}
    url = f"{_base()}/collections/{cid}/items"
    links = [{"href": f"{url}?{urlencode({**keep, 'limit': limit, 'offset': offset})}", "rel": "self", "type": GEOJSON}]
    if offset + limit < len(features):
        nxt = urlencode({**keep, "limit": limit, "offset": offset + limit})
        links.append({"href": f"{url}?{nxt}", "rel": "next", "type": GEOJSON})
    return {
        "type": "FeatureCollection",
        "features": page,
        "numberMatched": len(features),
        "numberReturned": len(page),
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links,
    }


def ogc_blueprint(store: Store, settings: AppSettings, k: int | None = None) -> Blueprint:
    """Return the blueprint serving OGC API – Features under ``/ogc`` (the gate authenticates first).

    ``k`` is HBM_HOTSPOT_SUPPRESS_K as loaded at start (read here once when not given).
    """
    k = suppress_k(k)
    bp = Blueprint("ogc", __name__, url_prefix=PREFIX)

    @bp.before_request
    def _need_view() -> Response | None:
        if not can(acting_user(), VIEW):
            return _error(403, "your role may not view the map layers")
        return None

    @bp.errorhandler(BadRequest)
    @bp.errorhandler(InvalidView)
    def _bad(exc: HbmError) -> Response:
        return _error(400, str(exc))

    @bp.errorhandler(StoreUnavailable)
    def _down(exc: HbmError) -> Response:
        return _error(503, f"store unavailable: {exc}")

    @bp.get("/")
    def _landing() -> Response:
        base = _base()
        return _json(
            {
                "title": settings.title + (" (SYNTHETIC)" if settings.synthetic else ""),
                "description": "OGC API – Features for the HBM operating picture",
                "links": [
                    {"href": f"{base}/", "rel": "self", "type": "application/json", "title": "this document"},
                    {
                        "href": f"{base}/openapi",
                        "rel": "service-desc",
                        "type": "application/vnd.oai.openapi+json;version=3.0",
                        "title": "the API definition",
                    },
                    {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json"},
                    {"href": f"{base}/collections", "rel": "data", "type": "application/json"},
                ],
            }
        )

    @bp.get("/conformance")
    def _conformance() -> Response:
        return _json({"conformsTo": CONFORMANCE})

    @bp.get("/openapi")
    def _openapi() -> Response:
        document = openapi_document(_base(), list(COLLECTIONS), DEFAULT_LIMIT, MAX_LIMIT)
        return _json(document, mimetype="application/vnd.oai.openapi+json;version=3.0")

    @bp.get("/collections")
    def _collections() -> Response:
        base = _base()
        return _json(
            {
                "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
                "collections": [_collection_doc(c, settings) for c in COLLECTIONS.values()],
            }
        )

    @bp.get("/collections/<cid>")
    def _collection(cid: str) -> Response:
        if cid not in COLLECTIONS:
            return _error(404, f"no collection {cid[:60]!r}")
        return _json(_collection_doc(COLLECTIONS[cid], settings))

    @bp.get("/collections/<cid>/items")
    def _items(cid: str) -> Response:
        if cid not in COLLECTIONS:
            return _error(404, f"no collection {cid[:60]!r}")
        view, bbox = request_view(request.args, settings, datetime.now(UTC))
        features = collection_features(store, settings, cid, view, bbox, acting_user(), k)
        return _json(items_page(features, cid), mimetype=GEOJSON)

    @bp.get("/collections/<cid>/items/<fid>")
    def _item(cid: str, fid: str) -> Response:
        if cid not in COLLECTIONS:
            return _error(404, f"no collection {cid[:60]!r}")
        view, _ = request_view(request.args, settings, datetime.now(UTC))
        for feature in collection_features(store, settings, cid, view, None, acting_user(), k):
            if str(feature["id"]) == fid:
                return _json(feature, mimetype=GEOJSON)
        return _error(404, f"no feature {fid[:60]!r} in {cid} for this View")

    return bp
