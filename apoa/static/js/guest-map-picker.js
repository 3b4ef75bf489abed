// The organisation's place on a map: tap or drag the pin and the latitude and longitude fields
// follow; type them and the pin follows. Without JavaScript (or Leaflet) the map stays hidden and
// the page explains how to type the coordinates. map-common.js gives the map its base layers.
(function () {
  "use strict";

  var mapDiv = document.getElementById("org-map");
  if (!mapDiv || !window.L) { return; }
  var form = mapDiv.closest("form");
  var latField = document.getElementById(mapDiv.dataset.latField);
  var lonField = document.getElementById(mapDiv.dataset.lonField);
  mapDiv.hidden = false;
  document.getElementById("org-map-help").hidden = false;
  var help = document.getElementById("org-no-map-help");
  if (help) { help.hidden = true; }

  var map = L.map(mapDiv, { zoomControl: true }).setView([-2.5, 118], 4);
  if (mapDiv.dataset.tiles) {
    L.tileLayer(mapDiv.dataset.tiles, { attribution: mapDiv.dataset.attribution, maxZoom: 19 }).addTo(map);
  }
  var marker = null;

  function place(lat, lon, write) {
    var latLng = L.latLng(lat, lon);
    if (!marker) {
      marker = L.marker(latLng, { draggable: true, keyboard: true, title: mapDiv.dataset.dragLabel }).addTo(map);
      marker.on("dragend", function () { writeFields(marker.getLatLng()); });
    } else {
      marker.setLatLng(latLng);
    }
    if (write) { writeFields(latLng); }
  }

  function writeFields(latLng) {
    latField.value = latLng.lat.toFixed(6);
    lonField.value = latLng.lng.toFixed(6);
  }

  map.on("click", function (event) {
    place(event.latlng.lat, event.latlng.lng, true);
    if (map.getZoom() < 12) { map.setView(event.latlng, Math.min(map.getZoom() + 4, 15)); }
  });

  function fromFields() {
    var lat = parseFloat((latField.value || "").replace(",", "."));
    var lon = parseFloat((lonField.value || "").replace(",", "."));
    if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
      place(lat, lon, false);
      map.setView([lat, lon], Math.max(map.getZoom(), 15));
    }
  }
  form.addEventListener("change", function (event) {
    if (event.target === latField || event.target === lonField) { fromFields(); }
  });
  fromFields();
}());
