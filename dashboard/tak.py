"""Cursor on Target (CoT) for TAK: open alerts and SAR sectors (assignment, status) as CoT XML events over TCP.

``HBM_TAK_URL=tcp://host:port`` names a TAK server's plain CoT input (TAK Server's streaming port,
or an ATAK/WinTAK device listening for CoT). ``hbm tak send`` pushes once, ``--every N`` keeps
pushing. Alerts go as spot markers (``b-m-p-s-m``) at the alert's place; unless
``HBM_TAK_RAW=true`` the place is the centre of its H3 cell at the viewer limit and people under k
are not sent, as for a viewer (the devices sit outside the operations centre). Sectors go as
polygons (``u-d-f`` with one ``link`` per vertex) whose callsign is the sector label and whose
remarks give team, status, POA and POD. Every push is audited.
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import shapely
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from dashboard.ogc import alert_feature
from dashboard.permissions import User
from dashboard.settings import load_app_settings
from data import audit_log
from data.alerts import Alert, list_alerts
from data.settings import config_error
from data.store import Store
from geo.errors import ConfigError, HbmError
from layers.hotspots import load_hotspot_settings

COT_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
UNKNOWN = "9999999.0"


class TakSettings(BaseSettings):
    """Where CoT goes, from ``HBM_TAK_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="HBM_TAK_", env_file=".env", extra="ignore")

    url: str | None = None
    raw: bool = False  # send exact alert positions and small counts (only to a TAK server inside the operation)
    stale_minutes: float = Field(30.0, gt=0, le=7 * 24 * 60)
    timeout_s: float = Field(10.0, gt=0, le=120)


def load_tak_settings(**overrides: object) -> TakSettings:
    """Return validated TakSettings, raising ConfigError with a one-line message."""
    try:
        return TakSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc) from None


def parse_tak_url(url: str | None) -> tuple[str, int]:
    """Return (host, port) of ``tcp://host:port``, or raise ConfigError."""
    parts = urlsplit(url or "")
    if parts.scheme != "tcp" or not parts.hostname or not parts.port:
        raise ConfigError(f"HBM_TAK_URL {url!r} must look like tcp://host:port (CoT XML over TCP)")
    return parts.hostname, parts.port


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime(COT_TIME)[:-4] + "Z"


def _event(
    uid: str, kind: str, lat: float, lng: float, now: datetime, stale: datetime, how: str = "h-g-i-g-o"
) -> ET.Element:
    event = ET.Element(
        "event", version="2.0", uid=uid, type=kind, how=how, time=_stamp(now), start=_stamp(now), stale=_stamp(stale)
    )
    ET.SubElement(event, "point", lat=f"{lat:.6f}", lon=f"{lng:.6f}", hae=UNKNOWN, ce=UNKNOWN, le=UNKNOWN)
    return event


def alert_event(alert: Alert, now: datetime, settings: TakSettings, k: int, max_res: int = 6) -> ET.Element | None:
    """Return one alert as a CoT spot marker (None when it has no place); ``max_res`` is the viewer limit."""
    user = User("tak", "analyst" if settings.raw else "viewer")
    feature = alert_feature(alert, user, max_res, k)
    if feature["geometry"] is None:
        return None
    lng, lat = feature["geometry"]["coordinates"]
    stale = now if alert.status == "closed" else now + timedelta(minutes=settings.stale_minutes)
    event = _event(f"hbm-alert-{alert.id}", "b-m-p-s-m", lat, lng, now, stale)
    detail = ET.SubElement(event, "detail")
    ET.SubElement(detail, "contact", callsign=f"{alert.severity.upper()}: {alert.title}"[:120])
    evidence = json.loads(feature["properties"]["evidence"])
    shown = ", ".join(f"{key}={value}" for key, value in evidence.items())
    remarks = f"HBM alert {alert.status} since {alert.opened_at:%Y-%m-%d %H:%M} UTC. {shown}"
    ET.SubElement(detail, "remarks").text = remarks[:2000]
    colour = {"critical": "-65536", "warning": "-256", "info": "-16776961"}.get(alert.severity, "-1")
    ET.SubElement(detail, "color", argb=colour)
    ET.SubElement(
        detail, "hbm", kind="alert", id=alert.id, rule=alert.rule_id, status=alert.status, severity=alert.severity
    )
    return event


