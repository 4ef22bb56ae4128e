"""Briefing exports panel and permalinks.

One click exports the current View (window, metric, statistic, resolution, the map's exact bounds and
zoom, the layers switched on) as PDF, PNG, offline HTML, GeoPackage, a briefing pack, GeoJSON, CSV or
KML, or downloads the View itself as JSON. Each export is audited with ``who``: the signed-in user
(``"dashboard"`` when called outside a web request).

Access (checked on the server, whatever the buttons show): PNG/PDF need ``export_image``; every other
format, including the offline HTML, the pack and the View JSON, needs ``export_data``. A user without
``raw`` exports the View clamped to ``HBM_VIEWER_MAX_RES`` and never raw event points.

Permalinks: the page URL's query string holds the View. On load it sets the controls, the layers and
the map viewport; as the View changes, the URL follows (``dcc.Location`` with ``refresh=False``).

Modules: ``ids`` (component ids, buttons, the controls read), ``logic`` (plain functions, no dash
import), ``layout`` (components) and ``callbacks`` (wiring; maps named results to outputs).
"""

from dashboard.panels.exports.callbacks import LAYERS_JS, export_view, permalink_outputs, permalink_search, register
from dashboard.panels.exports.ids import CONTROL_STATES, TITLE, ExportId
from dashboard.panels.exports.layout import layout
from dashboard.panels.exports.logic import (
    ExportResult,
    PermalinkFields,
    export_buttons,
    export_file,
    export_permission,
    permalink_fields,
    permalink_query,
)

__all__ = [
    "CONTROL_STATES",
    "LAYERS_JS",
    "TITLE",
    "ExportId",
    "ExportResult",
    "PermalinkFields",
    "export_buttons",
    "export_file",
    "export_permission",
    "export_view",
    "layout",
    "permalink_fields",
    "permalink_outputs",
    "permalink_query",
    "permalink_search",
    "register",
]
