"""JavaScript snippets browser tests run in the page."""

from __future__ import annotations

PAINTED_JS = """
const canvas = document.querySelector('.leaflet-hbm-' + arguments[0] + '-pane canvas');
if (!canvas || !canvas.width) return 0;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let painted = 0;
for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
return painted;
"""


SVG_PATHS_JS = """
return document.querySelectorAll('.leaflet-hbm-' + arguments[0] + '-pane svg path').length;
"""


OPEN_EVERY_POPUP_JS = """
const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])[0];
const keep = document.createElement('div'); keep.id = 'popups'; document.body.appendChild(keep);
let n = 0;
map.eachLayer(layer => {
  if (layer.getPopup && layer.getPopup() && (layer.getLatLng || layer.getBounds)) {
    layer.openPopup();
    const content = layer.getPopup().getContent();
    if (content instanceof Node) { keep.appendChild(content.cloneNode(true)); n += 1; }
  }
});
return n;
"""
