"""Component ids and fixed choices of the SAR panel."""

from __future__ import annotations

from enum import StrEnum

from layers.i18n import N_

TITLE = N_("SAR planning")
EMPTY = {"type": "FeatureCollection", "features": []}
SOURCES = (("drawn", N_("drawn polygon")), ("datum", N_("datum + radius")), ("event", N_("distress event")))
EXPORTS = (("geojson", "GeoJSON"), ("kml", "KML"), ("gpx", "GPX"), ("csv", "CSV"), ("pdf", N_("PDF sheets")))
FORM_KEYS = ("source", "drawn", "datum", "radius", "event", "method", "rotate", "size", "poa", "rest", "name")


class SarId(StrEnum):
    """Component ids of the SAR panel."""

    DRAW = "sar-draw"
    PREVIEW = "sar-preview"
    HIGHLIGHT = "sar-highlight"
    SOURCE = "sar-source"
    DATUM = "sar-datum"
    RADIUS = "sar-radius"
    EVENT = "sar-event"
    METHOD = "sar-method"
    ROTATE = "sar-rotate"
    SIZE = "sar-size"
    POA = "sar-poa"
    REST = "sar-rest"
    NAME = "sar-name"
    PREVIEW_BTN = "sar-preview-btn"
    SAVE_BTN = "sar-save-btn"
    NEW_MSG = "sar-new-msg"
    PLAN = "sar-plan"
    SUMMARY = "sar-summary"
    TABLE = "sar-table"
    SEEN = "sar-seen"
    TEAM = "sar-team"
    STATUS = "sar-status"
    SECTOR_BTN = "sar-sector-btn"
    SWEEP = "sar-sweep"
    SPACING = "sar-spacing"
    LENGTH = "sar-length"
    SORTIE_BTN = "sar-sortie-btn"
    PLAN_MSG = "sar-plan-msg"
    DOWNLOAD = "sar-download"
    EXPORT = "sar-export"
    ROLE_NOTE = "sar-role-note"


EDIT_CONTROLS = (
    SarId.PREVIEW_BTN,
    SarId.SAVE_BTN,
    SarId.SECTOR_BTN,
    SarId.SORTIE_BTN,
    SarId.DATUM,
    SarId.RADIUS,
    SarId.EVENT,
    SarId.SIZE,
    SarId.REST,
    SarId.NAME,
    SarId.TEAM,
    SarId.STATUS,
    SarId.SWEEP,
    SarId.SPACING,
    SarId.LENGTH,
)
NO_DRAW = {
    "polyline": False,
    "marker": False,
    "circle": False,
    "circlemarker": False,
    "polygon": False,
    "rectangle": False,
}
