// The progress bar of a bulk guest upload (templates/guests/upload/progress.html): asks the
// upload's progress (JSON) every few seconds, moves the bar and the count, and reloads the page
// once the job has finished, to show the preview or the result. Without this script the page
// refreshes itself (<noscript> meta refresh).
(function () {
  "use strict";
  var bar = document.getElementById("upload-progress");
  if (!bar || !window.fetch) {
    return;
  }
  var count = document.getElementById("upload-count");
  var interval = parseInt(bar.getAttribute("data-interval"), 10) || 2000;
  var format = bar.getAttribute("data-format") || "{done} / {total}";

  function show(progress) {
    if (progress.rows_total > 0) {
      bar.max = progress.rows_total;
      bar.value = progress.rows_done;
      if (count) {
        count.textContent = format.replace("{done}", progress.rows_done)
          .replace("{total}", progress.rows_total);
      }
    }
  }

  function poll() {
    fetch(bar.getAttribute("data-url"), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (progress) {
      if (progress && !progress.running) {
        window.location.reload();
        return;
      }
      if (progress) {
        show(progress);
      }
      window.setTimeout(poll, interval);
    }).catch(function () {
      window.setTimeout(poll, interval * 2);
    });
  }

  window.setTimeout(poll, interval);
}());
