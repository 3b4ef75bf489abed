// The report form's service worker (served at /sw.js by apoa/reports/offline.py, scope "/").
//
// It keeps what the form needs to open without a connection: the form page itself (network
// first, this copy when the network fails), and the app's scripts, styles, the Leaflet files and
// the base map's tiles and outlines (from this copy at once, refreshed in the background). Nothing
// else is ever kept: no staff page, no /api/, no status or receipt page, no answer marked
// no-store (a page for someone signed in). On a Background Sync it sends the reports waiting in
// the phone's queue (offline-queue.js, shared with the page).
"use strict";

importScripts("/static/js/offline-queue.js");

// A new name for each change of what is kept or how: the old copies are deleted on activation.
var CACHE = "apoa-form-v1";
var CACHE_PREFIX = "apoa-form-";
var FORM_PATH = "/lapor";
var NETWORK_WAIT_MS = 10000;
// Public files, the same for everyone, that the form's page loads.
var KEPT_FILES = [/^\/static\//, /^\/assets\/vendor\//, /^\/tiles\//, /^\/peta\/(dasar|batas)\.geojson$/];
// Loaded only once a pin is placed, which may first happen offline.
var KEPT_AT_INSTALL = ["/assets/vendor/leaflet/images/marker-icon.png",
                       "/assets/vendor/leaflet/images/marker-icon-2x.png",
                       "/assets/vendor/leaflet/images/marker-shadow.png"];
var TILES = /^\/tiles\//;

self.addEventListener("install", function (event) {
  event.waitUntil(keepForm().then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(CACHE_PREFIX) === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && url.pathname === FORM_PATH) {
    event.respondWith(formPage(request));
  } else if (isKeptFile(url)) {
    event.respondWith(keptFile(request, event));
  }
});

// The page tells what it loaded: the worker was not yet running when it did.
self.addEventListener("message", function (event) {
  if (!event.data || event.data.type !== "keep" || !Array.isArray(event.data.urls)) { return; }
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(event.data.urls.map(function (address) {
      var url = new URL(address, self.location.origin);
      if (url.origin !== self.location.origin) { return null; }
      if (url.pathname === FORM_PATH || !isKeptFile(url)) { return null; }  // the form: by its navigations
      return cache.match(url.href).then(function (kept) {
        // The browser's HTTP cache most likely holds it already: no second download.
        return kept || refresh(cache, new Request(url.href, { cache: "force-cache" }));
      }).catch(function () { return null; });
    }));
  }));
});

self.addEventListener("sync", function (event) {
  if (event.tag !== self.APOA_QUEUE.SYNC_TAG) { return; }
  event.waitUntil(self.APOA_QUEUE.sendAll().then(tellPages));
});

function isKeptFile(url) {
  return KEPT_FILES.some(function (pattern) { return pattern.test(url.pathname); });
}

function keepForm() {
  return caches.open(CACHE).then(function (cache) {
    var form = fetch(FORM_PATH, { credentials: "same-origin" }).then(function (response) {
      return keepable(response) ? cache.put(FORM_PATH, response) : null;
    });
    var files = KEPT_AT_INSTALL.map(function (path) { return refresh(cache, new Request(path)); });
    return Promise.all([form].concat(files));
  }).catch(function () { /* the next visit online keeps them */ });
}

// A page for someone signed in is marked no-store by apoa/security.py: it is never kept.
function keepable(response) {
  var control = response.headers.get("Cache-Control") || "";
  return response.ok && response.type === "basic" && control.indexOf("no-store") < 0;
}

function formPage(request) {
  return caches.open(CACHE).then(function (cache) {
    var fromNetwork = fetch(request).then(function (response) {
      if (keepable(response)) { cache.put(FORM_PATH, response.clone()); }
      return response;
    });
    return withinWait(fromNetwork).catch(function () {
      return cache.match(FORM_PATH).then(function (kept) { return kept || fromNetwork; });
    });
  });
}

// On a connection that hangs, the kept copy after a while rather than a blank screen.
function withinWait(promise) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("slow")); }, NETWORK_WAIT_MS);
    promise.then(function (value) { clearTimeout(timer); resolve(value); },
                 function (error) { clearTimeout(timer); reject(error); });
  });
}

// The kept copy at once; fetched again in the background only once its max-age has passed (as
// the browser's own cache would), so a visit does not download everything twice.
function keptFile(request, event) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (kept) {
      if (kept && stillFresh(kept)) { return kept; }
      var fresh = refresh(cache, request);
      if (kept) {
        event.waitUntil(fresh.catch(function () { return null; }));
        return kept;
      }
      return fresh.catch(function (error) {
        if (!TILES.test(new URL(request.url).pathname)) { throw error; }
        return new Response(null, { status: 204 });  // a part of the map never seen: drawn empty
      });
    });
  });
}

function stillFresh(response) {
  var maxAge = /max-age=(\d+)/.exec(response.headers.get("Cache-Control") || "");
  var date = Date.parse(response.headers.get("Date") || "");
  return !!maxAge && !isNaN(date) && Date.now() - date < Number(maxAge[1]) * 1000;
}

function refresh(cache, request) {
  return fetch(request).then(function (response) {
    if (keepable(response)) { return cache.put(request, response.clone()).then(function () { return response; }); }
    return response;
  });
}

function tellPages() {
  return self.clients.matchAll({ type: "window" }).then(function (pages) {
    pages.forEach(function (page) { page.postMessage({ type: "queue-changed" }); });
  });
}
