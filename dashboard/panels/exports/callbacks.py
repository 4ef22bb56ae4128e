"""The export panel's callbacks: map the plain functions' named results to Dash outputs (None → no_update)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from dash import ALL, Dash, Input, Output, State, ctx, no_update

from dashboard.ids import LAYER_IDS, Id
from dashboard.panels.exports.ids import CONTROL_STATES, WHO, ExportId
from dashboard.panels.exports.logic import (
    export_buttons,
    export_file,
    permalink_fields,
    permalink_query,
)
from dashboard.permissions import REQUEST_USER, User, current_user
from dashboard.settings import AppSettings
from data.store import Store
from geo.errors import HbmError
from layers.i18n import _
from layers.services.exports.collect import Page
from layers.services.exports.settings import ExportSettings, load_export_settings
from layers.view import LAYER_NAMES

if TYPE_CHECKING:
    from dashboard.config import Settings


def _or_keep(value: Any) -> Any:
    return no_update if value is None else value


def export_view(
    store: Store,
    settings: AppSettings,
    export_settings: ExportSettings,
    fmt: str,
    controls: dict[str, Any],
    page: Page | None = None,
    who: str = WHO,
    now: datetime | None = None,
    user: User | None = REQUEST_USER,
) -> tuple[Any, str]:
    """Return (dcc.Download data or ``no_update``, status line) for the export callback (see ``export_file``)."""
    result = export_file(store, settings, export_settings, fmt, controls, page, who, now, user)
    return _or_keep(result.download), result.status


def permalink_outputs(
    search: str | None, now: datetime | None = None, user: User | None = REQUEST_USER, max_res: int = 6
) -> tuple[Any, ...]:
    """Return the permalink's control values in output order, ``no_update`` for those it leaves, then the error.

    Order: window, custom start, custom end, metric, resolution, statistic, suppress, the titles of the
    layers to show (switched by ``LAYERS_JS`` once the layer control is ready), map viewport, error text.
    """
    fields = permalink_fields(search, now, user, max_res)
    return (*(_or_keep(v) for v in fields[:-1]), fields.error)


def permalink_search(
    settings: AppSettings, controls: dict[str, Any], now: datetime | None = None, user: User | None = REQUEST_USER
) -> Any:
    """Return the URL query string of the View on screen, or ``no_update`` if it is not valid."""
    return _or_keep(permalink_query(settings, controls, now, user))


# dash-leaflet 1.1.3's LayersControl cannot be trusted with layer visibility: changing an Overlay's
# ``checked`` later does nothing, and its ``overlays`` prop breaks on the first overlay removed (a stale
# closure), and a hidden overlay's GeoJSON comes back on the map when its data is refreshed. So the browser
# reads the layer control's checkboxes itself: it reports the overlays shown into a store on every change,
# switches layers for a permalink by clicking them as a user would, and after each layer refresh clicks each
# unchecked overlay on and off again so that what is drawn matches the checkboxes.
LAYERS_JS = """
function (pending) {
  var nu = window.dash_clientside.no_update;
  var root = document.getElementById("MAP_ID");
  var box = root && root.querySelector(".leaflet-control-layers-overlays");
  if (!box) { return [nu, nu]; }
  function labels() { return box.querySelectorAll("label"); }
  function shown() {
    var out = [];
    labels().forEach(function (l) {
      var i = l.querySelector("input");
      if (i && i.checked) { out.push(l.textContent.trim()); }
    });
    return out;
  }
  function report() { window.dash_clientside.set_props("SHOWN_ID", {data: shown()}); }
  if (!box.dataset.hbmWatch) { box.dataset.hbmWatch = "1"; box.addEventListener("change", report); }
  var tries = 0;
  (function whenReady() {
    if (labels().length < LAYER_COUNT && tries++ < 100) { setTimeout(whenReady, 100); return; }
    if (pending) {
      labels().forEach(function (l) {
        var input = l.querySelector("input");
        if (input && input.checked !== (pending.indexOf(l.textContent.trim()) >= 0)) { input.click(); }
      });
    }
    report();
    setTimeout(hideUnchecked, 60);
    setTimeout(hideUnchecked, 600);
  })();
  function hideUnchecked() {
    labels().forEach(function (l) {
      var input = l.querySelector("input");
      if (input && !input.checked) { input.click(); input.click(); }
    });
  }
  return [pending ? null : nu, nu];
}
"""


def register(app: Dash, store: Store, settings: AppSettings, config: Settings | None = None) -> None:
    """Attach the export and permalink callbacks."""
    export_settings = config.exports if config is not None else load_export_settings()

    @app.callback(
        Output(ExportId.DOWNLOAD, "data"),
        Output(ExportId.STATUS, "children"),
        Input({"type": ExportId.BUTTON, "format": ALL}, "n_clicks"),
        State(ExportId.PAGE, "value"),
        State(ExportId.ORIENTATION, "value"),
        State(ExportId.DPI, "value"),
        *[State(cid, prop) for _key, cid, prop in CONTROL_STATES],
        prevent_initial_call=True,
    )
    def _export(_clicks: list[int | None], size: str, orientation: str, dpi: int, *values: Any) -> tuple[Any, Any]:
        triggered = ctx.triggered_id
        if not isinstance(triggered, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
            return no_update, no_update
        controls = dict(zip((key for key, _c, _p in CONTROL_STATES), values, strict=True))
        try:
            page = Page(size or "A4", orientation or "landscape", int(dpi or 150))
        except HbmError as exc:
            return no_update, _("Export failed: {error}").format(error=exc)
        user = current_user()
        return export_view(
            store,
            settings,
            export_settings,
            str(triggered["format"]),
            controls,
            page,
            who=user.name if user else WHO,
            user=user,
        )

    @app.callback(
        Output({"type": ExportId.BUTTON, "format": ALL}, "disabled"),
        Output({"type": ExportId.BUTTON, "format": ALL}, "title"),
        Input({"type": ExportId.BUTTON, "format": ALL}, "id"),
    )
    def _allowed(ids: list[dict[str, str]]) -> tuple[list[bool], list[str]]:
        return export_buttons(current_user(), [str(i["format"]) for i in ids])

    @app.callback(
        Output(Id.WINDOW, "value"),
        Output(Id.CUSTOM_START, "value"),
        Output(Id.CUSTOM_END, "value"),
        Output(Id.METRIC, "value"),
        Output(Id.RESOLUTION, "value"),
        Output(Id.STATISTIC, "value"),
        Output(Id.SUPPRESS, "value"),
        Output(ExportId.PENDING_LAYERS, "data"),
        Output(Id.MAP, "viewport", allow_duplicate=True),
        Output(ExportId.LINK_STATUS, "children"),
        Output(ExportId.APPLIED, "data"),
        Input(ExportId.LOCATION, "search"),
        State(ExportId.APPLIED, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def _apply_permalink(search: str | None, applied: bool) -> tuple[Any, ...]:
        if applied:
            return (*(no_update,) * 10, no_update)
        return (*permalink_outputs(search, user=current_user(), max_res=settings.viewer_max_res), True)

    app.clientside_callback(
        LAYERS_JS.replace("MAP_ID", Id.MAP)
        .replace("SHOWN_ID", ExportId.SHOWN)
        .replace("LAYER_COUNT", str(len(LAYER_NAMES))),
        Output(ExportId.PENDING_LAYERS, "data", allow_duplicate=True),
        Output(ExportId.SHOWN, "data"),
        Input(ExportId.PENDING_LAYERS, "data"),
        Input(Id.LAYERS_CONTROL, "overlays"),
        *[Input(LAYER_IDS[name], "data") for name in LAYER_NAMES],
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ExportId.LOCATION, "search"),
        *[Input(cid, prop) for _key, cid, prop in CONTROL_STATES],
        State(ExportId.APPLIED, "data"),
        prevent_initial_call=True,
    )
    def _follow_view(*values: Any) -> Any:
        *controls, applied = values
        if not applied:
            return no_update
        return permalink_search(
            settings, dict(zip((k for k, _c, _p in CONTROL_STATES), controls, strict=True)), user=current_user()
        )
