// Report form enhancements. The form works without any of this: latitude and longitude can be
// typed, and the browser's time zone falls back to WIB on the server.
(function () {
  "use strict";

  var form = document.querySelector(".report-form");
  if (!form) { return; }

  // The server needs the browser's offset from UTC to read the local date and time.
  var offsetField = form.querySelector("input[name=utc_offset]");
  if (offsetField) { offsetField.value = String(-new Date().getTimezoneOffset()); }

  setUpContactChoice(form);
  if (window.L) { setUpMap(form); }

  function setUpContactChoice(form) {
    var fields = form.querySelector(".contact-fields");
    var radios = form.querySelectorAll("input[name=reporter]");
    function update() {
      var chosen = form.querySelector("input[name=reporter]:checked");
      fields.hidden = !chosen || chosen.value !== "contact";
    }
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  }

  function setUpMap(form) {
    var mapDiv = document.getElementById("map");
    var latField = document.getElementById(mapDiv.dataset.latField);
    var lonField = document.getElementById(mapDiv.dataset.lonField);
    var accuracyField = document.getElementById(mapDiv.dataset.accuracyField);
    mapDiv.hidden = false;
    document.getElementById("map-help").hidden = false;

    // No tiles by default: an outline of Indonesia drawn from the app's own data is the base map.
    var map = L.map(mapDiv, { zoomControl: true }).setView([-2.5, 118], 4);
    if (mapDiv.dataset.tiles) {
      L.tileLayer(mapDiv.dataset.tiles, { attribution: mapDiv.dataset.attribution, maxZoom: 19 }).addTo(map);
    } else {
      loadBaseMap(map, mapDiv.dataset.basemap);
    }
    var marker = null;

    function place(lat, lon, fromField) {
      var latLng = L.latLng(lat, lon);
      if (!marker) {
        marker = L.marker(latLng, { draggable: true, keyboard: true, title: mapDiv.dataset.dragLabel }).addTo(map);
        marker.on("dragend", function () { write(marker.getLatLng(), null); });
      } else {
        marker.setLatLng(latLng);
      }
      if (!fromField) { write(latLng, null); }
    }

    function write(latLng, accuracy) {
      latField.value = latLng.lat.toFixed(6);
      lonField.value = latLng.lng.toFixed(6);
      accuracyField.value = accuracy === null ? "" : String(Math.round(accuracy));
    }

    // A tap on a zoomed-out map is kilometres wide: place the pin, then zoom in so it can be refined.
    map.on("click", function (event) {
      place(event.latlng.lat, event.latlng.lng, false);
      if (map.getZoom() < 12) { map.setView(event.latlng, Math.min(map.getZoom() + 4, 15)); }
    });

    function fromFields() {
      var lat = parseFloat((latField.value || "").replace(",", "."));
      var lon = parseFloat((lonField.value || "").replace(",", "."));
      if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
        place(lat, lon, true);
        map.setView([lat, lon], Math.max(map.getZoom(), 14));
      }
    }
    latField.addEventListener("change", fromFields);
    lonField.addEventListener("change", fromFields);
    fromFields();

    var locateButton = document.getElementById("locate-me");
    var status = document.getElementById("locate-status");
    if (navigator.geolocation) {
      locateButton.hidden = false;
      locateButton.addEventListener("click", function () {
        status.textContent = locateButton.dataset.waiting || "…";
        navigator.geolocation.getCurrentPosition(function (position) {
          var c = position.coords;
          place(c.latitude, c.longitude, true);
          write(L.latLng(c.latitude, c.longitude), c.accuracy);
          map.setView([c.latitude, c.longitude], 16);
          status.textContent = "± " + Math.round(c.accuracy) + " m";
        }, function () {
          status.textContent = locateButton.dataset.failed || "";
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    }
  }

  function loadBaseMap(map, url) {
    if (!url) { return; }
    fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (data) {
        L.geoJSON(data, { style: { color: "#0b4f8a", weight: 1, fillColor: "#e8f0f8", fillOpacity: 1 },
                          interactive: false }).addTo(map);
      }
    }).catch(function () { /* the map still works for placing a pin without outlines */ });
  }
})();
