// What the app's maps share: the base map (region outlines and names as vector tiles, the
// office's streets extract, a metric scale), added to every Leaflet map made once this file has
// run; JSON loading that drops answers overtaken by a newer request; and the "ready" mark the
// browser tests and the benchmark wait for. Pages run under a CSP: no inline script but folium's
// own, which calls window.ApoaMaps.<name>(map, options).
(function () {
  "use strict";

  var ApoaMaps = window.ApoaMaps = window.ApoaMaps || {};
  // Some pages load this file twice (folium lists it, and so does the place search): the first
  // copy set everything up, hooks included.
  if (ApoaMaps.common) { return; }
  var common = ApoaMaps.common = {};
  // Where the base map's settings are served: beside this script's own address
  // (<root>/static/js/map-common.js → <root>/tiles/base.json), for pages that do not carry them.
  var CONFIG_URL = (document.currentScript && document.currentScript.src || "/static/js/map-common.js")
    .replace(/static\/js\/map-common\.js(\?.*)?$/, "tiles/base.json");

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
  // whose message is the server's (empty for a network failure or a server that gave no reason:
  // the page then says it in its own words); an aborted call never settles.
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
              reject(new Error((body.error && body.error.message) || ""));
            } else {
              resolve(body);
            }
          });
        }).catch(function (error) {
          if (error.name !== "AbortError" && controller === current) { reject(new Error("")); }
        });
      });
    };
  };

  // officer-map.js asks for "outlines": the base map, which every map has by now, is what it gets.
  common.outlines = function (map) {
    return common.baseMap(map);
  };

  // The marks let a benchmark read, inside the page, when the map was first painted: two frames
  // after the ready sign, the frame holding the drawing has been painted.
  common.markReady = function () {
    document.documentElement.dataset.apoaMap = "ready";
    if (!window.performance || !performance.mark) { return; }
    performance.mark("apoa-map-ready");
    requestAnimationFrame(function () {
      requestAnimationFrame(function () { performance.mark("apoa-map-drawn"); });
    });
  };

  common.element = function (tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  };
  // --- the base map -------------------------------------------------------------------------------
  // With a tile server configured (APOA_TILE_URL) the pages draw its tiles themselves and the base
  // map is only the scale. Otherwise: the office's streets extract when installed, and over it the
  // region outlines and names as vector tiles from PostGIS (apoa/maps/tiles.py), drawn by the
  // VectorGrid package; VectorGrid draws no text, so the names are written here as SVG text.

  var SVG_NS = "http://www.w3.org/2000/svg";
  // The zooms of apoa/maps/basemap.py: kecamatan outlines (and the kabupaten/kota's heavier) from 11.
  var KECAMATAN_FROM_ZOOM = 11;
  var LABEL_STYLES = {
    provinsi: { size: 13, weight: 700 },
    kabupaten_kota: { size: 12, weight: 600 },
    kecamatan: { size: 11, weight: 400 },
    // Places of a vector streets extract (OpenMapTiles "place" layer), by their class.
    city: { size: 13, weight: 700 },
    town: { size: 12, weight: 600 },
    other: { size: 11, weight: 400 }
  };
  // Labels are kept this many pixels inside their tile: a neighbouring tile's land fill would
  // cover whatever crosses the edge.
  var LABEL_MARGIN = 3;
  // OpenMapTiles road classes (planetiler's and tilemaker's default schema): colour and width.
  var ROADS = {
    motorway: ["#e892a2", 3], trunk: ["#f9b29c", 3], primary: ["#fcd6a4", 2.5],
    secondary: ["#f7fabf", 2], tertiary: ["#ffffff", 2], minor: ["#ffffff", 1.5],
    service: ["#ffffff", 1], track: ["#c8b28a", 1], path: ["#b8a894", 0.8]
  };
  // The layers of a vector extract that are drawn; any other is left out (VectorGrid would draw
  // it in its default blue).
  var STREET_STYLES = {
    water: { fill: true, fillColor: "#aad3df", fillOpacity: 1, stroke: false },
    waterway: { color: "#aad3df", weight: 1 },
    building: function (properties, zoom) {
      return zoom >= 15 ? { fill: true, fillColor: "#d9d0c9", fillOpacity: 1, stroke: false } : [];
    },
    transportation: function (properties) {
      var road = ROADS[properties["class"]];
      return road ? { color: road[0], weight: road[1], lineCap: "round", lineJoin: "round" } : [];
    }
  };

  var baseLayers = new WeakMap();
  var settingsPromise = null;
  var vectorGridPromise = null;
  var mapListeners = [];
  // Every map made on this page since this file ran (the place search moves them; tests read them).
  common.maps = [];

  // fn(map) for each map of the page, made before or after this call.
  common.eachMap = function (fn) {
    common.maps.forEach(fn);
    mapListeners.push(fn);
  };

  // The base map of `map`: a layer group, filled once the settings (and VectorGrid) are there.
  common.baseMap = function (map) {
    var group = baseLayers.get(map);
    if (group) { return group; }
    group = L.layerGroup().addTo(map);
    baseLayers.set(map, group);
    addMetricScale(map);
    baseSettings().then(function (settings) {
      if (settings.tiles) { return null; }
      return vectorGridReady(settings).then(function () {
        if (settings.streets) { streetLayer(settings.streets).addTo(group); }
        regionLayer(settings.regions, !settings.streets).addTo(group);
      });
    }).catch(function () { /* the pin can still be placed, and the data layers say what failed */ });
    return group;
  };

  // folium's map adds a scale control of its own, with Leaflet's defaults: metric only, below.
  // Other maps get one here, after the script making the map has had its turn.
  function addMetricScale(map) {
    setTimeout(function () {
      var container = map.getContainer();
      if (container && !container.querySelector(".leaflet-control-scale")) {
        L.control.scale({ imperial: false }).addTo(map);
      }
    }, 0);
  }

  // The page's settings (templates/maps/_place_search.html carries them), else /tiles/base.json.
  function baseSettings() {
    settingsPromise = settingsPromise || domReady().then(function () {
      var carried = document.getElementById("apoa-base-map");
      if (carried) { return JSON.parse(carried.getAttribute("data-settings")); }
      return fetch(CONFIG_URL, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      });
    });
    return settingsPromise;
  }

  // After the deferred scripts of the page (VectorGrid among them where the page lists it).
  function domReady() {
    return new Promise(function (resolve) {
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", resolve);
      } else {
        resolve();
      }
    });
  }

  function vectorGridReady(settings) {
    vectorGridPromise = vectorGridPromise ||
      (L.VectorGrid ? Promise.resolve() : common.loadScript(settings.vectorGrid));
    return vectorGridPromise;
  }

  common.loadScript = function (src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  };

  function regionLayer(settings, fillLand) {
    var RegionTiles = L.VectorGrid.Protobuf.extend(labelledTiles("labels", { outlines: true }));
    return new RegionTiles(settings.url, {
      maxZoom: settings.maxZoom, zIndex: 2, className: "apoa-regions",
      fetchOptions: { credentials: "same-origin" },
      vectorTileLayerStyles: {
        outlines: function (properties, zoom) { return outlineStyle(properties.level, zoom, fillLand); }
      }
    });
  }

  // Without streets the land is filled (the sea stays Leaflet's grey), the coarsest level only.
  function outlineStyle(level, zoom, fillLand) {
    if (level === "kecamatan") {
      return { color: "#94a3b8", weight: 1, fill: false };
    }
    return { color: "#475569", weight: zoom >= KECAMATAN_FROM_ZOOM ? 2 : 1.2, fill: fillLand,
             fillColor: "#f8fafc", fillOpacity: 1 };
  }

  function streetLayer(settings) {
    var options = {
      minZoom: settings.minZoom, maxNativeZoom: settings.maxNativeZoom, maxZoom: 19, zIndex: 1,
      className: "apoa-streets", attribution: escapeHtml(settings.attribution || ""),
      bounds: settings.bounds ? L.latLngBounds(settings.bounds) : undefined
    };
    if (!settings.vector) { return L.tileLayer(settings.url, options); }
    var StreetTiles = L.VectorGrid.Protobuf.extend(labelledTiles("place", STREET_STYLES));
    return new StreetTiles(settings.url, L.extend(options, {
      fetchOptions: { credentials: "same-origin" }, vectorTileLayerStyles: STREET_STYLES
    }));
  }

  // A VectorGrid whose tiles carry names as points in the layer `labelLayer`: taken out of the
  // tile before VectorGrid draws it (it would draw circles), written as text once the tile is
  // drawn. Layers not in `drawn` are dropped.
  function labelledTiles(labelLayer, drawn) {
    var Protobuf = L.VectorGrid.Protobuf.prototype;
    return {
      _getVectorTilePromise: function (coords, tileBounds) {
        var pending = this._pendingLabels = this._pendingLabels || {};
        var key = this._tileCoordsToKey(coords);
        return Protobuf._getVectorTilePromise.call(this, coords, tileBounds).then(function (tile) {
          pending[key] = tile.layers[labelLayer] || null;
          Object.keys(tile.layers).forEach(function (name) {
            if (!drawn[name]) { delete tile.layers[name]; }
          });
          return tile;
        });
      },
      createTile: function (coords, done) {
        var pending = this._pendingLabels = this._pendingLabels || {};
        var key = this._tileCoordsToKey(coords);
        var size = this.getTileSize();
        var tile = Protobuf.createTile.call(this, coords, function (error, drawnTile) {
          writeLabels(tile, pending[key], size);
          delete pending[key];
          done(error, drawnTile);
        });
        return tile;
      }
    };
  }

  function writeLabels(svg, layer, size) {
    if (!layer || svg.namespaceURI !== SVG_NS) { return; }
    var scale = size.x / layer.extent;
    layer.features.forEach(function (feature) {
      var at = feature.geometry[0] && feature.geometry[0][0];
      var name = feature.properties.nama || feature.properties.name;
      if (!at || !name) { return; }
      var text = labelText(name, feature.properties);
      svg.appendChild(text);
      keepInside(text, at.x * scale, at.y * scale, size);
    });
  }

  // SVG presentation attributes, not style attributes: the CSP allows no inline style.
  function labelText(name, properties) {
    var kind = properties.level || properties["class"];
    var style = LABEL_STYLES[kind] || LABEL_STYLES.other;
    var text = document.createElementNS(SVG_NS, "text");
    text.setAttribute("class", "apoa-label apoa-label-" + (kind || "place"));
    setAttributes(text, {
      "font-size": style.size, "font-weight": style.weight, "text-anchor": "middle",
      "fill": "#1e293b", "stroke": "#ffffff", "stroke-width": 3, "stroke-linejoin": "round",
      "paint-order": "stroke"
    });
    text.appendChild(line(name, null));
    // At street zoom a kecamatan's name comes with its kabupaten/kota's.
    if (properties.parent) { text.appendChild(line(properties.parent, style.size - 1)); }
    return text;
  }

  function line(words, size) {
    var tspan = document.createElementNS(SVG_NS, "tspan");
    tspan.textContent = words;
    if (size) { setAttributes(tspan, { "dy": "1.2em", "font-size": size, "font-weight": 400 }); }
    return tspan;
  }

  function keepInside(text, x, y, size) {
    text.setAttribute("x", x);
    text.setAttribute("y", y);
    Array.prototype.forEach.call(text.childNodes, function (tspan) { tspan.setAttribute("x", x); });
    var box;
    try {
      box = text.getBBox();
    } catch (error) {
      return;  // a tile already removed from the page has no layout to measure
    }
    var dx = Math.max(0, LABEL_MARGIN - box.x) - Math.max(0, box.x + box.width - (size.x - LABEL_MARGIN));
    var dy = Math.max(0, LABEL_MARGIN - box.y) - Math.max(0, box.y + box.height - (size.y - LABEL_MARGIN));
    if (dx || dy) { text.setAttribute("transform", "translate(" + dx + " " + dy + ")"); }
  }

  function setAttributes(node, attributes) {
    Object.keys(attributes).forEach(function (name) { node.setAttribute(name, attributes[name]); });
  }

  // Leaflet shows attributions as HTML; an extract's metadata is text.
  function escapeHtml(value) {
    return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  if (window.L) {
    // folium's scale control (made with Leaflet's defaults) shows metric units only.
    L.Control.Scale.mergeOptions({ imperial: false });
    // Leaflet's hook for every map made from now on, whoever makes it (report-form.js, folium).
    L.Map.addInitHook(function () {
      var map = this;
      // The pages' scripts used to draw an opaque province outline from data-basemap, which would
      // hide these tiles: with the address taken they draw nothing of their own.
      delete map.getContainer().dataset.basemap;
      common.baseMap(map);
      common.maps.push(map);
      mapListeners.forEach(function (fn) { fn(map); });
    });
  }
}());
