/* Geographic context and label placement for the live map and the offline HTML export.

   - hbm.placePoint / hbm.countryLabel: town and country labels (GeoJSON pointToLayer), shown by zoom.
   - hbm.declutter: collision-based label placement. Labels are placed greedily in priority order
     (crossing points by kind and flow, then towns by population, then countries); each tries the
     sides right, left, top, bottom and is hidden when every side would overlap a label already
     placed or a crossing-point marker. Runs after every zoom, pan, resize and layer change.
   - hbm.pmtilesLayer: an operator's PMTiles archive (HBM_BASEMAP_PMTILES), drawn by the vendored
     pmtiles / protomaps-leaflet libraries, loaded from the app itself only when configured.
   Names are set as text content, never as HTML. */
window.hbm = Object.assign(window.hbm || {}, (function () {
  var KIND_RANK = {official: 3, dtm: 2, informal: 1};
  var SIDES = ["right", "left", "top", "bottom"];
  var PAD = 2;  // px kept clear around every label

  function kindOf(feature) {
    var p = feature.properties || {};
    if (p.kind) return p.kind;
    var s = String(p._s || "").split(":");
    return s.length > 1 ? s[1] : "";
  }

  function crossingPriority(feature) {
    var p = feature.properties || {};
    var flow = Number(p.people_24h || p.events_24h || 0) || 0;
    var capacity = Number(p.capacity_per_day || 0) || 0;
    // Kind first (official > DTM > informal), then flow, then capacity: always below 1e6 per tier.
    return 3e6 + (KIND_RANK[kindOf(feature)] || 0) * 1e6 + Math.min(flow, 9e5) * 1 + Math.min(capacity, 9e4) / 1e5;
  }

  function overlaps(a, b) {
    return a.left < b.right + PAD && b.left < a.right + PAD && a.top < b.bottom + PAD && b.top < a.bottom + PAD;
  }

  function visibleBox(el) {
    var r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height};
  }

  function setSide(item, side) {
    if (item.tooltip) {
      var gap = item.gap;
      var offsets = {right: [gap, 0], left: [-gap, 0], top: [0, -gap], bottom: [0, gap]};
      item.tooltip.options.direction = side;
      item.tooltip.options.offset = offsets[side];
      item.tooltip.update();
    } else {
      item.el.className = item.base + " lbl-" + side;
    }
  }

  function declutter(map) {
    try {
      place(map);
    } finally {
      map._hbmDeclutterRuns = (map._hbmDeclutterRuns || 0) + 1;
    }
  }

  function place(map) {
    var zoom = map.getZoom(), items = [], obstacles = [];
    var near = map.getBounds().pad(0.25);  // labels far off screen are not measured (fast with 600 towns)
    map.eachLayer(function (layer) {
      var info = layer.hbmLabel;
      if (!info) return;
      var onScreen = !layer.getLatLng || near.contains(layer.getLatLng());
      if (info.kind === "crossing") {
        if (!onScreen) return;
        var icon = layer.getElement && layer.getElement();
        if (icon) obstacles.push({box: visibleBox(icon), owner: layer});
        var tt = layer.getTooltip && layer.getTooltip();
        var el = tt && tt.getElement && tt.getElement();
        if (el) items.push({layer: layer, el: el, tooltip: tt, gap: info.gap, priority: info.priority});
      } else {
        var lab = layer.hbmLabelEl;
        if (!lab) return;
        var shown = onScreen && zoom >= (info.minzoom || 0) && zoom <= (info.maxzoom === undefined ? 99 : info.maxzoom);
        var root = layer.getElement && layer.getElement();
        if (root) root.style.display = shown ? "" : "none";
        if (root) root.style.visibility = "";
        if (shown) items.push({layer: layer, el: lab, root: root, base: info.base, priority: info.priority});
      }
    });
    items.sort(function (a, b) { return b.priority - a.priority; });
    var placed = [];
    items.forEach(function (item) {
      item.el.style.visibility = "";
      var ok = false;
      for (var i = 0; i < SIDES.length && !ok; i++) {
        setSide(item, SIDES[i]);
        var box = visibleBox(item.el);
        ok = box.width > 0 && !placed.some(function (p) { return overlaps(box, p); }) &&
          !obstacles.some(function (o) { return o.owner !== item.layer && overlaps(box, o.box); });
        if (ok) placed.push(box);
      }
      if (!ok) {
        setSide(item, SIDES[0]);
        item.el.style.visibility = "hidden";
        if (item.root) item.root.style.visibility = "hidden";  // a town whose name can't be shown: no bare dot
      }
      item.el.setAttribute("data-hbm-shown", ok ? "1" : "0");
    });
  }

  function watch(map) {
    if (!map || map._hbmDeclutter) return;
    var timer = null;
    var run = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { declutter(map); }, 60);
    };
    map._hbmDeclutter = run;
    window.hbm.maps = (window.hbm.maps || []).concat([map]);
    map.on("zoomend moveend resize layeradd layerremove overlayadd overlayremove", run);
    run();
  }

  function labelled(marker, info) {
    marker.hbmLabel = info;
    marker.on("add", function () {
      watch(marker._map);
      if (marker._map && marker._map._hbmDeclutter) marker._map._hbmDeclutter();
    });
    return marker;
  }

  function textMarker(latlng, name, cls, dot, pane) {
    var box = document.createElement("div");
    if (dot) {
      var d = document.createElement("span");
      d.className = "place-dot";
      box.appendChild(d);
    }
    var label = document.createElement("span");
    label.className = cls + " lbl-right";
    label.textContent = name || "";
    box.appendChild(label);
    var marker = L.marker(latlng, {
      icon: L.divIcon({className: "hbm-ctx-icon", html: box, iconSize: [0, 0], iconAnchor: [0, 0]}),
      interactive: false,
      keyboard: false,
      pane: pane
    });
    marker.hbmLabelEl = label;
    return marker;
  }

  function loadScript(src, done) {
    var found = document.querySelector('script[data-hbm-src="' + src + '"]');
    if (found) {
      if (found.getAttribute("data-loaded")) done(); else found.addEventListener("load", done);
      return;
    }
    var s = document.createElement("script");
    s.src = src;
    s.setAttribute("data-hbm-src", src);
    s.addEventListener("load", function () { s.setAttribute("data-loaded", "1"); done(); });
    document.head.appendChild(s);
  }

  return {
    // Same colours as layers/exports/styling.py LAKE and RIVER (the PDF).
    lakeStyle: function () {
      return {color: "#3b7fb4", weight: 1, fillColor: "#1d5a8a", fillOpacity: 1, opacity: 1};
    },
    riverStyle: function () {
      return {color: "#3b7fb4", weight: 1.2, opacity: 0.8, fill: false};
    },
    crossingLabelled: function (marker, feature, size) {
      return labelled(marker, {kind: "crossing", priority: crossingPriority(feature), gap: size / 2 + 2});
    },
    placePoint: function (feature, latlng) {
      var p = feature.properties || {};
      var m = textMarker(latlng, p.name, "place-label", true, "hbm-places");
      return labelled(m, {kind: "place", base: "place-label", minzoom: p.minzoom,
        priority: 1e6 + Math.log10((Number(p.population) || 0) + 1) * 1e5});
    },
    countryLabel: function (feature, latlng) {
      var p = feature.properties || {};
      var m = textMarker(latlng, p.name, "country-label", false, "hbm-country-labels");
      return labelled(m, {kind: "country", base: "country-label", minzoom: 3, maxzoom: 9, priority: 1});
    },
    declutter: declutter,
    pmtilesLayer: function (feature) {
      var p = feature.properties || {};
      var group = L.layerGroup();
      loadScript(p.script, function () {
        var layer;
        if (p.vector) {
          layer = window.protomapsL.leafletLayer({url: p.url, flavor: "dark", lang: "en", attribution: p.attribution});
        } else {
          layer = window.pmtiles.leafletRasterLayer(new window.pmtiles.PMTiles(p.url), {
            attribution: p.attribution, maxNativeZoom: p.maxzoom, minZoom: 0, maxZoom: 18
          });
        }
        group.addLayer(layer);
      });
      return group;
    }
  };
})());
