// Reports written without a connection: kept on the phone (IndexedDB) and sent when the
// connection returns, each with its own submission key, so that sending twice (a retry, the page
// and the service worker both trying, the resident pressing "Send" again) never makes two reports.
//
// Online, report-form.js sends the form as before and says what went wrong in place. This queue
// takes a report when the phone is offline as it is sent, and keeps a copy of one whose sending
// failed (no connection, a server error), with the same submission key as the form, so it is sent
// even if the page is closed. A draft leaves the phone only when the server's receipt has arrived.
// Without IndexedDB the page is as it was, and without JavaScript the form posts as a plain form.
//
// The same file runs in the page and, through importScripts, in the service worker (sw.js),
// which sends the queue on a Background Sync where the browser has one; elsewhere the page sends
// it when it is opened and when the connection returns.
(function (scope) {
  "use strict";

  var DB_NAME = "apoa-offline";
  var DRAFTS = "drafts";
  var RECEIPTS = "receipts";
  var SYNC_TAG = "apoa-send-reports";
  var LOCK_NAME = "apoa-send-reports";
  var API_URL = "/api/v1/reports";
  var SEND_TIMEOUT_MS = 20000;
  var RECEIPT_DAYS = 30;
  // Form fields the API names differently; the others keep their names.
  var API_NAMES = { category: "category_id" };
  var API_FIELDS = ["description", "people_count", "nationality", "place_kind", "latitude",
                    "longitude", "accuracy_m", "address"];
  var CONTACT_FIELDS = ["contact_name", "contact_phone", "contact_email"];
  var sendingHere = false;  // for browsers without the Web Locks API

  // --- the store ---------------------------------------------------------------------------------

  function openStore() {
    return new Promise(function (resolve, reject) {
      var request = scope.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(DRAFTS, { keyPath: "key" });
        request.result.createObjectStore(RECEIPTS, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  // Runs `work(stores)` in one transaction; resolves with its result once the transaction is
  // committed (so a receipt is never shown for a removal that did not happen).
  function inTransaction(names, mode, work) {
    return openStore().then(function (database) {
      return new Promise(function (resolve, reject) {
        var transaction = database.transaction(names, mode);
        var stores = {};
        names.forEach(function (name) { stores[name] = transaction.objectStore(name); });
        var result = work(stores);
        transaction.oncomplete = function () { database.close(); resolve(result); };
        transaction.onerror = transaction.onabort = function () {
          database.close();
          reject(transaction.error);
        };
      });
    });
  }

  function readAll(name) {
    return inTransaction([name], "readonly", function (stores) {
      var found = [];
      stores[name].openCursor().onsuccess = function (event) {
        var cursor = event.target.result;
        if (cursor) { found.push(cursor.value); cursor.continue(); }
      };
      return found;
    }).then(function (found) {
      return found.sort(function (a, b) { return a.created - b.created; });
    });
  }

  function saveDraft(draft) {
    return inTransaction([DRAFTS], "readwrite", function (stores) { stores[DRAFTS].put(draft); });
  }

  function deleteDraft(key) {
    return inTransaction([DRAFTS], "readwrite", function (stores) { stores[DRAFTS].delete(key); });
  }

  function deleteReceipt(key) {
    return inTransaction([RECEIPTS], "readwrite", function (stores) { stores[RECEIPTS].delete(key); });
  }

  // The draft goes and its receipt comes in one step: never both, never neither.
  function replaceByReceipt(draft, receipt) {
    return inTransaction([DRAFTS, RECEIPTS], "readwrite", function (stores) {
      stores[DRAFTS].delete(draft.key);
      stores[RECEIPTS].put(receipt);
    });
  }

  function forgetOldReceipts() {
    var oldest = Date.now() - RECEIPT_DAYS * 24 * 3600 * 1000;
    return readAll(RECEIPTS).then(function (receipts) {
      return Promise.all(receipts.filter(function (r) { return r.created < oldest; })
        .map(function (r) { return deleteReceipt(r.key); }));
    });
  }

  function newKey() {
    if (scope.crypto && scope.crypto.randomUUID) { return scope.crypto.randomUUID(); }
    var bytes = scope.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // --- sending -----------------------------------------------------------------------------------

  // One sender at a time across the page and the worker; a caller that finds the queue being
  // sent leaves it to the one sending. (The submission key makes a double send harmless anyway.)
  function withSendingLock(work) {
    if (scope.navigator.locks && scope.navigator.locks.request) {
      return scope.navigator.locks.request(LOCK_NAME, { ifAvailable: true }, function (lock) {
        return lock ? work() : null;
      });
    }
    if (sendingHere) { return Promise.resolve(null); }
    sendingHere = true;
    return Promise.resolve().then(work).then(function (result) {
      sendingHere = false;
      return result;
    }, function (error) {
      sendingHere = false;
      throw error;
    });
  }

  // Sends every draft that may succeed, one after the other; resolves with {key: outcome}.
  function sendAll() {
    return withSendingLock(function () {
      return readAll(DRAFTS).then(function (drafts) {
        var outcomes = {};
        return drafts.filter(function (d) { return d.state !== "rejected"; })
          .reduce(function (previous, draft) {
            return previous.then(function () {
              return sendOne(draft).then(function (outcome) { outcomes[draft.key] = outcome; });
            });
          }, Promise.resolve()).then(function () { return outcomes; });
      });
    });
  }

  function sendOne(draft) {
    return postToApi(draft).then(function (outcome) {
      return remember(draft, outcome).then(function () { return outcome; });
    });
  }

  function remember(draft, outcome) {
    if (outcome.kind === "sent") {
      return replaceByReceipt(draft, { key: draft.key, created: Date.now(), code: outcome.code,
                                       url: outcome.url });
    }
    draft.tries = (draft.tries || 0) + 1;
    draft.lastTry = Date.now();
    draft.lastError = outcome.reason;
    if (outcome.kind === "rejected") {
      draft.state = "rejected";
      draft.errors = outcome.errors || [];
    }
    return saveDraft(draft);
  }

  function timedFetch(url, options) {
    var controller = scope.AbortController ? new scope.AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, SEND_TIMEOUT_MS);
    if (controller) { options.signal = controller.signal; }
    return scope.fetch(url, options).then(function (response) {
      clearTimeout(timer);
      return response;
    }, function (error) {
      clearTimeout(timer);
      throw error;
    });
  }

  // What a failed answer means for the draft: wait and try again, or never as it is.
  function waiting(response) {
    if (response === null) { return { kind: "waiting", reason: "network" }; }
    if (response.status === 429) { return { kind: "waiting", reason: "busy" }; }
    return { kind: "waiting", reason: "server" };
  }

  function postToApi(draft) {
    return timedFetch(API_URL, {
      method: "POST", body: apiBody(draft), credentials: "same-origin",
      headers: { "Idempotency-Key": draft.key, "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 200 || response.status === 201) {
        return response.json().then(function (answer) {
          return { kind: "sent", code: answer.tracking_code, url: answer.receipt_url };
        });
      }
      if (response.status === 422 || response.status === 400) {
        return response.json().then(function (problem) {
          return { kind: "rejected", reason: "refused", errors: problemMessages(problem) };
        }, function () { return { kind: "rejected", reason: "refused", errors: [] }; });
      }
      return waiting(response);
    }, function () { return waiting(null); });
  }

  function apiBody(draft) {
    var fields = draft.fields, body = new FormData();
    function add(name, value) { if (value !== undefined && value !== "") { body.append(name, value); } }
    add(API_NAMES.category, fields.category);
    API_FIELDS.forEach(function (name) { add(name, fields[name]); });
    add("observed_at", withOffset(fields.observed_at, fields.utc_offset));
    if (fields.reporter === "contact") {
      CONTACT_FIELDS.forEach(function (name) { add(name, fields[name]); });
    }
    body.append("consent", fields.consent ? "true" : "false");
    addPhotos(body, draft);
    return body;
  }

  // "2026-12-05T14:30" and the browser's offset in minutes (420) → "2026-12-05T14:30:00+07:00".
  function withOffset(local, offsetMinutes) {
    if (!local) { return ""; }
    var minutes = parseInt(offsetMinutes, 10) || 0;
    var sign = minutes < 0 ? "-" : "+";
    var size = Math.abs(minutes);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    var seconds = local.length === 16 ? ":00" : "";
    return local + seconds + sign + two(Math.floor(size / 60)) + ":" + two(size % 60);
  }

  function addPhotos(body, draft) {
    (draft.photos || []).forEach(function (photo) { body.append("photos", photo.blob, photo.name); });
  }

  // problem+json's "errors": {field: [messages]} (or nested one level deeper by location).
  function problemMessages(problem) {
    var found = [];
    function walk(errors, field) {
      if (typeof errors === "string") { found.push({ field: field, message: errors }); return; }
      if (Array.isArray(errors)) { errors.forEach(function (e) { walk(e, field); }); return; }
      if (errors && typeof errors === "object") {
        Object.keys(errors).forEach(function (name) { walk(errors[name], isNaN(name) ? name : field); });
      }
    }
    walk(problem && problem.errors, "");
    if (!found.length && problem && problem.detail) { found.push({ field: "", message: problem.detail }); }
    return found;
  }

  scope.APOA_QUEUE = {
    SYNC_TAG: SYNC_TAG, readAll: readAll, saveDraft: saveDraft, deleteDraft: deleteDraft,
    deleteReceipt: deleteReceipt, forgetOldReceipts: forgetOldReceipts, sendAll: sendAll,
    newKey: newKey, DRAFTS: DRAFTS, RECEIPTS: RECEIPTS
  };

  if (scope.document) { setUpPage(scope.document); }

  // --- the page ----------------------------------------------------------------------------------

  function setUpPage(document) {
    var form = document.querySelector(".report-form");
    var panel = document.getElementById("offline-queue");
    if (!form || !panel || !scope.indexedDB || !scope.fetch || !scope.FormData || !scope.Promise) { return; }
    var texts = panel.dataset;
    var status = document.getElementById("queue-status");
    var busy = false;

    registerWorker();
    askToKeepStorage();
    // A page opened from the phone's copy carries the submission key of the visit that stored
    // it, perhaps already used: each page load gets a key of its own.
    freshFormKey();

    // Offline, before report-form.js's own listener (on the form itself): kept, not sent.
    document.addEventListener("submit", function (event) {
      if (event.target !== form || scope.navigator.onLine !== false) { return; }
      event.preventDefault();
      event.stopImmediatePropagation();
      if (!busy) { keep({ kind: "waiting", reason: "network" }); }
    }, true);
    keepWhenSendingFails();

    scope.addEventListener("online", function () { sendNow(); });
    scope.addEventListener("pageshow", function (event) { if (event.persisted) { show(); } });
    if (scope.navigator.serviceWorker) {
      scope.navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data && event.data.type === "queue-changed") { show(); }
      });
    }
    APOA_QUEUE.forgetOldReceipts().then(show).then(function () {
      if (scope.navigator.onLine !== false) { sendNow(); }
    });

    // Kept on the phone, with the form's submission key: if the resident sends the form again
    // and it arrives, the queue's send later finds that report and gets its receipt.
    function keep(outcome) {
      busy = true;
      // Keyed by its submission key: a second failure of the same form updates the same draft.
      return APOA_QUEUE.saveDraft(draftOf(form)).then(function () {
        askForSync();
        say(texts.kept + " " + (texts[outcome.reason] || ""), true);
        // Online, report-form.js has said what failed beside the button, and the form stays for
        // "Send" again (the same key: never a second report). Offline, the list is the answer.
        if (scope.navigator.onLine !== false) { return show(); }
        form.reset();  // kept: the same answers sent again would be a second report
        freshFormKey();
        return show().then(function () { panel.scrollIntoView({ block: "start" }); });
      }, function () {
        say(texts.storeFailed, true);
      }).then(function () { busy = false; });
    }

    // report-form.js said the connection failed or the server had a problem: the report is
    // also kept here, to be sent when the connection returns.
    function keepWhenSendingFails() {
      var sendStatus = document.getElementById("send-status");
      if (!sendStatus || !scope.MutationObserver) { return; }
      var reasons = {};
      reasons[sendStatus.dataset.offline] = "network";
      reasons[sendStatus.dataset.server] = "server";
      new MutationObserver(function () {
        var reason = !sendStatus.hidden && reasons[sendStatus.textContent];
        if (reason && !busy) { keep({ kind: "waiting", reason: reason }); }
      }).observe(sendStatus, { childList: true, characterData: true, subtree: true, attributes: true });
    }

    function sendNow() {
      return APOA_QUEUE.readAll(APOA_QUEUE.DRAFTS).then(function (drafts) {
        if (!drafts.some(function (d) { return d.state !== "rejected"; })) { return null; }
        say(texts.sending, false);
        return APOA_QUEUE.sendAll().then(function () { say("", false); });
      }).then(show, show);
    }

    function say(text, problem) {
      status.textContent = text || "";
      status.hidden = !text;
      status.classList.toggle("problem", !!problem);
    }

    function show() {
      return Promise.all([APOA_QUEUE.readAll(APOA_QUEUE.DRAFTS), APOA_QUEUE.readAll(APOA_QUEUE.RECEIPTS)])
        .then(function (found) { render(found[0], found[1]); });
    }

    function render(drafts, receipts) {
      var waitingList = document.getElementById("queue-waiting");
      var sentList = document.getElementById("queue-sent");
      waitingList.replaceChildren.apply(waitingList, drafts.map(draftItem));
      sentList.replaceChildren.apply(sentList, receipts.map(receiptItem));
      document.getElementById("queue-waiting-box").hidden = !drafts.length;
      document.getElementById("queue-sent-box").hidden = !receipts.length;
      panel.hidden = !(drafts.length || receipts.length || !status.hidden);
    }

    function draftItem(draft) {
      var item = element("li", "queue-item");
      item.dataset.key = draft.key;
      var summary = (draft.fields.description || "").slice(0, 60);
      item.appendChild(element("strong", "", new Date(draft.created).toLocaleString()));
      item.appendChild(element("span", "", " — " + summary));
      var note = draft.state === "rejected" ? texts.rejected : (texts[draft.lastError] || texts.waiting);
      item.appendChild(element("p", "hint queue-note", note));
      (draft.errors || []).forEach(function (error) {
        var label = labelOf(error.field);
        item.appendChild(element("p", "field-error", (label ? label + ": " : "") + error.message));
      });
      var actions = element("div", "queue-actions");
      if (draft.state === "rejected") { actions.appendChild(action(texts.edit, function () { putBack(draft); })); }
      actions.appendChild(action(texts.remove, function () {
        if (scope.confirm(texts.removeConfirm)) { APOA_QUEUE.deleteDraft(draft.key).then(show); }
      }));
      item.appendChild(actions);
      return item;
    }

    // The form's label of a field the API named (category_id is the form's category).
    function labelOf(apiName) {
      var id = { category_id: "category", contact: "contact_name" }[apiName] || apiName;
      var label = id && form.querySelector("label[for='" + id.replace(/[^\w-]/g, "") + "']");
      return label ? label.textContent.trim() : "";
    }

    function receiptItem(receipt) {
      var item = element("li", "queue-item queue-sent-item");
      item.appendChild(element("strong", "queue-code", texts.sent.replace("{code}", readable(receipt.code))));
      var link = element("a", "", texts.receipt);
      link.href = receipt.url;
      var actions = element("div", "queue-actions");
      actions.appendChild(link);
      actions.appendChild(action(texts.hide, function () { APOA_QUEUE.deleteReceipt(receipt.key).then(show); }));
      item.appendChild(actions);
      return item;
    }

    // The rejected draft's answers back in the form, photos included, to be corrected and sent.
    function putBack(draft) {
      Object.keys(draft.fields).forEach(function (name) {
        var control = form.elements.namedItem(name);
        if (!control || control.type === "hidden") { return; }
        var choices = scope.RadioNodeList && control instanceof scope.RadioNodeList;
        if (choices) {
          Array.prototype.forEach.call(control, function (r) { r.checked = r.value === draft.fields[name]; });
        } else if (control.type === "checkbox") {
          control.checked = true;  // in the draft only when it was ticked
        } else {
          control.value = draft.fields[name];
        }
        (choices ? control[0] : control).dispatchEvent(new Event("change", { bubbles: true }));
      });
      putBackPhotos(draft);
      // The form holds it now, with this page's submission key (the refused one made nothing).
      APOA_QUEUE.deleteDraft(draft.key).then(show);
      form.scrollIntoView({ block: "start" });
    }

    function putBackPhotos(draft) {
      var input = form.querySelector("input[type=file]");
      if (!input || !scope.DataTransfer) { return; }
      try {
        var transfer = new DataTransfer();
        (draft.photos || []).forEach(function (p) { transfer.items.add(new File([p.blob], p.name, { type: p.blob.type })); });
        input.files = transfer.files;
      } catch (e) { /* the resident chooses the photos again */ }
    }

    function element(tag, className, text) {
      var made = document.createElement(tag);
      if (className) { made.className = className; }
      if (text) { made.textContent = text; }
      return made;
    }

    function action(text, onClick) {
      var made = element("button", "link", text);
      made.type = "button";
      made.addEventListener("click", onClick);
      return made;
    }

    function registerWorker() {
      var url = panel.dataset.worker;
      if (!url || !scope.navigator.serviceWorker) { return; }
      scope.navigator.serviceWorker.register(url, { scope: "/" }).then(function () {
        return scope.navigator.serviceWorker.ready;
      }).then(function (registration) {
        // What this page loads, kept by the worker for the next visit without a connection: it
        // was not running yet when the page asked for its first files.
        function keep(urls) { registration.active.postMessage({ type: "keep", urls: urls }); }
        if (scope.PerformanceObserver) {
          new PerformanceObserver(function (list) {
            keep(list.getEntries().map(function (entry) { return entry.name; }));
          }).observe({ type: "resource", buffered: true });
        }
      }).catch(function () { /* the form works as before, only not offline */ });
    }

    function askForSync() {
      if (!scope.navigator.serviceWorker) { return; }
      scope.navigator.serviceWorker.ready.then(function (registration) {
        return registration.sync && registration.sync.register(APOA_QUEUE.SYNC_TAG);
      }).catch(function () { /* sent when the page is opened again or the connection returns */ });
    }

    function askToKeepStorage() {
      if (!scope.navigator.storage || !scope.navigator.storage.persist) { return; }
      scope.navigator.storage.persisted().then(function (already) {
        return already || scope.navigator.storage.persist();
      }).catch(function () { /* the browser decides */ });
    }

    function freshFormKey() {
      var key = form.elements.namedItem("submission_key");
      if (key) { key.value = APOA_QUEUE.newKey(); }
    }
  }

  // What the resident entered: every field as text, the photos as the files themselves.
  function draftOf(form) {
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") { fields[name] = value; }
    });
    var photos = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        photos.push({ name: file.name, blob: file });
      });
    });
    return { key: fields.submission_key || APOA_QUEUE.newKey(), created: Date.now(), state: "waiting", fields: fields,
             photos: photos, tries: 0 };
  }

  // Tracking codes in the groups the receipt uses (ABCDE-FGHJK-MNPQ).
  function readable(code) {
    var plain = String(code || "");
    if (plain.indexOf("-") >= 0 || plain.length < 11) { return plain; }
    return plain.slice(0, 5) + "-" + plain.slice(5, 10) + "-" + plain.slice(10);
  }
})(self);
