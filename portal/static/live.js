// Keeps the totals of a running send current: every few seconds it fetches the page again and
// swaps each part marked data-live for its fresh version, in place, so the reader keeps their
// place (no reload, no meta refresh). Once no part is marked any more, the send has finished
// and the script stops. Without it the page is simply current when loaded.
(function () {
  "use strict";
  var EVERY_MS = 3000;

  function tick() {
    if (!document.querySelector("[data-live]")) {
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (text) {
        if (text === null) {
          window.setTimeout(tick, EVERY_MS * 4);
          return;
        }
        var fresh = new DOMParser().parseFromString(text, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (part) {
          var next = fresh.getElementById(part.id);
          if (next) {
            part.replaceWith(document.importNode(next, true));
          }
        });
        window.setTimeout(tick, EVERY_MS);
      })
      .catch(function () {
        window.setTimeout(tick, EVERY_MS * 4);
      });
  }

  window.setTimeout(tick, EVERY_MS);
})();
