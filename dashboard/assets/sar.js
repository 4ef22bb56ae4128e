/* SAR planning: preview shading by POA, the selected-sector highlight, and sector labels.
   Labels are set as text content, never as HTML. */
window.hbmSar = Object.assign({}, window.hbmSar, {
  preview: function (feature, context) {
    var max = (context && context.hideout && context.hideout.max) || 1;
    var t = Math.max(0, Math.min(1, (feature.properties.poa || 0) / max));
    // Light yellow (low POA) to deep orange-red (highest POA in the plan).
    var r = 255, g = Math.round(237 - 170 * t), b = Math.round(160 - 140 * t);
    return {color: "#f7dc6f", weight: 1.5, dashArray: "4 3", fillColor: "rgb(" + r + "," + g + "," + b + ")",
            fillOpacity: 0.25 + 0.45 * t};
  },
  highlight: function () {
    return {color: "#ffffff", weight: 4, fill: false, opacity: 1};
  },
  label: function (feature, layer) {
    var text = feature.properties && feature.properties.label;
    if (!text) { return; }
    var span = document.createElement("span");
    span.textContent = text;
    layer.bindTooltip(span, {permanent: true, direction: "center", className: "sar-label"});
  }
});
