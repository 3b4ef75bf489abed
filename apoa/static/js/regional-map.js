// The regional heads' choropleth (/peta/wilayah). folium builds the Leaflet map and hands it to
// ApoaMaps.regional(map, options) (apoa/maps/page.py Behaviour); this script loads the areas in
// view from options.dataUrl as the user pans and zooms (debounced, stale requests aborted), colours
// them by band (the colours live in css/regional.css), and keeps a legend. The server decides the
// bands and never sends the number of an area under 3 reports, nor of one whose count it withholds
// beside them ("–", for who sees aggregates only): this script only shows labels.
// A request that fails says so in words in the status line above the map (texts from the page),
// takes the areas it can no longer vouch for off the map, and the next move (or the network
// coming back) tries again.
// Another layer than the reports (an indicator or a rate, apoa/indicators/layers.py) comes with
// body.layer: its title, tooltip and the line naming its year and source, and legend entries
// that carry their own note; the legend shows them instead of the reports' texts.
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;

  window.ApoaMaps = window.ApoaMaps || {};

  window.ApoaMaps.regional = function (map, options) {
    var text = options.text || {};
    var status = document.getElementById(options.statusId);
    // SVG (not the map's canvas): each area is a path the stylesheet colours by its band class.
    var renderer = L.svg({ padding: 0.3 });
    var legend = legendControl(text).addTo(map);
    var areas = null;
    var timer = null;
    var pending = null;
    var drawn = false;

    if (options.basemapUrl) { loadBaseMap(map, options.basemapUrl); }
    // Fitted before listening, without animation: the first request already asks for the
    // jurisdiction's view, not folium's starting one.
    if (options.bounds) { map.fitBounds(options.bounds, { animate: false }); }
    map.on("moveend", schedule);
    window.addEventListener("online", schedule);
    load();

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(load, DEBOUNCE_MS);
    }

    function load() {
      window.clearTimeout(timer);
      if (pending) { pending.abort(); }
      var controller = new AbortController();
      pending = controller;
      map.getContainer().setAttribute("aria-busy", "true");
      fetch(dataUrl(), { signal: controller.signal, credentials: "same-origin",
                         headers: { Accept: "application/json" } })
        .then(readJson)
        .then(function (body) {
          if (pending !== controller) { return; }
          draw(body);
          showError(null);
        })
        .catch(function (error) {
          if (error.name === "AbortError" || pending !== controller) { return; }
          forget();
          showError(error.fromServer ? error.message : text.error);
        })
        .then(function () {
          if (pending === controller) {
            pending = null;
            map.getContainer().removeAttribute("aria-busy");
          }
        });
    }

    function dataUrl() {
      var b = map.getBounds();
      var params = new URLSearchParams(options.query || {});
      params.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
        .map(function (n) { return n.toFixed(4); }).join(","));
      params.set("zoom", String(Math.round(map.getZoom())));
      return options.dataUrl + "?" + params.toString();
    }

    // An answer that is not 2xx is a failure, with the server's own words when it gave some
    // (a network failure's TypeError has only the browser's, which are not for the user).
    function readJson(response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var message = body && body.error && body.error.message;
          var failure = new Error(message ? text.error + " " + message : text.error);
          failure.fromServer = true;
          throw failure;
        }
        return body;
      });
    }

    // Areas and legend drawn from an earlier answer no longer match the view: off the map.
    function forget() {
      if (areas) { map.removeLayer(areas); }
      areas = null;
      legend.update([], null);
    }

    function draw(body) {
      var layer = L.geoJSON(body.areas, {
        renderer: renderer,
        style: function (feature) {
          return { className: "apoa-area apoa-band-" + feature.properties.band,
                   color: "#3d4650", weight: 1, opacity: 0.8, fillOpacity: 0.75 };
        },
        onEachFeature: function (feature, area) {
          area.bindTooltip(tooltip(feature.properties, body.layer), { sticky: true });
        }
      });
      if (areas) { map.removeLayer(areas); }
      areas = layer.addTo(map);
      legend.update(body.legend || [], body.layer || null);
      if (!drawn) {
        drawn = true;
        document.documentElement.dataset.apoaMap = "ready";
      }
    }

    // A DOM node, never an HTML string: region names cannot become markup.
    function tooltip(properties, layer) {
      var span = document.createElement("span");
      span.textContent = ((layer && layer.tooltip) || text.tooltip || "%(name)s: %(count)s")
        .replace("%(name)s", properties.nama).replace("%(count)s", properties.label);
      return span;
    }

    function showError(message) {
      if (!status) { return; }
      status.textContent = message || "";
      status.hidden = !message;
    }
  };

  function legendControl(text) {
    var control = L.control({ position: "bottomright" });
    var box = null;
    control.onAdd = function () {
      box = L.DomUtil.create("div", "apoa-legend");
      box.hidden = true;      // until the first answer brings its entries
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    control.update = function (entries, layer) {
      while (box.firstChild) { box.removeChild(box.firstChild); }
      box.hidden = !entries.length;
      if (!entries.length) { return; }
      var title = L.DomUtil.create("p", "apoa-legend-title", box);
      title.textContent = (layer && layer.title) || text.legendTitle || "";
      var list = L.DomUtil.create("ul", "", box);
      entries.forEach(function (entry) {
        var item = L.DomUtil.create("li", "", list);
        L.DomUtil.create("span", "apoa-swatch apoa-band-" + entry.band, item).setAttribute("aria-hidden", "true");
        var label = L.DomUtil.create("span", "", item);
        var note = entry.note || (layer ? null : entry.band === 0 ? text.legendNote
          : entry.band === "none" ? text.legendNone : null);
        label.textContent = note ? entry.label + " (" + note + ")" : entry.label;
      });
      if (layer && layer.sourceLine) {
        L.DomUtil.create("p", "apoa-legend-source", box).textContent = layer.sourceLine;
      }
    };
    return control;
  }

  // The provinces' outlines under the areas when no tile server is configured: bearings beyond
  // the jurisdiction. Decorative, so a failure to load them is not reported.
  function loadBaseMap(map, url) {
    var pane = map.createPane("apoa-basemap");
    pane.style.zIndex = 250;
    pane.style.pointerEvents = "none";
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (outlines) {
        if (!outlines) { return; }
        L.geoJSON(outlines, { pane: "apoa-basemap", interactive: false,
                              renderer: L.canvas({ pane: "apoa-basemap" }),
                              style: { color: "#8c959f", weight: 1, fillColor: "#fbfbf8", fillOpacity: 1 } }).addTo(map);
      })
      .catch(function () { /* decorative */ });
  }

  // The form's dates count only for "between two dates": elsewhere they are switched off (and
  // not sent), so a date left over from earlier cannot be mistaken for the period shown.
  function linkDatesToPeriod() {
    var period = document.querySelector(".regional-filters select[name=period]");
    if (!period) { return; }
    var dates = document.querySelectorAll(".regional-filters input[type=date]");
    function sync() {
      Array.prototype.forEach.call(dates, function (input) { input.disabled = period.value !== "custom"; });
    }
    period.addEventListener("change", sync);
    sync();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", linkDatesToPeriod);
  } else {
    linkDatesToPeriod();
  }
})();
