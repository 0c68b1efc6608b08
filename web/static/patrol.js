// Patrol pages: reload every data-patrol-refresh seconds while nobody is typing a note;
// [data-print] buttons print the page. No inline scripts (CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute("data-print")) { window.print(); }
  });
  var holder = document.querySelector("[data-patrol-refresh]");
  if (!holder) { return; }
  var seconds = parseInt(holder.getAttribute("data-patrol-refresh"), 10) || 30;
  function busy() {
    var inputs = document.querySelectorAll("form input[name=note]");
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].value || inputs[i] === document.activeElement) { return true; }
    }
    return false;
  }
  window.setInterval(function () { if (!busy()) { window.location.reload(); } }, seconds * 1000);
})();
