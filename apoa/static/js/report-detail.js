// The report page's small map: the report's point, the search radius for duplicates, and the
// nearby reports as links. Everything comes from the data-* attributes of #report-map (no inline
// script: pages run under a Content-Security-Policy). Without JavaScript the page shows the
// coordinates and a geo: link instead.
(function () {
  "use strict";

  var mapDiv = document.getElementById("report-map");
  if (!mapDiv || !window.L) { return; }

  var data = mapDiv.dataset;
  var lat = parseFloat(data.lat);
  var lon = parseFloat(data.lon);
  if (!isFinite(lat) || !isFinite(lon)) { return; }
  mapDiv.hidden = false;

  // The shared base map (region outlines and names, the streets extract, a metric scale) comes
  // with map-common.js (templates/maps/_base_map.html lists it; loaded from beside this script if not).
  var mapCommonUrl = document.currentScript.src.replace(/report-detail\.js(\?.*)?$/, "map-common.js");
  var here = L.latLng(lat, lon);
  var map = L.map(mapDiv, { zoomControl: true, scrollWheelZoom: false }).setView(here, 14);
  if (data.tiles) {
    L.tileLayer(data.tiles, { attribution: data.attribution, maxZoom: 19 }).addTo(map);
  }
  withBaseMap(map);

  var radius = parseFloat(data.radius);
  if (isFinite(radius) && radius > 0) {
    L.circle(here, { radius: radius, color: "#0b4f8a", weight: 1, fillOpacity: 0.05, interactive: false }).addTo(map);
  }
  var accuracy = parseFloat(data.accuracy);
  if (isFinite(accuracy) && accuracy > 0) {
    L.circle(here, { radius: accuracy, color: "#59636e", weight: 1, dashArray: "4 4", fill: false,
                     interactive: false }).addTo(map);
  }
  L.marker(here, { title: data.label || "", keyboard: false }).addTo(map);

  var bounds = L.latLngBounds([here]);
  nearby(data.nearby).forEach(function (point) {
    var latLng = L.latLng(point.lat, point.lon);
    var marker = L.circleMarker(latLng, { radius: 7, color: "#b42318", weight: 2, fillOpacity: 0.6 }).addTo(map);
    marker.bindPopup(link(point));
    bounds.extend(latLng);
  });
  if (bounds.isValid() && !bounds.getNorthEast().equals(bounds.getSouthWest())) {
    map.fitBounds(bounds.pad(0.6), { maxZoom: 15 });
  }

  function nearby(json) {
    try {
      var points = JSON.parse(json || "[]");
      return Array.isArray(points) ? points.filter(function (p) {
        return isFinite(p.lat) && isFinite(p.lon);
      }) : [];
    } catch (error) {
      return [];
    }
  }

  // Built as DOM nodes, never as HTML strings, so no text from a report can become markup.
  function link(point) {
    var anchor = document.createElement("a");
    anchor.href = point.url;
    anchor.textContent = point.label;
    return anchor;
  }

  function withBaseMap(map) {
    if (window.ApoaMaps && window.ApoaMaps.common) {
      window.ApoaMaps.common.baseMap(map);
      return;
    }
    var script = document.createElement("script");
    script.src = mapCommonUrl;
    script.onload = function () { window.ApoaMaps.common.baseMap(map); };
    document.head.appendChild(script);
  }
})();
