// Starts Swagger UI (swagger-ui-dist from npm, served by the app) on the API's documentation page,
// against the OpenAPI document named in the page. Kept out of the page: the CSP allows no inline
// script. "Try it out" sends real requests: a report sent from here is a real report.
(function () {
  "use strict";
  var target = document.getElementById("api-docs");
  if (!target || typeof window.SwaggerUIBundle !== "function") { return; }
  target.textContent = "";
  window.SwaggerUIBundle({
    url: target.dataset.specUrl,
    domNode: target,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    // Swagger UI checks the document with a validator on the internet by default: never here.
    validatorUrl: null
  });
}());
