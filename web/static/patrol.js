// Patrol pages. [data-print] buttons print the page. No inline scripts (CSP).
// The supervisor page ([data-patrol-stream-url]) listens to /live/stream?view=patrol and, when a
// round changed (a tap applied, a round closed or corrected, a patrol alarm raised or
// acknowledged), fetches its counts, alarms and rounds again from [data-patrol-body-url] (HTML
// rendered and escaped by the server), at most once a second; also every data-patrol-refresh
// seconds (rounds start and deadlines pass without a message). Other pages with
// data-patrol-refresh reload. Nothing is replaced while a note is being typed.
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
  var bodyUrl = holder.getAttribute("data-patrol-body-url");
  var streamUrl = holder.getAttribute("data-patrol-stream-url");
  if (!bodyUrl || !streamUrl || !window.EventSource || !window.fetch) {
    window.setInterval(function () { if (!busy()) { window.location.reload(); } }, seconds * 1000);
    return;
  }

  var MIN_GAP_MS = 1000;
  var timer = null, inFlight = false, again = false, lastAt = 0;

  function schedule(delayMs) {
    if (timer !== null) { return; }
    timer = window.setTimeout(function () { timer = null; load(); }, delayMs);
  }

  function load() {
    if (inFlight) { again = true; return; }
    if (busy()) { schedule(2000); return; }          // after the note is sent or cleared
    var wait = lastAt + MIN_GAP_MS - Date.now();
    if (wait > 0) { schedule(wait); return; }
    inFlight = true;
    lastAt = Date.now();
    window.fetch(bodyUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) {
        if (resp.redirected || !resp.ok) { throw new Error("patrol body: " + resp.status); }
        return resp.text();
      })
      .then(function (html) {
        if (busy()) { schedule(2000); return; }
        var t = document.createElement("template");
        t.innerHTML = html;
        holder.replaceChildren(t.content);
        holder.setAttribute("data-patrol-updated", String(Date.now()));
      })
      .catch(function () { /* logged out or console away: the next message or tick retries */ })
      .then(function () {
        inFlight = false;
        if (again) { again = false; schedule(0); }
      });
  }

  var source = new EventSource(streamUrl), connected = false;
  source.addEventListener("patrol", function (e) {
    var msg;
    try { msg = JSON.parse(e.data); } catch (err) { return; }
    if (msg.sync) {                                  // a reconnect: catch up what was missed
      if (connected) { schedule(0); }
      connected = true;
      holder.setAttribute("data-patrol-live", "");
      return;
    }
    schedule(150);                                   // a burst of taps: one fetch
  });
  window.addEventListener("pagehide", function () { source.close(); });
  window.setInterval(function () { schedule(0); }, seconds * 1000);
})();
