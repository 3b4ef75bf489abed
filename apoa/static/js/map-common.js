// What the app's folium maps share: region outlines as the base map, loaded by bounding box;
// JSON loading that drops answers overtaken by a newer request; and the "ready" mark the
// browser tests and the benchmark wait for. Pages run under a CSP: no inline script but folium's
// own, which calls window.ApoaMaps.<name>(map, options).
(function () {
  "use strict";

  var ApoaMaps = window.ApoaMaps = window.ApoaMaps || {};
  var common = ApoaMaps.common = {};

  common.debounce = function (fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  };

  // "west,south,east,north" of the map's view, widened by `pad` of its size on each side so a
  // small pan needs no new request.
  common.bbox = function (map, pad) {
    var b = map.getBounds().pad(pad || 0);
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(function (v) { return v.toFixed(5); }).join(",");
  };

  common.query = function (params) {
    var search = new URLSearchParams();
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value !== null && value !== undefined && value !== "") { search.append(key, value); }
    });
    return search.toString();
  };

  // A loader for one kind of data: each call aborts the previous one still on its way, so a quick
  // series of pans draws only the last answer. Resolves with the JSON, rejects with an Error
  // whose message is the server's (or null for a network failure); an aborted call never settles.
  common.loader = function (url) {
    var current = null;
    return function (params) {
      if (current) { current.abort(); }
      var controller = current = new AbortController();
      return new Promise(function (resolve, reject) {
        fetch(url + "?" + common.query(params), {
          credentials: "same-origin", headers: { "Accept": "application/json" }, signal: controller.signal
        }).then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (controller !== current) { return; }
            if (!response.ok) {
              reject(new Error((body.error && body.error.message) || null));
            } else {
              resolve(body);
            }
          });
        }).catch(function (error) {
          if (error.name !== "AbortError" && controller === current) { reject(new Error(null)); }
        });
      });
    };
  };

  // Region outlines (provinces, then kabupaten/kota, then kecamatan as the map zooms in) drawn
  // under everything else: the base map when no tile server is configured.
  common.outlines = function (map, url) {
    var load = common.loader(url);
    var layer = L.geoJSON(null, {
      interactive: false,
      style: { color: "#475569", weight: 1, fill: true, fillColor: "#f8fafc", fillOpacity: 0.6 }
    }).addTo(map);
    var shown = { zoom: null, codes: {} };
    function refresh() {
      var zoom = map.getZoom();
      if (zoom !== shown.zoom) {
        layer.clearLayers();
        shown = { zoom: zoom, codes: {} };
      }
      load({ bbox: common.bbox(map, 0.25), zoom: zoom }).then(function (collection) {
        if (shown.zoom !== zoom) { return; }
        var fresh = (collection.features || []).filter(function (feature) {
          return !shown.codes[feature.id] && (shown.codes[feature.id] = true);
        });
        layer.addData({ type: "FeatureCollection", features: fresh });
        layer.bringToBack();
      }, function () { /* the base map is a nicety: the data layers report failures */ });
    }
    map.on("moveend", common.debounce(refresh, 150));
    refresh();
    return layer;
  };

  common.markReady = function () {
    document.documentElement.dataset.apoaMap = "ready";
  };

  common.element = function (tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  };
}());
