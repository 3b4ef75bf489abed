// The officers' map (/peta): clusters counted per grid cell by the server when zoomed out,
// reports coloured by status when zoomed in (for who may see reports), a heat layer of the last
// days, all loaded by bounding box as the map moves (apoa/maps/views.py: /peta/data.json).
// folium builds the map and calls ApoaMaps.officer(map, options); map-common.js must load first.
// Every word shown comes from options.labels (translated by the server). A request that fails
// says so in the status line, takes the clusters it can no longer vouch for off the map, and the
// next move (or the network coming back) asks again.
// For who may see foreign guests, the page carries #guest-layer (its data address and words): a
// layer, off until ticked, of the lodgings with guests staying now (/pengawasan/tamu/peta.json).
(function () {
  "use strict";

  var ApoaMaps = window.ApoaMaps = window.ApoaMaps || {};

  ApoaMaps.officer = function (map, options) {
    var common = ApoaMaps.common;
    var labels = options.labels;
    var status = document.getElementById("map-status");
    // What the layer box switches: the clusters (zoomed out) and the reports of the street tiles.
    var shown = L.layerGroup().addTo(map);
    var data = L.layerGroup().addTo(shown);
    var tiles = options.tileUrl && options.pointsZoom !== null ? pointTiles(map, options, shown, say) : null;
    // Answers of data.json that arrive after the map zoomed in to the tiles are dropped.
    var asked = 0;
    // The heat layer's script is loaded when the layer is first ticked (most views never show
    // it, and the opening page then asks for one script less).
    var heat = L.layerGroup();
    var heatReady = null;
    var loadData = common.loader(options.dataUrl);
    var loadHeat = common.loader(options.dataUrl);

    // Not animated: the first data request must already ask for the fitted view.
    if (options.fitBounds) { map.fitBounds(options.fitBounds, { animate: false }); }
    common.outlines(map, options.outlinesUrl);
    var overlays = {};
    overlays[labels.clusters] = shown;
    overlays[labels.heat] = heat;
    var guests = guestLayer(map, overlays);
    // Open on a wide screen; on a phone a button that opens on a tap, so the box never covers
    // the map (it took a third of a 360 px screen).
    L.control.layers(null, overlays, { collapsed: isNarrow(map), position: "topright" }).addTo(map);
    legend(options.states).addTo(map);

    function params(extra) {
      return Object.assign({ bbox: common.bbox(map, 0.1), zoom: map.getZoom() }, options.filters, extra || {});
    }

    function refresh() {
      rememberView(map);
      if (guests && map.hasLayer(guests.layer)) { guests.refresh(); }
      var mine = ++asked;
      if (tiles && map.getZoom() >= options.pointsZoom) {
        data.clearLayers();
        tiles.refreshStatus();
      } else {
        say(labels.loading, "loading");
        var asking = params();
        var initial = openingAnswer(asking);
        (initial ? Promise.resolve(initial) : loadData(asking)).then(function (answer) {
          if (mine !== asked) { return; }
          data.clearLayers();
          var count = answer.kind === "points" ? drawPoints(answer) : drawCells(answer);
          say(summary(answer, count), "loaded");
          common.markReady();
        }, function (error) {
          if (mine !== asked) { return; }
          data.clearLayers();
          say(failure(error, labels), "failed");
        });
      }
      if (map.hasLayer(heat)) { refreshHeat(); }
    }

    // The clusters the page came with (apoa/maps/views.py initial_data), once, when the map
    // opened at their zoom inside their box: the first drawing needs no request.
    function openingAnswer(asking) {
      var initial = options.initial;
      options.initial = null;
      if (!initial || initial.zoom !== asking.zoom) { return null; }
      var box = asking.bbox.split(",").map(Number);
      var inside = box[0] >= initial.bbox[0] && box[1] >= initial.bbox[1] &&
        box[2] <= initial.bbox[2] && box[3] <= initial.bbox[3];
      return inside ? initial.answer : null;
    }

    function heatLayer() {
      heatReady = heatReady || (L.heatLayer ? Promise.resolve() : common.loadScript(options.heatScript))
        .then(function () {
          return L.heatLayer([], { radius: 25, blur: 20, minOpacity: 0.3, max: 1 }).addTo(heat);
        });
      return heatReady;
    }

    function refreshHeat() {
      var asking = params({ layer: "heat" });
      heatLayer().then(function (layer) {
        loadHeat(asking).then(function (answer) {
          var most = Math.max.apply(null, answer.cells.map(function (c) { return c.count || 1; }).concat([1]));
          layer.setLatLngs(answer.cells.map(function (c) { return [c.lat, c.lon, (c.count || 1) / most]; }));
        }, function (error) {
          layer.setLatLngs([]);
          say(failure(error, labels), "failed");
        });
      }, function () {
        heatReady = null;
        say(labels.failed, "failed");
      });
    }

    function drawCells(answer) {
      var total = 0;
      answer.cells.forEach(function (cell) {
        total += cell.count || 0;
        var marker = L.marker([cell.lat, cell.lon], {
          icon: clusterIcon(cell, options.states, labels), title: cellTitle(cell, labels), keyboard: true
        });
        marker.bindTooltip(cellSummary(cell, options.states, labels));
        marker.on("click", function () {
          var half = answer.cell / 2;
          map.fitBounds([[cell.lat - half, cell.lon - half], [cell.lat + half, cell.lon + half]]);
        });
        data.addLayer(marker);
      });
      return total;
    }

    function drawPoints(answer) {
      pointMarkers(answer, options).forEach(function (marker) { data.addLayer(marker); });
      return answer.rows.length;
    }

    function summary(answer, count) {
      if (answer.truncated) { return labels.truncated; }
      // Cells withheld as "< 3" (for who sees aggregates only) make the total a lower bound.
      var withheld = (answer.cells || []).some(function (cell) { return cell.few; });
      if (!count && !withheld) { return labels.none; }
      var text = labels.shown.replace("%(n)s", withheld ? Math.max(count, 1) + "+" : count);
      if (answer.kind === "clusters" && options.pointsZoom !== null) { text += " " + labels.zoomIn; }
      return text;
    }

    // `state`: loading, loaded or failed (data-state, for styles and tests). A function
    // declaration: pointTiles() is handed it before this line runs.
    function say(text, state) {
      if (!status) { return; }
      status.textContent = text || "";
      status.dataset.state = state;
      status.classList.toggle("error", state === "failed");
    }

    var refreshSoon = common.debounce(refresh, 200);
    map.on("moveend", refreshSoon);
    map.on("overlayadd", function (event) {
      if (event.layer === heat) { refreshHeat(); }
      if (guests && event.layer === guests.layer) { guests.refresh(); }
    });
    window.addEventListener("online", refreshSoon);
    refresh();
  };

  // The reports at street zoom, by map tile (/peta/titik/z/x/y.json, apoa/maps/point_tiles.py):
  // Leaflet's grid asks for the tiles of the view in parallel and only for those a pan uncovers;
  // each tile's markers leave the map with the tile. A tile loaded before is kept for the page's
  // life and asked again with its ETag (the server answers 304 without rows when unchanged).
  // The status line counts the reports of the loaded tiles inside the view.
  function pointTiles(map, options, shown, say) {
    var labels = options.labels;
    var common = ApoaMaps.common;
    var query = common.query(options.filters || {});
    var held = {};      // tile address → {etag, answer}
    var onMap = {};     // tile key → {group, answer}
    var failedTiles = {};
    var PointGrid = L.GridLayer.extend({
      createTile: function (coords, done) {
        var tile = document.createElement("div");
        var key = this._tileCoordsToKey(coords);
        var controller = tile.abortController = new AbortController();
        loadTile(L.Util.template(options.tileUrl, coords), controller.signal).then(function (answer) {
          delete failedTiles[key];
          var group = L.layerGroup(pointMarkers(answer, options)).addTo(shown);
          onMap[key] = { group: group, answer: answer };
          done(null, tile);
        }, function (error) {
          if (error.name === "AbortError") { return; }
          failedTiles[key] = error;
          done(error, tile);
        });
        return tile;
      }
    });
    var grid = new PointGrid({ minZoom: options.pointsZoom, maxZoom: 19, tileSize: 256 });
    grid.on("tileunload", function (event) {
      var key = grid._tileCoordsToKey(event.coords);
      if (event.tile.abortController) { event.tile.abortController.abort(); }
      if (onMap[key]) { shown.removeLayer(onMap[key].group); delete onMap[key]; }
      delete failedTiles[key];
    });
    grid.on("loading", function () { say(labels.loading, "loading"); });
    grid.on("load", function () { refreshStatus(); common.markReady(); });
    grid.on("tileerror", function () { refreshStatus(); });
    shown.addLayer(grid);

    function loadTile(address, signal) {
      var url = address + (query ? "?" + query : "");
      var kept = held[url];
      var headers = { "Accept": "application/json" };
      if (kept) { headers["If-None-Match"] = kept.etag; }
      return fetch(url, { credentials: "same-origin", headers: headers, signal: signal }).then(function (response) {
        if (response.status === 304 && kept) { return kept.answer; }
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) { throw new Error((body.error && body.error.message) || ""); }
          var etag = response.headers.get("ETag");
          if (etag) { held[url] = { etag: etag, answer: body }; }
          return body;
        });
      }, function (error) {
        if (error.name === "AbortError") { throw error; }
        throw new Error("");
      });
    }

    // Once the tiles of the view are in: how many reports it shows, or why it shows none.
    function refreshStatus() {
      if (map.getZoom() < options.pointsZoom) { return; }
      var failed = Object.keys(failedTiles).map(function (key) { return failedTiles[key]; });
      if (failed.length) { say(failure(failed[0], labels), "failed"); return; }
      var view = map.getBounds();
      var count = 0;
      var truncated = false;
      Object.keys(onMap).forEach(function (key) {
        var entry = onMap[key];
        truncated = truncated || entry.answer.truncated;
        entry.group.eachLayer(function (marker) { if (view.contains(marker.getLatLng())) { count += 1; } });
      });
      if (truncated) { say(labels.truncated, "loaded"); return; }
      say(count ? labels.shown.replace("%(n)s", count) : labels.none, "loaded");
    }
    // After a move: tiles that failed are asked for again (the others answer 304), else the count
    // is brought up to the new view.
    return {
      refreshStatus: function () {
        if (Object.keys(failedTiles).length) {
          failedTiles = {};
          grid.redraw();
        } else if (!grid.isLoading()) {
          refreshStatus();
        }
      }
    };
  }

  // Markers for an answer of points (a tile's, or data.json's by bounding box): coloured by
  // status, the popup built from the row. A tile gives the minute a report came in (its answer
  // stays the same as time passes), data.json its age in minutes.
  var pageOpened = Date.now();
  function pointMarkers(answer, options) {
    var at = {};
    answer.columns.forEach(function (name, index) { at[name] = index; });
    var nowMinute = options.serverMinute + Math.floor((Date.now() - pageOpened) / 60000);
    return answer.rows.map(function (row) {
      var minutes = at.received_minute !== undefined ? Math.max(0, nowMinute - row[at.received_minute])
        : row[at.age_minutes];
      var point = { id: row[at.id], code: row[at.code], state: row[at.state], lat: row[at.lat],
                    lon: row[at.lon], url: answer.url + row[at.id],
                    category: (options.categories || {})[row[at.category]],
                    age: ageText(minutes, options.locale) };
      var state = options.states[point.state] || { colour: "#111827", label: point.state };
      var marker = L.circleMarker([point.lat, point.lon], {
        radius: 8, color: "#ffffff", weight: 2, fillColor: state.colour, fillOpacity: 0.9
      });
      marker.bindPopup(popup(point, state, options.labels));
      return marker;
    });
  }

  // The lodgings with foreign guests: a marker per lodging, its popup the name, the count and
  // the nationalities, and a link to the list of its guests. Null when the page has no layer.
  function guestLayer(map, overlays) {
    var holder = document.getElementById("guest-layer");
    if (!holder) { return null; }
    var common = ApoaMaps.common;
    var words = JSON.parse(holder.dataset.labels);
    var layer = L.layerGroup();
    var load = common.loader(holder.dataset.url);
    var status = document.getElementById("map-status");
    overlays[words.layer] = layer;

    function refresh() {
      load({ bbox: common.bbox(map, 0.1) }).then(function (answer) {
        layer.clearLayers();
        answer.features.forEach(function (feature) { layer.addLayer(lodgingMarker(feature, words)); });
        holder.dataset.state = "loaded";
        holder.dataset.count = String(answer.features.length);
      }, function (error) {
        layer.clearLayers();
        holder.dataset.state = "failed";
        if (status) { status.textContent = failure(error, words); status.classList.add("error"); }
      });
    }
    return { layer: layer, refresh: refresh };
  }

  function lodgingMarker(feature, words) {
    var common = ApoaMaps.common;
    var place = feature.properties;
    var at = feature.geometry.coordinates;
    var marker = L.circleMarker([at[1], at[0]], {
      radius: 7 + Math.min(8, Math.round(Math.log2(place.guests + 1))), color: "#ffffff", weight: 2,
      fillColor: "#be185d", fillOpacity: 0.9
    });
    var box = common.element("div", "point-popup lodging-popup");
    box.appendChild(common.element("strong", "name", place.name));
    box.appendChild(common.element("p", "guests", words.guests.replace("%(n)s", place.guests)));
    var list = common.element("ul", "nationalities");
    place.nationalities.forEach(function (n) { list.appendChild(common.element("li", null, n.name + ": " + n.count)); });
    box.appendChild(list);
    var link = common.element("a", "open", words.open);
    link.href = place.url;
    box.appendChild(link);
    marker.bindPopup(box);
    return marker;
  }

  function isNarrow(map) {
    return map.getContainer().clientWidth < 600;
  }

  // What a failed request means to the reader: the server's reason when it gave one (a bad
  // filter, a session that ended), else that the data could not be loaded (network down, a
  // gateway's error page).
  function failure(error, labels) {
    var reason = error && error.message;
    if (!reason) { return labels.failed; }
    return labels.failedBecause.replace("%(reason)s", reason);
  }

  // "3 hari yang lalu", "kemarin", "5 minutes ago": the browser's words for the report's age in
  // the page's language. Without Intl.RelativeTimeFormat, no age rather than a wrong one.
  function ageText(minutes, locale) {
    if (typeof minutes !== "number" || !window.Intl || !Intl.RelativeTimeFormat) { return null; }
    var format = new Intl.RelativeTimeFormat(locale || undefined, { numeric: "auto" });
    var hours = Math.floor(minutes / 60);
    var days = Math.floor(hours / 24);
    if (minutes < 60) { return format.format(-minutes, "minute"); }
    if (hours < 24) { return format.format(-hours, "hour"); }
    if (days < 31) { return format.format(-days, "day"); }
    if (days < 365) { return format.format(-Math.floor(days / 30), "month"); }
    return format.format(-Math.floor(days / 365), "year");
  }

  // A round marker sized by the count, its ring split by status (a conic gradient set through
  // the CSSOM, which the CSP allows); "< 3" where the count is withheld.
  function clusterIcon(cell, states, labels) {
    var common = ApoaMaps.common;
    var size = cell.count ? Math.round(28 + 8 * Math.log10(cell.count)) : 36;
    var ring = common.element("div", "cluster-ring");
    ring.style.width = ring.style.height = size + "px";
    ring.style.background = ringGradient(cell, states);
    var label = common.element("span", "cluster-count", cell.count ? shortCount(cell.count) : "< 3");
    ring.appendChild(label);
    return L.divIcon({ html: ring, className: "cluster-icon", iconSize: [size, size] });
  }

  function ringGradient(cell, states) {
    var total = 0;
    var parts = Object.keys(states).filter(function (s) { return cell.states[s]; });
    parts.forEach(function (s) { total += cell.states[s]; });
    if (!total) { return "#64748b"; }
    var at = 0;
    var stops = parts.map(function (s) {
      var from = at;
      at += 360 * cell.states[s] / total;
      return states[s].colour + " " + from.toFixed(1) + "deg " + at.toFixed(1) + "deg";
    });
    return "conic-gradient(" + stops.join(", ") + ")";
  }

  function shortCount(n) {
    if (n >= 10000) { return Math.round(n / 1000) + "k"; }
    if (n >= 1000) { return (n / 1000).toFixed(1) + "k"; }
    return String(n);
  }

  function cellTitle(cell, labels) {
    return labels.reports + ": " + (cell.count ? cell.count : "< 3");
  }

  function cellSummary(cell, states, labels) {
    var common = ApoaMaps.common;
    var box = common.element("div", "cluster-summary");
    box.appendChild(common.element("strong", null, cellTitle(cell, labels)));
    var list = common.element("ul");
    Object.keys(states).forEach(function (s) {
      if (cell.states[s]) { list.appendChild(common.element("li", null, states[s].label + ": " + cell.states[s])); }
    });
    box.appendChild(list);
    return box;
  }

  // Code, category, status, age and the link to the report: enough to decide whether to open
  // it. Text nodes only, so nothing in a name can become markup.
  function popup(point, state, labels) {
    var common = ApoaMaps.common;
    var box = common.element("div", "point-popup");
    box.appendChild(common.element("strong", "code", point.code));
    if (point.category) { box.appendChild(common.element("p", "category", point.category)); }
    box.appendChild(common.element("p", "state", state.label));
    if (point.age) {
      box.appendChild(common.element("p", "age", labels.received.replace("%(age)s", point.age)));
    }
    var link = common.element("a", "open", labels.openReport);
    link.href = point.url;
    box.appendChild(link);
    return box;
  }

  function legend(states) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var common = ApoaMaps.common;
      var box = common.element("div", "map-legend");
      Object.keys(states).forEach(function (s) {
        var row = common.element("div", "legend-row");
        var swatch = common.element("span", "swatch");
        swatch.style.background = states[s].colour;
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(states[s].label));
        box.appendChild(row);
      });
      return box;
    };
    return control;
  }

  // The view goes into the address and the filter form, so a reload, a shared link or a new
  // filter keeps the place.
  function rememberView(map) {
    var centre = map.getCenter();
    var view = { lat: centre.lat.toFixed(5), lon: centre.lng.toFixed(5), zoom: String(map.getZoom()) };
    var url = new URL(window.location.href);
    Object.keys(view).forEach(function (key) { url.searchParams.set(key, view[key]); });
    window.history.replaceState(null, "", url.toString());
    var form = document.querySelector("form.filter-grid");
    if (!form) { return; }
    Object.keys(view).forEach(function (key) {
      var input = form.querySelector("input[type=hidden][name=" + key + "]");
      if (!input) {
        input = ApoaMaps.common.element("input");
        input.type = "hidden";
        input.name = key;
        form.appendChild(input);
      }
      input.value = view[key];
    });
  }
}());
