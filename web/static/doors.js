// The doors board: door.* events arrive as "door" messages on /doors/stream and update the
// door's state and its list of last events (newest first, at most 5).
(function () {
  "use strict";
  var board = document.querySelector("[data-doors-url]");
  if (!board || !window.EventSource) { return; }
  var status = document.querySelector("[data-door-live-status]");
  function setStatus(state) {
    if (!status) { return; }
    status.setAttribute("data-state", state);
    var text = status.getAttribute("data-text-" + state);
    if (text) { status.textContent = text; }
  }
  function update(msg) {
    var card = board.querySelector('[data-door="' + CSS.escape(msg.door) + '"]');
    if (!card) { window.location.reload(); return; }   // a new door: render it server-side
    if (msg.state) {
      card.setAttribute("data-state", msg.state);
      card.querySelector("[data-door-state]").textContent = msg.state_label;
    }
    var list = card.querySelector("[data-door-events]");
    var li = document.createElement("li");
    var time = document.createElement("span");
    time.className = "time";
    time.textContent = (msg.event.time || "").slice(11);
    li.appendChild(time);
    var text = " " + msg.event.kind + (msg.event.holder ? " · " + msg.event.holder : "");
    li.appendChild(document.createTextNode(text));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 5) { list.removeChild(list.lastChild); }
  }
  var source = new EventSource(board.getAttribute("data-doors-url"));
  source.addEventListener("open", function () { setStatus("live"); });
  source.addEventListener("error", function () { setStatus("reconnecting"); });
  source.addEventListener("door", function (e) {
    try { update(JSON.parse(e.data)); } catch (err) { /* a bad message never stops the board */ }
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();

// Remote commands: a pending command's result (ok / failed / expired) is asked for about once
// a second until it is settled, so the board shows it without a reload.
(function () {
  "use strict";
  if (!window.fetch) { return; }
  function follow(cell) {
    var url = cell.getAttribute("data-cmd-url");
    function ask() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (msg) {
          cell.textContent = msg.state_label;
          cell.setAttribute("data-state", msg.state);
          cell.setAttribute("data-cmd-state", msg.state);
          if (msg.error) {
            var err = document.createElement("span");
            err.className = "muted";
            err.setAttribute("data-cmd-error", "");
            err.textContent = " " + msg.error;
            cell.parentNode.appendChild(err);
          }
          if (msg.state === "pending") { setTimeout(ask, 1000); }
        })
        .catch(function () { setTimeout(ask, 3000); });
    }
    setTimeout(ask, 500);
  }
  var cells = document.querySelectorAll("[data-cmd-url]");
  for (var i = 0; i < cells.length; i++) { follow(cells[i]); }
})();
