// The guests' check-in and check-out forms, enhanced. Both work without this file: the server
// assumes WIB when the browser's offset is unknown, and "Read MRZ" is a submit button that gives
// the form back with the passport fields filled. Here the browser tells its offset from UTC, and
// pasting the MRZ (or pressing "Read MRZ") fills the fields in place, each problem shown beside
// its field, through the JSON endpoint in the form's data-mrz-url.
(function () {
  "use strict";

  document.querySelectorAll("input[data-browser-offset]").forEach(function (input) {
    input.value = String(-new Date().getTimezoneOffset());
  });

  var form = document.getElementById("checkin-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var csrf = form.querySelector("input[name=csrf_token]");
  // Two lines of 44 characters, however they were pasted (the server says the rest).
  var LOOKS_COMPLETE = /^\s*\S{44}\s*\r?\n?\s*\S{44}\s*$/;

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button.read-mrz");
    if (!button) { return; }
    event.preventDefault();
    read(button.closest("fieldset.guest"));
  });

  form.addEventListener("input", function (event) {
    if (!event.target.classList.contains("mrz")) { return; }
    if (LOOKS_COMPLETE.test(event.target.value)) { read(event.target.closest("fieldset.guest")); }
  });

  // Only the answer to a guest's latest reading is shown: typing on while one is on its way
  // starts another, and the earlier answer must not pile its problems beside the later one's.
  var readings = 0;

  function read(fieldset) {
    var prefix = fieldset.dataset.prefix;
    var textarea = document.getElementById(prefix + "mrz");
    var status = document.getElementById(prefix + "mrz-status");
    var reading = String(++readings);
    fieldset.dataset.reading = reading;
    say(status, form.dataset.reading);
    var body = new FormData();
    body.append("mrz", textarea.value);
    if (csrf) { body.append("csrf_token", csrf.value); }
    fetch(form.dataset.mrzUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf ? csrf.value : "" }
    }).then(function (response) {
      return response.json();
    }).then(function (answer) {
      if (fieldset.dataset.reading !== reading) { return; }
      clearProblems(fieldset);
      (answer.problems || []).forEach(function (problem) {
        showProblem(fieldset, prefix, problem.field, problem.message);
      });
      if (answer.problems && answer.problems.length) { say(status, ""); return; }
      Object.keys(answer.fields || {}).forEach(function (name) {
        var input = document.getElementById(prefix + name);
        if (input) { input.value = answer.fields[name]; }
      });
      say(status, [form.dataset.read].concat(answer.notes || []).join(" "));
    }).catch(function () {
      if (fieldset.dataset.reading === reading) { say(status, form.dataset.failed); }
    });
  }

  function say(status, text) {
    if (status) { status.textContent = text || ""; }
  }

  function clearProblems(fieldset) {
    fieldset.querySelectorAll(".field-error[data-from-mrz]").forEach(function (node) {
      var input = node.parentNode.querySelector("[aria-invalid]");
      if (input) { input.removeAttribute("aria-invalid"); }
      node.remove();
    });
  }

  // Beside its field, as the server would put it; the MRZ box for what belongs to no field.
  function showProblem(fieldset, prefix, name, message) {
    var input = document.getElementById(prefix + name) || document.getElementById(prefix + "mrz");
    var box = input.closest(".field") || fieldset;
    var note = document.createElement("p");
    note.className = "field-error";
    note.dataset.fromMrz = "1";
    note.id = input.id + "-mrz-error";
    note.textContent = message;
    box.appendChild(note);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
  }
}());
