// Print buttons (kept out of the page so a strict CSP needs no inline script). A page may hide
// its button (`hidden`) until this script runs: without JavaScript it could not print, and the
// browser's own Print menu still works.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
  button.hidden = false;
});
