// The WhatsApp simulator (/dev/whatsapp): sends what the resident types, picks, shares or
// photographs to /dev/whatsapp/kirim (which posts it to the webhook as Meta would), and polls
// /dev/whatsapp/pesan for the bot's answers, drawing each as a phone would. Polling stops while
// the tab is hidden. Every word shown comes from the data-* attributes of #simulator (translated
// on the server); no inline script.
(function () {
  "use strict";

  var root = document.getElementById("simulator");
  if (!root || !window.fetch || !window.FormData) { return; }
  var POLL_MS = 1000;
  // When the fake is not running, ask less often: it is usually started by hand.
  var RETRY_MS = 5000;
  var words = root.dataset;
  var chat = document.getElementById("sim-chat");
  var status = document.getElementById("sim-status");
  var csrfToken = root.querySelector("input[name=csrf_token]").value;
  var after = 0;
  var timer = null;
  var polling = false;
  // How many messages the resident has sent: the bot's answer to one of them (its "turn") may
  // be several messages, reaching the page over more than one poll.
  var turn = 0;

  setUpText();
  setUpLocation();
  setUpPhoto();
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      window.clearTimeout(timer);
      timer = null;
    } else {
      poll();
    }
  });
  poll();

  // --- the resident's side ------------------------------------------------------------------

  function setUpText() {
    var form = document.getElementById("sim-text-form");
    var box = document.getElementById("sim-text");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = box.value;
      if (!text.trim()) { box.focus(); return; }
      send({ kind: "text", text: text }, function (bubble) { addText(bubble, text); }).then(function (ok) {
        if (ok) { box.value = ""; }
      });
      box.focus();
    });
  }

  function setUpLocation() {
    document.getElementById("sim-location-form").addEventListener("submit", function (event) {
      event.preventDefault();
      sendLocation();
    });
  }

  function sendLocation() {
    var latitude = document.getElementById("sim-latitude").value;
    var longitude = document.getElementById("sim-longitude").value;
    return send({ kind: "location", latitude: latitude, longitude: longitude }, function (bubble) {
      addNote(bubble, words.location);
      addText(bubble, latitude + ", " + longitude);
    });
  }

  function setUpPhoto() {
    var form = document.getElementById("sim-photo-form");
    var picker = document.getElementById("sim-photo");
    var caption = document.getElementById("sim-caption");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = picker.files && picker.files[0];
      if (!file) { picker.focus(); return; }
      var text = caption.value;
      send({ kind: "photo", photo: file, text: text }, function (bubble) {
        var image = document.createElement("img");
        image.alt = words.photo;
        image.src = URL.createObjectURL(file);
        bubble.appendChild(image);
        if (text) { addText(bubble, text); }
      }).then(function (ok) {
        if (ok) { picker.value = ""; caption.value = ""; }
      });
    });
  }

  function sendChoice(choice) {
    return send({ kind: "choice", choice_id: choice.id, choice_title: choice.title, choice_type: choice.type },
      function (bubble) { addText(bubble, choice.title); });
  }

  // Shows the message on the right at once (faded until the webhook took it); resolves to
  // whether it was taken.
  function send(fields, draw) {
    var body = new FormData();
    body.append("csrf_token", csrfToken);
    body.append("number", words.number);
    Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
    turn += 1;
    var bubble = addBubble("sim-me");
    bubble.classList.add("sim-pending");
    draw(bubble);
    scrollDown();
    return fetch(words.sendUrl, { method: "POST", body: body, credentials: "same-origin",
                                  headers: { "Accept": "application/json" } })
      .then(readJson)
      .then(function (answer) {
        bubble.classList.remove("sim-pending");
        if (answer.data.ok) {
          say("", false);
          pollSoon();
          return true;
        }
        bubble.classList.add("sim-failed");
        say(words.failed + " " + errorOf(answer.data), true);
        return false;
      }, function () {
        bubble.classList.remove("sim-pending");
        bubble.classList.add("sim-failed");
        say(words.failed + " " + words.offline, true);
        return false;
      });
  }

  // --- the bot's side -----------------------------------------------------------------------

  function poll() {
    if (polling) { return; }
    polling = true;
    window.clearTimeout(timer);
    var url = words.messagesUrl + "?nomor=" + encodeURIComponent(words.number) + "&after=" + after;
    var wait = POLL_MS;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(readJson)
      .then(function (answer) {
        if (answer.data.ok) {
          answer.data.messages.forEach(showBotMessage);
          after = answer.data.last;
          clearProblem();
        } else {
          say(errorOf(answer.data), true, "poll");
          wait = RETRY_MS;
        }
      }, function () {
        say(words.offline, true, "poll");
        wait = RETRY_MS;
      })
      .then(function () {
        polling = false;
        schedule(wait);
      });
  }

  function pollSoon() {
    if (!polling) { schedule(150); }
  }

  function schedule(wait) {
    window.clearTimeout(timer);
    timer = document.visibilityState === "hidden" ? null : window.setTimeout(poll, wait);
  }

  function showBotMessage(message) {
    var offersChoice = message.choices.length > 0 || message.kind === "location_request";
    // Only the bot's latest question can be answered by a tap, as the bot expects: a new one
    // closes the choices of earlier answers, never those of the same answer (a location request
    // and its "type the address instead" button go together).
    if (offersChoice) { closeChoicesBefore(turn); }
    var bubble = addBubble("sim-bot");
    bubble.dataset.turn = String(turn);
    bubble.dataset.seq = String(message.seq);
    bubble.dataset.kind = message.kind;
    if (message.kind === "template") {
      addNote(bubble, words.template + ": " + message.template.name);
      addText(bubble, message.template.parameters.join(" · "));
    } else if (message.kind === "image") {
      addNote(bubble, words.photo);
    } else if (message.kind === "unknown") {
      addNote(bubble, words.unknown);
    }
    if (message.text) { addText(bubble, message.text); }
    if (message.button) { addNote(bubble, message.button); }
    if (message.choices.length) { addChoices(bubble, message.choices); }
    if (message.kind === "location_request") { addShareLocation(bubble); }
    scrollDown();
  }

  function addChoices(bubble, choices) {
    var list = document.createElement("div");
    list.className = "sim-choices";
    choices.forEach(function (choice) {
      var button = choiceButton(choice.title);
      button.dataset.choiceId = choice.id;
      if (choice.description) {
        var small = document.createElement("small");
        small.textContent = choice.description;
        button.appendChild(small);
      }
      button.addEventListener("click", function () { sendChoice(choice); });
      list.appendChild(button);
    });
    bubble.appendChild(list);
  }

  function addShareLocation(bubble) {
    var list = document.createElement("div");
    list.className = "sim-choices";
    var button = choiceButton(words.shareLocation);
    button.classList.add("sim-share-location");
    button.addEventListener("click", function () { sendLocation(); });
    list.appendChild(button);
    bubble.appendChild(list);
  }

  function choiceButton(title) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sim-choice";
    button.textContent = title;
    return button;
  }

  function closeChoicesBefore(current) {
    Array.prototype.forEach.call(chat.querySelectorAll(".sim-bot"), function (bubble) {
      if (Number(bubble.dataset.turn) >= current) { return; }
      Array.prototype.forEach.call(bubble.querySelectorAll(".sim-choice"), function (button) {
        button.disabled = true;
      });
    });
  }

  // --- small helpers ------------------------------------------------------------------------

  function readJson(response) {
    return response.json().catch(function () { return {}; }).then(function (data) {
      return { response: response, data: data || {} };
    });
  }

  // The simulator's own refusals say {"error": "..."}; the app's error handler (a CSRF refusal,
  // a photo too large) says {"error": {"message": "..."}}.
  function errorOf(data) {
    var error = data.error;
    if (error && typeof error === "object") { error = error.message; }
    return error || "";
  }

  function addBubble(side) {
    var bubble = document.createElement("div");
    bubble.className = "sim-bubble " + side;
    chat.appendChild(bubble);
    return bubble;
  }

  function addText(bubble, text) {
    var paragraph = document.createElement("p");
    paragraph.className = "sim-text";
    paragraph.textContent = text;
    bubble.appendChild(paragraph);
  }

  function addNote(bubble, text) {
    var note = document.createElement("p");
    note.className = "sim-note";
    note.textContent = text;
    bubble.appendChild(note);
  }

  // `source` "poll" marks a problem of reading the answers, cleared as soon as reading works
  // again; a message that could not be sent stays said until the next one is sent.
  function say(text, isError, source) {
    status.textContent = text;
    status.classList.toggle("sim-error", Boolean(isError));
    status.dataset.source = source || "";
  }

  function clearProblem() {
    if (status.dataset.source === "poll") { say("", false); }
    var problem = document.getElementById("sim-fake-problem");
    if (problem) { problem.hidden = true; }
  }

  function scrollDown() {
    chat.scrollTop = chat.scrollHeight;
  }
}());
