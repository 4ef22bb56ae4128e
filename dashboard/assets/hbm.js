/* Style functions for dash-leaflet GeoJSON layers. Styles come from the server (layers/styles.py)
   through the GeoJSON `hideout`; features carry only a style key `_s`.
   Free text (names) is set as text content, never as HTML. */

/* Clickable layers (issue 12): with preferCanvas every pane gets its own full-size canvas, and the
   topmost canvas swallows every click, so nothing under it can be clicked. The few large shapes
   (routes, SAR zones) are drawn as SVG instead: their <svg> lets clicks through (hbm.css) except on
   the shapes themselves, so the hotspot canvas underneath still gets the rest. */
(function patchRenderers() {
  if (!window.L || !L.Map) { setTimeout(patchRenderers, 10); return; }
  var svgPanes = {"hbm-routes": true, "hbm-sar_zones": true};
  L.Map.addInitHook(function () { window.hbmMap = this; });  // the page's map, for tests and the wall mode
  var original = L.Map.prototype._createRenderer;
  L.Map.include({
    _createRenderer: function (options) {
      if (options && svgPanes[options.pane]) { return L.svg(options); }
      return original.call(this, options);
    }
  });
})();

window.hbm = Object.assign({}, window.hbm, {
  style: function (feature, context) {
    var styles = (context && context.hideout && context.hideout.styles) || {};
    return styles[feature.properties._s] || {};
  },
  basemapStyle: function () {
    return {color: "#5d6d7e", weight: 0.8, fillColor: "#1c2833", fillOpacity: 1, opacity: 0.9};
  },
  sarZone: function (feature, layer) {
    // Sector labels (AA, AB…) on the live map, so sectors can be told apart (issue 12).
    var p = feature.properties || {};
    var text = p.label || p.name;
    if (p.kind !== "sector" || !text) { return; }
    var span = document.createElement("span");
    span.textContent = text;
    layer.bindTooltip(span, {permanent: true, direction: "center", className: "sar-label hbm-sector-label"});
  },
  alertMark: function (feature, latlng) {
    // "Show on map": a ring on the alert's point, with its title (set as text, never as HTML).
    var marker = L.marker(latlng, {
      icon: L.divIcon({className: "hbm-alert-mark sev-" + (feature.properties.severity || "warning"),
                       iconSize: [34, 34], iconAnchor: [17, 17]}),
      keyboard: false, interactive: false, pane: "hbm-alert-mark"
    });
    var label = document.createElement("span");
    label.textContent = feature.properties.title || "";
    marker.bindTooltip(label, {permanent: true, direction: "top", offset: [0, -18], className: "hbm-alert-mark-label"});
    return marker;
  },
  crossingPoint: function (feature, latlng, context) {
    var styles = (context && context.hideout && context.hideout.styles) || {};
    var s = styles[feature.properties._s] || {shape: "circle", fillColor: "#95a5a6", radius: 7};
    var size = 2 * (s.radius || 7);
    var html = '<div class="cp-marker cp-' + s.shape + '" style="width:' + size + 'px;height:' + size +
      'px;background:' + s.fillColor + '"></div>';
    var marker = L.marker(latlng, {
      icon: L.divIcon({className: "cp-icon", html: html, iconSize: [size, size], iconAnchor: [size / 2, size / 2]}),
      keyboard: true,
      title: feature.properties.name || "",
      alt: feature.properties.name || ""
    });
    var label = document.createElement("span");
    label.textContent = feature.properties.name || "";
    marker.bindTooltip(label, {permanent: true, direction: "right", offset: [size / 2 + 2, 0], className: "cp-label"});
    return marker;
  }
});

/* Accessibility repairs for Dash 4 components (issue 12; axe-core found these in dcc 4.4.1):
   - RadioItems/Checklist render role="listbox" with role="option" labels that hold native inputs
     (interactive content nested in options, and a list with no name): the native radios and
     checkboxes already say everything, so the roles go and the group gets a name;
   - Dropdown's keyboard focus target is aria-hidden yet focusable: it becomes the named combobox. */
(function () {
  function repair() {
    document.querySelectorAll('.dash-options-list[role="listbox"]').forEach(function (list) {
      var named = list.closest("[data-label]");
      var isRadio = list.classList.contains("dash-radioitems");
      list.setAttribute("role", isRadio ? "radiogroup" : "group");
      var label = named ? named.getAttribute("data-label") : list.textContent.trim();
      if (label) { list.setAttribute("aria-label", label); }
      list.querySelectorAll('[role="option"]').forEach(function (option) {
        option.removeAttribute("role");
        option.removeAttribute("aria-selected");
      });
    });
    document.querySelectorAll('.dash-slider-thumb[role="slider"]:not([aria-label])').forEach(function (thumb) {
      var named = thumb.closest("[data-label]");
      thumb.setAttribute("aria-label", named ? named.getAttribute("data-label") : "slider");
    });
    document.querySelectorAll('.dash-dropdown-focus-target[aria-hidden="true"]').forEach(function (target) {
      var button = target.parentNode && target.parentNode.querySelector("button.dash-dropdown");
      target.removeAttribute("aria-hidden");
      target.setAttribute("role", "combobox");
      target.setAttribute("aria-haspopup", "listbox");
      target.setAttribute("aria-expanded", button ? button.getAttribute("aria-expanded") || "false" : "false");
      if (button && button.getAttribute("aria-labelledby")) {
        target.setAttribute("aria-labelledby", button.getAttribute("aria-labelledby"));
      }
    });
  }
  var queued = false;
  function schedule() {
    if (queued) { return; }
    queued = true;
    window.requestAnimationFrame(function () { queued = false; repair(); });
  }
  function start() {
    repair();
    new MutationObserver(schedule).observe(document.body, {childList: true, subtree: true});
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
