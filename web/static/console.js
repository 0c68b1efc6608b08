/* lobbygate console: live dashboard (server-sent events) and small form helpers.
   Rows arrive as HTML rendered and escaped by the server; nothing here builds markup
   from event data. No external scripts. */
(function () {
  "use strict";

  // Forms with data-confirm ask first (disable a user...).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { e.preventDefault(); }
  });

  var root = document.querySelector("[data-live-url]");
  if (!root || !window.EventSource) { return; }

  var statusEl = document.getElementById("live-status");
  var eventsBody = document.getElementById("live-events");
  var alarmsBody = document.getElementById("open-alarms");
  var maxEvents = parseInt(root.getAttribute("data-max-events") || "50", 10);

  function setStatus(state) {
    if (!statusEl) { return; }
    statusEl.setAttribute("data-state", state);
    var text = statusEl.getAttribute("data-text-" + state);
    if (text) { statusEl.textContent = text; }
  }

  function rowFrom(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function findRow(body, id) {
    var rows = body.children;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-id") === String(id)) { return rows[i]; }
    }
    return null;
  }

  function refresh() {
    var notes = document.querySelectorAll("[data-empty-for]");
    for (var i = 0; i < notes.length; i++) {
      var body = document.getElementById(notes[i].getAttribute("data-empty-for"));
      if (body) {
        notes[i].hidden = body.children.length > 0;
        var table = body.closest("table");
        if (table) { table.classList.toggle("is-empty", body.children.length === 0); }
      }
    }
    var counts = document.querySelectorAll("[data-count-for]");
    for (var j = 0; j < counts.length; j++) {
      var b = document.getElementById(counts[j].getAttribute("data-count-for"));
      if (b) {
        counts[j].textContent = String(b.children.length);
        if (b.children.length) { counts[j].removeAttribute("data-zero"); }
        else { counts[j].setAttribute("data-zero", ""); }
      }
    }
  }

  function addEvent(msg) {
    if (!eventsBody || findRow(eventsBody, msg.id)) { return; }
    var row = rowFrom(msg.html);
    if (!row) { return; }
    row.classList.add("fresh");
    eventsBody.insertBefore(row, eventsBody.firstElementChild);
    while (eventsBody.children.length > maxEvents) { eventsBody.lastElementChild.remove(); }
  }

  function insertAlarm(msg, fresh) {
    if (!alarmsBody || findRow(alarmsBody, msg.id)) { return; }
    var row = rowFrom(msg.html);
    if (!row) { return; }
    if (fresh) { row.classList.add("fresh"); }
    // newest (highest id) first
    var before = null, rows = alarmsBody.children;
    for (var i = 0; i < rows.length; i++) {
      if (Number(rows[i].getAttribute("data-id")) < Number(msg.id)) { before = rows[i]; break; }
    }
    alarmsBody.insertBefore(row, before);
  }

  function removeAlarm(id) {
    if (!alarmsBody) { return; }
    var row = findRow(alarmsBody, id);
    if (row) { row.remove(); }
  }

  function sync(msg) {
    if (eventsBody) {
      var t = document.createElement("template");
      t.innerHTML = msg.events_html;
      eventsBody.replaceChildren(t.content);
    }
    if (alarmsBody) {
      var keep = {};
      msg.alarms.forEach(function (a) { keep[String(a.id)] = true; });
      Array.prototype.slice.call(alarmsBody.children).forEach(function (row) {
        if (!keep[row.getAttribute("data-id")]) { row.remove(); }  // acknowledged meanwhile
      });
      msg.alarms.forEach(function (a) { insertAlarm(a, false); });  // typed notes are kept
    }
  }

  function handler(fn) {
    return function (e) {
      var msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      fn(msg);
      refresh();
    };
  }

  var source = new EventSource(root.getAttribute("data-live-url"));
  source.addEventListener("open", function () { setStatus("live"); });
  source.addEventListener("error", function () {
    setStatus(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  });
  source.addEventListener("sync", handler(sync));
  source.addEventListener("event", handler(addEvent));
  source.addEventListener("alarm", handler(function (m) { insertAlarm(m, true); }));
  source.addEventListener("alarm_ack", handler(function (m) { removeAlarm(m.id); }));
  window.addEventListener("pagehide", function () { source.close(); });
  refresh();
})();
