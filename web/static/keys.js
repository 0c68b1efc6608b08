// Key cabinets board: updates each slot's state, label and borrower and each cabinet's door in
// place from /keys/cabinets.json (a new or removed cabinet or slot reloads the page), fetched
// when /live/stream?view=keys says a cabinet, a loan or the register changed (live_refresh.js:
// at most once a second, after each reconnect, every data-fallback-ms; every data-poll-ms in a
// browser without server-sent events).
(function () {
  "use strict";
  var board = document.querySelector("[data-cabinets-url]");
  if (!board || !window.fetch || !window.lobbygateLiveRefresh) { return; }
  var url = board.getAttribute("data-cabinets-url");
  var status = document.querySelector("[data-cabinet-live-status]");
  function setStatus(state) {
    if (!status) { return; }
    status.setAttribute("data-state", state);
    var text = status.getAttribute("data-text-" + state);
    if (text) { status.textContent = text; }
  }
  function update(data) {
    var cabinets = data.cabinets || [];
    if (cabinets.length !== board.querySelectorAll("[data-cabinet]").length) {
      window.location.reload();
      return;
    }
    cabinets.forEach(function (c) {
      var el = board.querySelector('[data-cabinet="' + CSS.escape(c.cabinet) + '"]');
      var slots = c.slots || [];
      if (!el || slots.length !== el.querySelectorAll("[data-slot]").length) {
        window.location.reload();
        return;
      }
      var door = el.querySelector("[data-cabinet-door]");
      if (door) {
        door.setAttribute("data-open", c.door_open ? "true" : "false");
        door.textContent = board.getAttribute(c.door_open ? "data-text-door-open" : "data-text-door-closed");
      }
      slots.forEach(function (s) {
        var li = el.querySelector('[data-slot="' + s.slot + '"]');
        if (!li) { window.location.reload(); return; }
        li.setAttribute("data-state", s.state);
        if (s.overdue) { li.setAttribute("data-overdue", "true"); } else { li.removeAttribute("data-overdue"); }
        li.querySelector("[data-slot-state]").textContent = s.state_label;
        li.querySelector("[data-slot-who]").textContent = s.who || (s.state === "wrong" && s.wrong_key ? s.wrong_key : "");
      });
    });
    board.setAttribute("data-updated", String(Date.now()));
  }
  function load() {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (r.redirected || !r.ok) { throw new Error(String(r.status)); }
        return r.json();
      })
      .then(update);
  }
  window.lobbygateLiveRefresh({
    streamUrl: board.getAttribute("data-stream-url"), channel: "keys", load: load,
    fallbackMs: parseInt(board.getAttribute("data-fallback-ms"), 10) || 30000,
    pollMs: parseInt(board.getAttribute("data-poll-ms"), 10) || 2000, setStatus: setStatus
  });
})();
