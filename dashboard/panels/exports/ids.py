"""Component ids, buttons and the controls that make up the View of the export panel and the permalink."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from dashboard.ids import Id
from layers.i18n import N_

TITLE = N_("Briefing exports")
WHO = "dashboard"
VIEW_FORMAT = "view"
IMAGE_FORMATS = ("pdf", "png")
MAIN_BUTTONS = (("pdf", N_("PDF map")), ("png", N_("PNG map")), ("html", N_("Offline HTML")), ("gpkg", "GeoPackage"))
MORE_BUTTONS = (("pack", N_("Briefing pack")), ("geojson", "GeoJSON"), ("csv", "CSV"), ("kml", "KML"))
ARIA_LIVE: dict[str, Any] = {"aria-live": "polite"}
ROW_STYLE = {"display": "flex", "flexWrap": "wrap", "gap": "6px", "marginBottom": "6px"}
BUTTON_STYLE = {
    "background": "#0e1620",
    "color": "#e8eef4",
    "border": "1px solid #223244",
    "padding": "4px 8px",
    "cursor": "pointer",
    "fontSize": "14px",
}


class ExportId(StrEnum):
    """Component ids of the export panel and the permalink."""

    BUTTON = "export-button"  # dict ids: {"type": BUTTON, "format": fmt}
    PAGE = "export-page"
    ORIENTATION = "export-orientation"
    DPI = "export-dpi"
    STATUS = "export-status"
    DOWNLOAD = "export-download"
    LOCATION = "permalink"
    APPLIED = "permalink-applied"
    PENDING_LAYERS = "permalink-layers"  # layers to switch on once the LayersControl is ready
    SHOWN = "layers-shown"  # titles of the overlays switched on, reported by the browser (LAYERS_JS)
    LINK_STATUS = "permalink-status"



CONTROL_STATES = (
    ("window", Id.WINDOW, "value"),
    ("custom_start", Id.CUSTOM_START, "value"),
    ("custom_end", Id.CUSTOM_END, "value"),
    ("metric", Id.METRIC, "value"),
    ("resolution", Id.RESOLUTION, "value"),
    ("statistic", Id.STATISTIC, "value"),
    ("suppress", Id.SUPPRESS, "value"),
    ("zoom", Id.MAP, "zoom"),
    ("bounds", Id.MAP, "bounds"),
    ("overlays", ExportId.SHOWN, "data"),
)