def sector_event(row: dict[str, Any], geometry: Any, now: datetime, settings: TakSettings) -> ET.Element:
    """Return one SAR sector as a CoT polygon with its assignment (team) and status."""
    centre = shapely.point_on_surface(geometry)
    event = _event(
        f"hbm-sector-{row['id']}",
        "u-d-f",
        centre.y,
        centre.x,
        now,
        now + timedelta(minutes=settings.stale_minutes),
        how="h-e",
    )
    detail = ET.SubElement(event, "detail")
    outline = geometry.geoms[0] if geometry.geom_type == "MultiPolygon" else geometry
    for lng, lat in list(outline.exterior.coords):
        ET.SubElement(detail, "link", point=f"{lat:.6f},{lng:.6f}")
    name = row.get("label") or row.get("name") or row["id"]
    ET.SubElement(detail, "contact", callsign=f"SAR sector {name}"[:120])
    team = row.get("team") or "unassigned"

    def pct(value: Any) -> str:
        return "-" if value is None or value != value else f"{float(value):.0%}"

    remarks = f"Assigned to {team}; status {row.get('status')}; POA {pct(row.get('poa'))}; POD {pct(row.get('pod'))}"
    ET.SubElement(detail, "remarks").text = remarks
    ET.SubElement(detail, "strokeColor", value="-16711681")
    ET.SubElement(
        detail,
        "hbm",
        kind="sar_sector",
        id=str(row["id"]),
        plan=str(row.get("parent_id") or ""),
        team=str(team),
        status=str(row.get("status")),
    )
    return event


@dataclass
class CotBatch:
    """The CoT events of one push."""

    events: list[ET.Element]
    alerts: int
    sectors: int

    def payload(self) -> bytes:
        """Return the events as bytes, one XML document after another (as TAK's TCP input takes them)."""
        return b"".join(ET.tostring(e, encoding="utf-8", xml_declaration=True) + b"\n" for e in self.events)


def build_cot(store: Store, settings: TakSettings, now: datetime | None = None) -> CotBatch:
    """Return CoT events for the open alerts and every SAR sector."""
    now = now or datetime.now(UTC)
    k = load_hotspot_settings()[1]
    events: list[ET.Element] = []
    alerts = 0
    for alert in list_alerts(store, status="open"):
        event = alert_event(alert, now, settings, k, load_app_settings().viewer_max_res)
        if event is not None:
            events.append(event)
            alerts += 1
    zones = store.features("sar_zones")
    sectors = zones[zones["kind"] == "sector"] if len(zones) else zones
    for row, geom in zip(sectors.drop(columns=sectors.geometry.name).to_dict("records"), sectors.geometry, strict=True):
        events.append(sector_event(row, geom, now, settings))
    return CotBatch(events, alerts, len(sectors))


def send_cot(batch: CotBatch, url: str, timeout_s: float = 10.0) -> int:
    """Send the batch over one TCP connection; return the bytes sent, or raise HbmError with one line."""
    host, port = parse_tak_url(url)
    data = batch.payload()
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(data)
    except OSError as exc:
        raise HbmError(f"TAK server {host}:{port} unreachable: {exc}") from None
    return len(data)


def push_to_tak(store: Store, settings: TakSettings | None = None, who: str = audit_log.SYSTEM) -> CotBatch:
    """Build and send the CoT batch to ``HBM_TAK_URL``, auditing the push; return the batch."""
    settings = settings or load_tak_settings()
    if not settings.url:
        raise ConfigError("HBM_TAK_URL is not set: give the TAK server's CoT input as tcp://host:port")
    batch = build_cot(store, settings)
    sent = send_cot(batch, settings.url, settings.timeout_s)
    detail = {"alerts": batch.alerts, "sectors": batch.sectors, "bytes": sent, "raw": settings.raw}
    audit_log.note(store, "tak_push", settings.url, detail, who=who)
    return batch
