// Key cabinets board: polls /keys/cabinets.json every few seconds and updates each slot's
// state, label and borrower in place (a new cabinet or slot reloads the page).
(function () {
  "use strict";
  var board = document.querySelector("[data-cabinets-url]");
  if (!board || !window.fetch) { return; }
  var url = board.getAttribute("data-cabinets-url");
  var every = parseInt(board.getAttribute("data-poll-ms"), 10) || 2000;
  var status = document.querySelector("[data-cabinet-live-status]");
  var timer = null;
  function setStatus(state) {
    if (!status) { return; }
    status.setAttribute("data-state", state);
    var text = status.getAttribute("data-text-" + state);
    if (text) { status.textContent = text; }
  }
  function update(data) {
    (data.cabinets || []).forEach(function (c) {
      var el = board.querySelector('[data-cabinet="' + CSS.escape(c.cabinet) + '"]');
      if (!el) { window.location.reload(); return; }
      var door = el.querySelector("[data-cabinet-door]");
      if (door) {
        door.setAttribute("data-open", c.door_open ? "true" : "false");
        door.textContent = board.getAttribute(c.door_open ? "data-text-door-open" : "data-text-door-closed");
      }
      (c.slots || []).forEach(function (s) {
        var li = el.querySelector('[data-slot="' + s.slot + '"]');
        if (!li) { window.location.reload(); return; }
        li.setAttribute("data-state", s.state);
        if (s.overdue) { li.setAttribute("data-overdue", "true"); } else { li.removeAttribute("data-overdue"); }
        li.querySelector("[data-slot-state]").textContent = s.state_label;
        li.querySelector("[data-slot-who]").textContent = s.who || (s.state === "wrong" && s.wrong_key ? s.wrong_key : "");
      });
    });
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (r.redirected || !r.ok) { throw new Error(String(r.status)); }
        return r.json();
      })
      .then(function (data) { update(data); setStatus("live"); })
      .catch(function () { setStatus("reconnecting"); })
      .then(function () { timer = window.setTimeout(poll, every); });
  }
  poll();
  window.addEventListener("pagehide", function () { if (timer) { window.clearTimeout(timer); } });
})();
