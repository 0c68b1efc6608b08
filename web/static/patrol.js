// Patrol pages. [data-print] buttons print the page. No inline scripts (CSP).
// The live pages (an element with data-patrol-refresh, data-patrol-body-url and
// data-patrol-stream-url): the supervisor page (/live/stream?view=patrol) and the staff page
// (view=patrol_me: only the user's own rounds). When the stream says a round changed, the
// element's content is fetched again from the body URL (HTML rendered and escaped by the
// server) through live_refresh.js: at most once a second, after each (re)connect, and every
// data-patrol-refresh seconds (rounds start and deadlines pass without a message); in a
// browser without server-sent events, every data-patrol-refresh seconds. Without fetch (or
// live_refresh.js) the page reloads every data-patrol-refresh seconds instead. Nothing is
// replaced while a form field in it is being typed into (focused, or holding text).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute("data-print")) { window.print(); }
  });
  var holder = document.querySelector("[data-patrol-refresh]");
  if (!holder) { return; }
  var seconds = parseInt(holder.getAttribute("data-patrol-refresh"), 10) || 30;
  var IDLE_CHECK_MS = 2000;
  var TYPED = "input:not([type=hidden]):not([type=checkbox]):not([type=radio])" +
              ":not([type=submit]):not([type=button]), textarea, select";

  function busy() {
    var fields = holder.querySelectorAll(TYPED);
    for (var i = 0; i < fields.length; i++) {
      if (fields[i] === document.activeElement) { return true; }
      if (fields[i].tagName !== "SELECT" && fields[i].value) { return true; }
    }
    return false;
  }

  var bodyUrl = holder.getAttribute("data-patrol-body-url");
  var streamUrl = holder.getAttribute("data-patrol-stream-url");
  if (!bodyUrl || !window.fetch || !window.Promise || !window.lobbygateLiveRefresh) {
    window.setInterval(function () { if (!busy()) { window.location.reload(); } }, seconds * 1000);
    return;
  }

  function whenIdle() {                              // resolves once nothing is being typed
    return new Promise(function (resolve) {
      (function check() {
        if (busy()) { window.setTimeout(check, IDLE_CHECK_MS); } else { resolve(); }
      })();
    });
  }

  function load() {
    return whenIdle()
      .then(function () {
        return window.fetch(bodyUrl, { credentials: "same-origin",
                                       headers: { "Accept": "text/html" } });
      })
      .then(function (resp) {
        if (resp.redirected || !resp.ok) { throw new Error("patrol body: " + resp.status); }
        return resp.text();
      })
      .then(function (html) {
        if (busy()) { return load(); }              // typing began meanwhile: fetch once done
        var t = document.createElement("template");
        t.innerHTML = html;
        holder.replaceChildren(t.content);
        holder.setAttribute("data-patrol-updated", String(Date.now()));
      });
  }

  window.lobbygateLiveRefresh({
    streamUrl: streamUrl, channel: holder.getAttribute("data-patrol-channel") || "patrol",
    load: load, fallbackMs: seconds * 1000, pollMs: seconds * 1000,
    setStatus: function (state) {
      if (state === "live") { holder.setAttribute("data-patrol-live", ""); }
      else { holder.removeAttribute("data-patrol-live"); }
    }
  });
})();
