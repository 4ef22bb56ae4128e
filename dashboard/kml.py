"""Live KML for Google Earth and ATAK: a network link that re-reads the layers every N seconds.

``/kml/network.kml?token=…&refresh=60`` returns a small KML holding a ``NetworkLink`` to
``/kml/layers.kml`` (same token and View parameters) with ``refreshMode=onInterval``. The layers
document has one folder per OGC collection, built by ``dashboard.ogc.collection_features``, so the
role clamp, small-count suppression and hidden flows are exactly the map's. Names and values are
XML-escaped by ElementTree (free text is never markup).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from dashboard.ogc import COLLECTIONS, BadRequest, collection_features, request_view, suppress_k
from dashboard.permissions import VIEW, acting_user, can
from dashboard.settings import AppSettings
from data.store import Store
from geo.errors import HbmError, InvalidView

PREFIX = "/kml"
KML_NS = "http://www.opengis.net/kml/2.2"
KML_TYPE = "application/vnd.google-earth.kml+xml"
KML_COLLECTIONS = ("crossing_points", "routes", "sar_zones", "hotspot_cells", "alerts")
MIN_REFRESH, MAX_REFRESH = 10, 3600


def _coords(ring: list[list[float]]) -> str:
    return " ".join(f"{x:.6f},{y:.6f}" for x, y, *_ in ring)


def _geometry(parent: ET.Element, geom: dict[str, Any]) -> None:
    kind, coords = geom["type"], geom.get("coordinates")
    if kind == "Point":
        ET.SubElement(ET.SubElement(parent, "Point"), "coordinates").text = _coords([coords])
    elif kind == "LineString":
        ET.SubElement(ET.SubElement(parent, "LineString"), "coordinates").text = _coords(coords)
    elif kind == "Polygon":
        poly = ET.SubElement(parent, "Polygon")
        for i, ring in enumerate(coords):
            bound = ET.SubElement(poly, "outerBoundaryIs" if i == 0 else "innerBoundaryIs")
            ET.SubElement(ET.SubElement(bound, "LinearRing"), "coordinates").text = _coords(ring)
    elif kind.startswith("Multi") or kind == "GeometryCollection":
        multi = ET.SubElement(parent, "MultiGeometry")
        parts = geom.get("geometries") or [{"type": kind[5:], "coordinates": c} for c in coords]
        for part in parts:
            _geometry(multi, part)


def _placemark(folder: ET.Element, feature: dict[str, Any]) -> None:
    mark = ET.SubElement(folder, "Placemark", id=str(feature["id"]))
    props = feature["properties"]
    ET.SubElement(mark, "name").text = str(props.get("name") or props.get("title") or feature["id"])
    data = ET.SubElement(mark, "ExtendedData")
    for key, value in props.items():
        item = ET.SubElement(data, "Data", name=str(key))
        text = json.dumps(value) if isinstance(value, list | dict) else ("" if value is None else str(value))
        ET.SubElement(item, "value").text = text
    if feature.get("geometry"):
        _geometry(mark, feature["geometry"])


def layers_document(sections: dict[str, list[dict[str, Any]]], title: str) -> bytes:
    """Return a KML document with one folder per collection of features."""
    root = ET.Element("kml", xmlns=KML_NS)
    doc = ET.SubElement(root, "Document")
    ET.SubElement(doc, "name").text = title
    for cid, features in sections.items():
        folder = ET.SubElement(doc, "Folder", id=cid)
        ET.SubElement(folder, "name").text = cid
        for feature in features:
            _placemark(folder, feature)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def network_link_document(href: str, refresh_s: int, title: str) -> bytes:
    """Return a KML whose NetworkLink re-reads ``href`` every ``refresh_s`` seconds."""
    root = ET.Element("kml", xmlns=KML_NS)
    doc = ET.SubElement(root, "Document")
    ET.SubElement(doc, "name").text = title
    link = ET.SubElement(doc, "NetworkLink")
    ET.SubElement(link, "name").text = f"{title} (live, every {refresh_s} s)"
    ET.SubElement(link, "refreshVisibility").text = "0"
    inner = ET.SubElement(link, "Link")
    ET.SubElement(inner, "href").text = href
    ET.SubElement(inner, "refreshMode").text = "onInterval"
    ET.SubElement(inner, "refreshInterval").text = str(refresh_s)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def kml_blueprint(store: Store, settings: AppSettings, k: int | None = None) -> Blueprint:
    """Return the blueprint serving ``/kml/network.kml`` and ``/kml/layers.kml`` (``k``: small-count threshold)."""
    k = suppress_k(k)
    bp = Blueprint("kml", __name__, url_prefix=PREFIX)
    title = settings.title + (" — SYNTHETIC" if settings.synthetic else "")

    def _answer(body: bytes, name: str) -> Response:
        headers = {"Cache-Control": "no-store", "Content-Disposition": f'inline; filename="{name}"'}
        return Response(body, mimetype=KML_TYPE, headers=headers)

    @bp.before_request
    def _need_view() -> Response | None:
        if not can(acting_user(), VIEW):
            return Response("your role may not view the map layers\n", 403, mimetype="text/plain")
        return None

    @bp.errorhandler(BadRequest)
    @bp.errorhandler(InvalidView)
    def _bad(exc: HbmError) -> Response:
        return Response(f"{exc}\n", 400, mimetype="text/plain")

    @bp.get("/network.kml")
    def _network() -> Response:
        try:
            refresh_s = int(request.args.get("refresh") or 60)
        except ValueError:
            raise BadRequest("refresh must be a whole number of seconds") from None
        refresh_s = max(MIN_REFRESH, min(MAX_REFRESH, refresh_s))
        args = {k: v for k, v in request.args.items() if k != "refresh"}
        href = request.host_url.rstrip("/") + f"{PREFIX}/layers.kml" + (f"?{urlencode(args)}" if args else "")
        return _answer(network_link_document(href, refresh_s, title), "hbm-live.kml")

    @bp.get("/layers.kml")
    def _layers() -> Response:
        view, bbox = request_view(request.args, settings, datetime.now(UTC))
        user = acting_user()
        sections = {
            cid: collection_features(store, settings, cid, view, bbox, user, k)
            for cid in KML_COLLECTIONS
            if cid in COLLECTIONS
        }
        stamp = f"{title} · data as of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        return _answer(layers_document(sections, stamp), "hbm-layers.kml")

    return bp
