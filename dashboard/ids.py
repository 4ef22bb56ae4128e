"""Component ids, in one place."""

from enum import StrEnum


class Id(StrEnum):
    """Ids of the dashboard's components."""

    MAP = "map"
    BASEMAP = "basemap"
    CROSSING_POINTS = "layer-crossing_points"
    ROUTES = "layer-routes"
    HOTSPOTS = "layer-hotspots"
    SAR_ZONES = "layer-sar_zones"
    INTERVAL = "refresh-interval"
    CLIENT_STATE = "client-state"
    STATUS = "status-line"
    BANNER = "store-banner"
    WINDOW = "window"
    CUSTOM_BOX = "custom-window"
    CUSTOM_START = "custom-start"
    CUSTOM_END = "custom-end"
    METRIC = "metric"
    RESOLUTION = "resolution"
    DETAILS = "details"
    LEGEND = "legend"
    HOTSPOT_LEGEND_TITLE = "hotspot-legend-title"
    VIEW_ERROR = "view-error"
    LAYERS_CONTROL = "layers-control"  # reports the overlays shown (exports, permalinks)
    STATISTIC = "statistic"
    SUPPRESS = "suppress"
    HOTSPOT_LEGEND = "hotspot-legend"
    ALERT_BADGE = "alert-badge"
    PLAYBACK_STATE = "playback-state"
    APP = "app-root"
    WALL_LOCATION = "wall-location"
    WALL_TOGGLE = "wall-toggle"


LAYER_IDS = {
    "crossing_points": Id.CROSSING_POINTS,
    "routes": Id.ROUTES,
    "hotspots": Id.HOTSPOTS,
    "sar_zones": Id.SAR_ZONES,
}
