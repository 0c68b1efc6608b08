// Goods passes: the print buttons, and the gate board's verdict list, refreshed with rows the
// server renders and escapes (nothing here builds markup from data) when
// /live/stream?view=gate says a verdict arrived (live_refresh.js: at most once a second, after
// each reconnect, every data-fallback-ms; every data-refresh-ms without server-sent events).
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function () { window.print(); });
  }
  // A pass with many long item lines is scaled down to fit its half of the A4 page (both
  // copies keep every field and the signature lines); the common pass stays at 100 %.
  function fitCopies() {
    var copies = document.querySelectorAll(".pass-copy");
    for (var c = 0; c < copies.length; c++) {
      var inner = copies[c].querySelector(".pass-fit");
      if (!inner) { continue; }
      inner.style.transform = "";
      inner.style.width = "";
      var avail = copies[c].clientHeight;
      var need = inner.scrollHeight;
      if (need <= avail + 1) { continue; }
      // wider text wraps less, so search the largest scale whose layout fits
      var lo = 0.3, hi = 1;
      for (var k = 0; k < 10; k++) {
        var mid = (lo + hi) / 2;
        inner.style.width = (100 / mid) + "%";
        if (inner.scrollHeight * mid <= avail) { lo = mid; } else { hi = mid; }
      }
      inner.style.width = (100 / lo) + "%";
      inner.style.transform = "scale(" + lo + ")";
      copies[c].setAttribute("data-scaled", lo.toFixed(2));
    }
  }
  if (document.querySelector(".pass-copy")) {
    fitCopies();
    window.addEventListener("beforeprint", fitCopies);
  }
  var body = document.getElementById("gate-verdicts");
  if (!body || !window.fetch || !window.lobbygateLiveRefresh) { return; }
  var url = body.getAttribute("data-verdicts-url");
  var status = document.querySelector("[data-verdicts-status]");
  function setStatus(state) {
    if (!status) { return; }
    status.setAttribute("data-state", state);
    var text = status.getAttribute("data-text-" + state);
    if (text) { status.textContent = text; }
  }
  function load() {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (resp) {
        if (resp.redirected || !resp.ok) { throw new Error(String(resp.status)); }
        return resp.text();
      })
      .then(function (html) {
        var known = {};
        for (var j = 0; j < body.children.length; j++) {
          known[body.children[j].getAttribute("data-verdict")] = true;
        }
        var t = document.createElement("template");
        t.innerHTML = html;
        var rows = t.content.querySelectorAll("tr");
        for (var k = 0; k < rows.length; k++) {
          var id = rows[k].getAttribute("data-verdict");
          if (id && !known[id]) { rows[k].classList.add("fresh"); }
        }
        body.replaceChildren(t.content);
        body.setAttribute("data-updated", String(Date.now()));
      });
  }
  window.lobbygateLiveRefresh({
    streamUrl: body.getAttribute("data-stream-url"), channel: "gate", load: load,
    fallbackMs: parseInt(body.getAttribute("data-fallback-ms"), 10) || 30000,
    pollMs: parseInt(body.getAttribute("data-refresh-ms"), 10) || 5000, setStatus: setStatus
  });
})();
