/* Style functions for dash-leaflet GeoJSON layers. Styles come from the server (layers/styles.py)
   through the GeoJSON `hideout`; features carry only a style key `_s`.
   Free text (names) is set as text content, never as HTML. */
window.hbm = Object.assign({}, window.hbm, {
  style: function (feature, context) {
    var styles = (context && context.hideout && context.hideout.styles) || {};
    return styles[feature.properties._s] || {};
  },
  basemapStyle: function () {
    return {color: "#5d6d7e", weight: 0.8, fillColor: "#1c2833", fillOpacity: 1, opacity: 0.9};
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
      title: ""
    });
    var label = document.createElement("span");
    label.textContent = feature.properties.name || "";
    marker.bindTooltip(label, {permanent: true, direction: "right", offset: [size / 2 + 2, 0], className: "cp-label"});
    // context.js places the label where it overlaps nothing (or hides it): priority by kind and flow.
    return window.hbm.crossingLabelled ? window.hbm.crossingLabelled(marker, feature, size) : marker;
  }
});
