// The receipt's copy and share buttons for the tracking code. Progressive enhancement: the page
// ships them hidden, and each is shown only where the browser offers what it needs (the Clipboard
// API needs HTTPS or localhost; the Web Share API is mostly on phones). Without either, the code,
// its QR code and the print button remain. Kept out of the page: the CSP allows no inline script.
(function () {
  "use strict";
  var tools = document.getElementById("code-tools");
  var copyButton = document.getElementById("copy-code");
  var shareButton = document.getElementById("share-code");
  var feedback = document.getElementById("code-feedback");
  if (!tools || !copyButton || !shareButton) { return; }

  function say(text) { if (feedback) { feedback.textContent = text; } }

  function shareData() {
    return { title: tools.dataset.shareTitle, text: tools.dataset.shareText, url: tools.dataset.shareUrl };
  }

  var canCopy = !!(navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext);
  var canShare = !!(navigator.share && (!navigator.canShare || navigator.canShare(shareData())));

  if (canCopy) {
    copyButton.hidden = false;
    copyButton.addEventListener("click", function () {
      navigator.clipboard.writeText(copyButton.dataset.code).then(
        function () { say(tools.dataset.copied); },
        function () { say(tools.dataset.copyFailed); });
    });
  }

  if (canShare) {
    shareButton.hidden = false;
    shareButton.addEventListener("click", function () {
      // A share the user cancels rejects too (AbortError): nothing to say then.
      navigator.share(shareData()).catch(function () {});
    });
  }

  tools.hidden = !(canCopy || canShare);
}());
