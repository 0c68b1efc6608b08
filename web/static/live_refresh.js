// Live refresh of a page part from a cheap /live/stream?view=... (messages that only say
// "something changed", and {"sync": true} on each (re)connect). Used by keys.js (the cabinet
// board) and passes.js (the gate board's verdicts). No inline scripts (CSP).
//
// window.lobbygateLiveRefresh({streamUrl, channel, load, fallbackMs, pollMs, setStatus}):
//  - load() fetches and applies the page part; it returns a promise (rejected: it failed).
//  - A message schedules one load, at most once a second: a burst of messages is one load.
//  - Each (re)connect's sync loads once (what was missed while away, or between the page's
//    rendering and the stream's opening).
//  - Every fallbackMs it loads anyway (deadlines pass without a message) and reopens a stream
//    the browser gave up on (an error response: it does not retry those by itself).
//  - Without EventSource (or without streamUrl) it loads every pollMs instead.
//  - setStatus("live" | "reconnecting") follows the stream and the loads.
(function () {
  "use strict";
  var MIN_GAP_MS = 1000;
  var BURST_MS = 150;

  window.lobbygateLiveRefresh = function (opts) {
    var timer = null, inFlight = false, again = false, lastAt = 0;
    var streaming = !!(opts.streamUrl && window.EventSource);
    var streamUp = !streaming, loadOk = true, source = null;

    function status() {
      if (opts.setStatus) { opts.setStatus(streamUp && loadOk ? "live" : "reconnecting"); }
    }

    function schedule(delayMs) {
      if (timer !== null) { return; }
      timer = window.setTimeout(function () { timer = null; run(); }, delayMs);
    }

    function run() {
      if (inFlight) { again = true; return; }
      var wait = lastAt + MIN_GAP_MS - Date.now();
      if (wait > 0) { schedule(wait); return; }
      inFlight = true;
      lastAt = Date.now();
      Promise.resolve()
        .then(opts.load)
        .then(function () { loadOk = true; }, function () { loadOk = false; })
        .then(function () {
          inFlight = false;
          status();
          if (again) { again = false; schedule(0); }
        });
    }

    function open() {
      source = new EventSource(opts.streamUrl);
      source.addEventListener(opts.channel, function (e) {
        var msg;
        try { msg = JSON.parse(e.data); } catch (err) { return; }
        if (msg && msg.sync) {                       // (re)connected: catch up
          streamUp = true;
          status();
          schedule(0);
          return;
        }
        schedule(BURST_MS);
      });
      source.addEventListener("error", function () { streamUp = false; status(); });
    }

    if (!streaming) {
      schedule(0);
      window.setInterval(function () { schedule(0); }, opts.pollMs);
      return;
    }
    open();
    window.setInterval(function () {
      if (source.readyState === EventSource.CLOSED) { open(); }
      schedule(0);
    }, opts.fallbackMs);
    window.addEventListener("pagehide", function () { source.close(); });
  };
})();
