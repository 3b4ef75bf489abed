// Report form enhancements. The form works without any of this: latitude and longitude can be
// typed (the page says how to find them), the contact fields hide with CSS alone, the browser's
// time zone falls back to WIB on the server, and a plain submission keeps photos across errors.
(function () {
  "use strict";

  var form = document.querySelector(".report-form");
  if (!form) { return; }

  // The server needs the browser's offset from UTC to read the local date and time.
  var offsetField = form.querySelector("input[name=utc_offset]");
  if (offsetField) { offsetField.value = String(-new Date().getTimezoneOffset()); }

  setUpContactChoice(form);
  if (window.L) { setUpMap(form); }
  setUpSending(form);
  setUpErrorLinks();

  // Browsers without :has() cannot hide the contact fields with the stylesheet alone.
  function setUpContactChoice(form) {
    if (window.CSS && CSS.supports && CSS.supports("selector(:has(*))")) { return; }
    function update() {
      var fields = form.querySelector(".contact-fields");
      var chosen = form.querySelector("input[name=reporter]:checked");
      if (fields) { fields.hidden = !chosen || chosen.value !== "contact"; }
    }
    form.addEventListener("change", function (event) {
      if (event.target.name === "reporter") { update(); }
    });
    update();
  }

  function setUpMap(form) {
    var mapDiv = document.getElementById("map");
    // Fields are looked up when used: after a refused submission the page replaces those with a
    // message (see showProblems), and the map must keep writing to the ones on the page.
    function field(id) { return document.getElementById(id); }
    var latId = mapDiv.dataset.latField, lonId = mapDiv.dataset.lonField;
    var accuracyId = mapDiv.dataset.accuracyField;
    mapDiv.hidden = false;
    document.getElementById("map-help").hidden = false;
    var noMapHelp = document.getElementById("no-map-help");
    if (noMapHelp) { noMapHelp.hidden = true; }

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
      field(latId).value = latLng.lat.toFixed(6);
      field(lonId).value = latLng.lng.toFixed(6);
      field(accuracyId).value = accuracy === null ? "" : String(Math.round(accuracy));
    }

    // A tap on a zoomed-out map is kilometres wide: place the pin, then zoom in so it can be refined.
    map.on("click", function (event) {
      place(event.latlng.lat, event.latlng.lng, false);
      if (map.getZoom() < 12) { map.setView(event.latlng, Math.min(map.getZoom() + 4, 15)); }
    });

    function fromFields() {
      var lat = parseFloat((field(latId).value || "").replace(",", "."));
      var lon = parseFloat((field(lonId).value || "").replace(",", "."));
      if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
        place(lat, lon, true);
        map.setView([lat, lon], Math.max(map.getZoom(), 14));
      }
    }
    form.addEventListener("change", function (event) {
      if (event.target.id === latId || event.target.id === lonId) { fromFields(); }
    });
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

  // Sending from the page itself, so that a failure never takes the resident away from the form:
  // with no connection or a server error the page says so in words and everything entered stays
  // (photos included); a refusal (too many reports, too large) says the server's own words; a form
  // with errors gets its messages and the photos the server now keeps, in place.
  function setUpSending(form) {
    if (!window.fetch || !window.FormData || !window.DOMParser) { return; }
    var status = document.getElementById("send-status");
    var button = form.querySelector("button[type=submit]");
    var busy = false;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      say(status, status.dataset.sending, false);
      button.setAttribute("aria-busy", "true");
      var body = new FormData(form);
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                           headers: { "Accept": "text/html" } })
        .then(function (response) {
          return response.text().then(function (html) { return answered(response, html); });
        }, function () {
          say(status, status.dataset.offline, true);
          return false;
        })
        .then(function (leaving) {
          if (!leaving) { ready(); }
        });
    });

    function ready() {
      busy = false;
      button.removeAttribute("aria-busy");
    }

    // Back from the receipt, the browser may show this page as it was left: sending, in its eyes.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        ready();
        say(status, "", false);
      }
    });

    // True when the page goes on to the receipt.
    function answered(response, html) {
      if (response.ok) {
        window.location.assign(response.url);
        return true;
      }
      if (response.status >= 500) {
        say(status, status.dataset.server, true);
        return false;
      }
      var page = new DOMParser().parseFromString(html, "text/html");
      if (page.querySelector("form.report-form")) {
        say(status, "", false);
        showProblems(form, page);
        return false;
      }
      var message = page.getElementById("error-message");
      say(status, status.dataset.refused + (message ? " " + message.textContent.trim() : ""), true);
      if (response.status === 400) { renewToken(form); }  // an expired session's token, most likely
      return false;
    }
  }

  function say(status, text, problem) {
    status.textContent = text;
    status.hidden = !text;
    status.classList.toggle("problem", !!problem);
    if (problem) { status.scrollIntoView({ block: "center" }); }
  }

  // The form came back with messages: show them and the photos the server now keeps, leaving
  // every other field (and the map) as the resident left it.
  function showProblems(form, page) {
    var problems = document.getElementById("form-problems");
    var returnedProblems = page.getElementById("form-problems");
    problems.innerHTML = returnedProblems ? returnedProblems.innerHTML : "";
    copyHiddenValues(form, page.querySelector("form.report-form"));
    var keptSlot = document.getElementById("kept-photos-slot");
    var returnedKept = page.getElementById("kept-photos-slot");
    if (keptSlot && returnedKept) { keptSlot.innerHTML = returnedKept.innerHTML; }
    // The server holds the chosen photos now: sending them again would attach them twice.
    form.querySelectorAll("input[type=file]").forEach(function (input) { input.value = ""; });
    replaceFieldsWithMessages(form, page);
    var summary = problems.querySelector(".error-summary");
    if (summary) {
      summary.focus();
      summary.scrollIntoView({ block: "start" });
    }
  }

  // A fresh form stamp, the same submission key, the CSRF token.
  function copyHiddenValues(form, returned) {
    if (!returned) { return; }
    returned.querySelectorAll("input[type=hidden][name]").forEach(function (input) {
      var mine = form.elements.namedItem(input.name);
      if (mine && mine.type === "hidden") { mine.value = input.value; }
    });
  }

  function replaceFieldsWithMessages(form, page) {
    form.querySelectorAll(".field").forEach(function (box) {
      var control = box.querySelector("input[id], select[id], textarea[id]");
      var counterpart = control && page.getElementById(control.id);
      var returnedBox = counterpart && counterpart.closest(".field");
      if (returnedBox && (box.querySelector(".field-error") || returnedBox.querySelector(".field-error"))) {
        box.replaceWith(document.importNode(returnedBox, true));
      }
    });
  }

  function renewToken(form) {
    var token = form.elements.namedItem("csrf_token");
    if (!token) { return; }
    fetch(form.action, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      var fresh = html && new DOMParser().parseFromString(html, "text/html")
        .querySelector("form.report-form input[name=csrf_token]");
      if (fresh) { token.value = fresh.value; }
    }).catch(function () { /* the next try says what happened */ });
  }

  // A link of the error summary moves to its field and puts the cursor there.
  function setUpErrorLinks() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest(".error-summary a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (target) {
        event.preventDefault();
        target.scrollIntoView({ block: "center" });
        target.focus();
      }
    });
  }
})();
