/* Languages (issue 12): Leaflet, leaflet-draw and Dash's inputs build some of their own text (zoom buttons,
   the layers button, the drawing toolbar and its tooltips, the dropdown's clear and the number steppers). The server puts their translations, for this page's
   language, in the hidden #hbm-i18n element; this script applies them to L.drawLocal (for text made
   later) and to the controls already on the page, whenever the map's controls change. */
(function () {
  "use strict";
  var strings = null;

  function load() {
    if (strings) { return strings; }
    var el = document.getElementById("hbm-i18n");
    if (!el) { return null; }
    var parsed = {};
    try { parsed = JSON.parse(el.getAttribute("data-strings") || "{}"); } catch (e) { parsed = {}; }
    strings = Object.keys(parsed).length ? parsed : null;  // not filled in yet: look again next time
    return strings;
  }

  function tr(text) {
    var key = (text || "").trim();
    return key && Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : null;
  }

  function patchObject(obj) {
    Object.keys(obj).forEach(function (k) {
      var v = obj[k];
      if (typeof v === "string") { var t = tr(v); if (t !== null) { obj[k] = t; } }
      else if (v && typeof v === "object") { patchObject(v); }
    });
  }

  function patchDrawLocal() {
    if (window.L && window.L.drawLocal && !window.L.drawLocal.hbmTranslated) {
      patchObject(window.L.drawLocal);
      window.L.drawLocal.hbmTranslated = true;
    }
  }

  function patchDom(root) {
    root.querySelectorAll("[title], [aria-label], [placeholder]")
      .forEach(function (el) {
        ["title", "aria-label", "placeholder"].forEach(function (name) {
          var t = tr(el.getAttribute(name));
          if (t !== null) { el.setAttribute(name, t); }
        });
      });
    root.querySelectorAll(".leaflet-draw-actions a, .leaflet-draw-tooltip span, .leaflet-draw-tooltip")
      .forEach(function (el) {
        el.childNodes.forEach(function (node) {
          if (node.nodeType === 3) { var t = tr(node.nodeValue); if (t !== null) { node.nodeValue = t; } }
        });
      });
  }

  var pending = false;
  function run() {
    pending = false;
    if (!load()) { return; }
    patchDrawLocal();
    patchDom(document);
  }

  function schedule() {
    // A timer as well as a frame: a busy or hidden page may not paint for a while.
    if (!pending) { pending = true; window.requestAnimationFrame(run); window.setTimeout(run, 50); }
  }

  function start() {
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["title", "aria-label", "placeholder"],
    });
    schedule();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
