"""Offline interactive HTML (folium): one self-contained file that opens with no network at all.

Leaflet's JS/CSS (vendored from npm ``leaflet`` 1.9.4 in ``vendor/``) and the live map's own style
script and stylesheet (``dashboard/assets/hbm.js``, ``hbm.css``) are inlined, so features are drawn by
the very functions the dashboard uses, from the same ``STYLES`` table. Every external ``<script src>``
or ``<link href>`` is refused. Free text reaches the page only as text (``textContent``).
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import folium
from branca.element import Figure
from folium.elements import Element
from folium.map import CustomPane
from folium.utilities import JsCode

from data.interfaces import BBox
from geo.errors import HbmError
from layers.basemap import ATTRIBUTION, basemap_geojson
from layers.context import (
    CONTEXT_ATTRIBUTION,
    country_labels_geojson,
    lakes_geojson,
    places_geojson,
    rivers_geojson,
)
from layers.i18n import VALUE_LABELS as I18N_VALUES
from layers.i18n import _, current_language, text_direction, value_label
from layers.labels import CODE_KEYS, FIELDS, PROBABILITIES, VALUE_LABELS, display_zone, zone_suffix
from layers.services.exports.collect import ExportData
from layers.styles import STYLES, dash_gradient, translucent

VENDOR = Path(__file__).parent / "vendor"
EXTERNAL = re.compile(r"<(script|link)\b[^>]*(src|href)\s*=\s*[\"']?(https?:)?//", re.IGNORECASE)
CONTEXT_PANES = {"hbm-country-labels": 612, "hbm-places": 620}  # as dashboard.layout.CONTEXT_PANES
CTX = "{hideout: {styles: HBM_STYLES}}"

PAGE_CSS = """
html, body { height: 100%; margin: 0; }
.hbm-x-bar { position: fixed; left: 0; right: 0; z-index: 1000; text-align: center; font-weight: 700;
  letter-spacing: 1px; background: #641e16; color: #fff; font-size: 14px; padding: 2px 0; }
.hbm-x-top { top: 0; } .hbm-x-bottom { bottom: 0; }
.hbm-x-head { position: fixed; top: 22px; left: 0; right: 0; z-index: 1000; background: var(--panel);
  border-bottom: 1px solid var(--line); padding: 4px 12px; height: 47px; overflow: hidden; }
.hbm-x-head h1 { font-size: 18px; margin: 0; }
.hbm-x-head div { font-size: 13px; color: var(--muted); white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.folium-map { position: absolute !important; top: 78px !important; bottom: 22px !important; left: 0 !important;
  right: 0 !important; height: auto !important; width: auto !important; }
.hbm-x-legend { position: fixed; right: 10px; bottom: 48px; z-index: 1000; max-height: 55vh; overflow-y: auto;
  background: rgba(17, 26, 36, 0.92); border: 1px solid var(--line); padding: 8px 10px; width: 270px; }
.hbm-x-legend summary { cursor: pointer; font-weight: 700; }
.hbm-x-legend ul { margin: 4px 0 0 16px; padding: 0; font-size: 12px; }
.leaflet-popup-content td { padding: 1px 4px; vertical-align: top; }
.leaflet-popup-content td:first-child { color: #555; }
.folium-map { direction: ltr; }
[dir=rtl] .hbm-x-legend { right: auto; left: 10px; direction: rtl; }
[dir=rtl] .hbm-x-legend ul { margin: 4px 16px 0 0; }
[dir=rtl] .leaflet-popup-content, [dir=rtl] .leaflet-control-layers { direction: rtl; text-align: right; }
"""

# Popups list the same labelled fields, in the same order, as the live details panel (layers/labels.py);
# ids and style keys are never shown. Values are set as text, never as HTML.
POPUP_JS = """function (feature, layer) {
  var p = feature.properties || {}, fields = %s, values = %s, probs = %s, tz = %s;
  var box = document.createElement("div"), title = document.createElement("b");
  title.textContent = p.name || (p.cell ? %s + " " + p.cell : %s);
  box.appendChild(title);
  var table = document.createElement("table");
  function show(k, v) {
    if (v === null || v === undefined || v === "") return "\\u2014";
    if (values[k] && values[k][v]) return values[k][v];
    if (typeof v === "number") {
      return probs.indexOf(k) >= 0 ? v.toFixed(3) : v.toLocaleString("en-US", {maximumFractionDigits: 1});
    }
    if (typeof v === "string" && /^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d/.test(v)) {
      var d = new Date(v);
      if (!isNaN(d)) {
        return d.toLocaleString(tz[2], {timeZone: tz[0], day: "2-digit", month: "short", year: "numeric",
          hour: "2-digit", minute: "2-digit", hour12: false}) + " " + tz[1];
      }
    }
    return String(v);
  }
  fields.forEach(function (f) {
    if (!(f[0] in p)) return;
    var tr = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
    a.textContent = f[1];
    b.textContent = show(f[0], p[f[0]]);
    tr.appendChild(a); tr.appendChild(b); table.appendChild(tr);
  });
  box.appendChild(table);
  layer.bindPopup(box);
}"""


def popup_js(layer: str, title: str) -> str:
    """Return the popup function of ``layer``'s features in the offline HTML (labels from layers/labels.py)."""
    zone = display_zone()
    now = datetime.now(UTC)
    tz_name = getattr(zone, "key", "UTC")
    fields = [(key, _(label)) for key, label in FIELDS.get(layer, ())]
    codes = {key: {code: value_label(code) for code in I18N_VALUES} for key in CODE_KEYS}  # statuses, modes …
    values = codes | {key: {code: _(label) for code, label in labels.items()} for key, labels in VALUE_LABELS.items()}
    locale = {"en": "en-GB"}.get(current_language(), current_language())
    args = (fields, values, sorted(PROBABILITIES), (tz_name, zone_suffix(now, zone), locale), _("H3 cell"), title)
    return POPUP_JS % tuple(json.dumps(a).replace("</", "<\\/") for a in args)


@lru_cache(maxsize=1)
def _leaflet() -> tuple[str, str]:
    js = (VENDOR / "leaflet.js").read_text(encoding="utf-8")
    css = (VENDOR / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        image = VENDOR / "images" / match.group(1)
        if not image.exists():
            return "none"
        return "url(data:image/png;base64," + base64.b64encode(image.read_bytes()).decode("ascii") + ")"

    return js, re.sub(r"url\(images/([\w.-]+)\)", inline, css)


@lru_cache(maxsize=1)
def _dashboard_assets() -> tuple[str, str]:
    # The live map's style functions and stylesheet: one definition of how features look.
    spec = importlib.util.find_spec("dashboard")
    if spec is None or not spec.submodule_search_locations:
        raise HbmError("the dashboard package (its assets style the HTML export) is not installed")
    assets = Path(list(spec.submodule_search_locations)[0]) / "assets"
    # context.js first, as Dash loads assets in name order: hbm.js keeps what it defined.
    js = "\n".join((assets / name).read_text(encoding="utf-8") for name in ("context.js", "hbm.js"))
    css = "\n".join((assets / name).read_text(encoding="utf-8") for name in ("context.css", "hbm.css"))
    return js, css


def _script(source: str) -> str:
    return "<script>" + source.replace("</script", "<\\/script") + "</script>"


def _style(source: str) -> str:
    return "<style>" + source.replace("</style", "<\\/style") + "</style>"


def basemap_for_view(extent: BBox) -> dict[str, Any]:
    """Return the bundled basemap simplified for the View: full detail near ``extent``, coarse elsewhere."""
    w, s, e, n = extent
    pad = max(e - w, n - s)
    region = (max(-180.0, w - pad), max(-90.0, s - pad), min(180.0, e + pad), min(90.0, n + pad))
    return basemap_geojson(tuple(round(v, 4) for v in region))  # type: ignore[arg-type]


def _swatch(style: dict[str, Any]) -> str:
    if style.get("line"):
        css = f"height:{style.get('weight', 3)}px;background:{dash_gradient(style['color'], style.get('dashArray'))}"
        return f'<span class="sw-line" style="{html.escape(css)}"></span>'
    if style.get("outline"):
        css = f"border:1px dashed {style.get('color', '#ccc')};background:transparent"
        return f'<span class="sw" style="{html.escape(css)}"></span>'
    shape = style.get("shape")
    cls = f"sw sw-{shape}" if shape else "sw"
    fill = style.get("fillColor", "#ccc")
    if "fillOpacity" in style:
        fill = translucent(fill, float(style["fillOpacity"]))
    return f'<span class="{cls}" style="background:{html.escape(fill)}"></span>'


def legend_html(data: ExportData) -> str:
    """Return the legend of the visible layers, built from the same styles as the map (text escaped)."""
    sections = []
    for title, entries in data.legend():
        rows = "".join(
            f'<div class="hbm-legend-row">{_swatch(style)}<span>{html.escape(label)}</span></div>'
            for label, style in entries
        )
        sections.append(f'<div class="hbm-legend-section"><h4>{html.escape(title)}</h4>{rows}</div>')
    filters = "".join(f"<li>{html.escape(line)}</li>" for line in data.filter_lines())
    return (
        '<div class="hbm-x-legend" id="hbm-legend"><details open><summary>'
        + html.escape(_("Legend"))
        + "</summary>"
        + ("".join(sections) or "<p>" + html.escape(_("No layers shown")) + "</p>")
        + "</details><details><summary>"
        + html.escape(_("Filters"))
        + f"</summary><ul>{filters}</ul></details></div>"
    )


def _head(data: ExportData) -> str:
    marking = html.escape(data.marking)
    sub = _("Window: {window} · Data as of {as_of}").format(window=data.window_text(), as_of=data.as_of_text())
    synthetic = " · " + _("All data shown is SYNTHETIC (demo generator).") if data.synthetic else ""
    source = _("Source: {source}").format(source=data.source_note)
    return (
        f'<div class="hbm-x-bar hbm-x-top" id="hbm-marking">{marking}</div>'
        f'<div class="hbm-x-head"><h1>{html.escape(data.title)}</h1>'
        f"<div>{html.escape(sub + synthetic)} · {html.escape(source)}</div></div>"
        f'<div class="hbm-x-bar hbm-x-bottom">{marking}</div>'
    )


def _add_context(fmap: folium.Map, extent: BBox) -> None:
    """Add the live map's offline context: lakes, rivers, country names and towns (shown by zoom)."""
    w, s, e, n = extent
    region = (round(w, 4), round(s, 4), round(e, 4), round(n, 4))
    for pane, z in CONTEXT_PANES.items():
        CustomPane(pane, z_index=z, pointer_events=False).add_to(fmap)
    for title, collection, style in (
        ("Lakes", lakes_geojson(region), "lakeStyle"),
        ("Rivers", rivers_geojson(region), "riverStyle"),
    ):
        folium.GeoJson(
            collection,
            name=title,
            control=False,
            interactive=False,
            style=JsCode(f"function () {{ return hbm.{style}(); }}"),
        ).add_to(fmap)
    for title, collection, fn in (
        ("Country names", country_labels_geojson(region), "countryLabel"),
        ("Towns", places_geojson(region), "placePoint"),
    ):
        folium.GeoJson(
            collection,
            name=title,
            control=False,
            attribution=html.escape(_(CONTEXT_ATTRIBUTION)) if fn == "placePoint" else None,
            pointToLayer=JsCode(f"function (f, latlng) {{ return hbm.{fn}(f, latlng); }}"),
        ).add_to(fmap)


def build_map(data: ExportData) -> folium.Map:
    """Return the folium map: bundled basemap, the visible layers with popups, a layer control."""
    w, s, e, n = data.extent
    fmap = folium.Map(
        location=[(s + n) / 2, (w + e) / 2],
        zoom_start=int(data.view.zoom),
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
    )
    fmap.default_js, fmap.default_css = [], []  # no CDN: Leaflet is inlined below
    root = cast(Figure, fmap.get_root())
    leaflet_js, leaflet_css = _leaflet()
    hbm_js, hbm_css = _dashboard_assets()
    root.header.add_child(Element(_style(leaflet_css) + _style(hbm_css) + _style(PAGE_CSS)), name="hbm_css")
    styles = json.dumps(STYLES).replace("</", "<\\/")
    root.header.add_child(
        Element(_script(leaflet_js) + _script(hbm_js) + f"<script>var HBM_STYLES = {styles};</script>"),
        name="hbm_js",
    )
    folium.GeoJson(
        basemap_for_view(data.extent),
        name=_("Country boundaries"),
        control=False,
        interactive=False,
        attribution=html.escape(_(ATTRIBUTION)),
        style=JsCode("function () { return hbm.basemapStyle(); }"),
    ).add_to(fmap)
    _add_context(fmap, data.extent)
    for name, frame in data.layers.items():
        options: dict[str, Any] = {
            "style": JsCode(
                f"function (f) {{ return Object.assign({{className: 'hbm-f hbm-f-{name}'}}, hbm.style(f, {CTX})); }}"
            )
        }
        if name == "crossing_points":
            options["pointToLayer"] = JsCode(f"function (f, latlng) {{ return hbm.crossingPoint(f, latlng, {CTX}); }}")
        folium.GeoJson(
            json.loads(frame.to_json(na="null", drop_id=True)),
            name=data.layer_title(name),
            on_each_feature=JsCode(popup_js(name, data.layer_title(name))),
            **options,
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds([[s, w], [n, e]])
    root.html.add_child(Element(_head(data) + legend_html(data)), name="hbm_page")
    root.title = data.title
    return fmap


def check_offline(page: str) -> None:
    """Raise HbmError if the page would load any script or stylesheet from the network."""
    match = EXTERNAL.search(page)
    if match:
        raise HbmError(f"the HTML export would load {match.group(0)[:80]!r} from the network")


def write_html(data: ExportData, path: Path) -> list[Path]:
    """Write the self-contained offline HTML map; return the files written."""
    page = build_map(data).get_root().render()
    lang = current_language()
    page = re.sub(r"<html[^>]*>", f'<html lang="{lang}" dir="{text_direction(lang)}">', page, count=1)
    check_offline(page)
    path.write_text(page, encoding="utf-8")
    return [path]
