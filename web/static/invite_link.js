// Invite page: the [data-copy-link] button copies the visitor's phone link ([data-link-url]).
// No inline scripts (CSP).
(function () {
  "use strict";
  var button = document.querySelector("[data-copy-link]");
  var input = document.querySelector("[data-link-url]");
  if (!button || !input) { return; }
  function done() {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || label;
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }
  input.addEventListener("focus", function () { input.select(); });
  button.addEventListener("click", function () {
    input.focus();
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        document.execCommand("copy");
        done();
      });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
