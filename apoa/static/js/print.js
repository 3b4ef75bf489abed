// The receipt's print button (kept out of the page so a strict CSP needs no inline script).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
