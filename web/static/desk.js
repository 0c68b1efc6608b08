// The front desk (intercom calls, waiting visitors, emergencies) and the on-site list, live
// through server-sent events. Cards arrive as HTML rendered and escaped by the server; nothing
// here builds markup from event data. Also: [data-print] buttons print the page.
(function () {
  "use strict";

  var printButtons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < printButtons.length; i++) {
    printButtons[i].addEventListener("click", function () { window.print(); });
  }
  if (!window.EventSource) { return; }

  function statusSetter(el) {
    return function (state) {
      if (!el) { return; }
      el.setAttribute("data-state", state);
      var text = el.getAttribute("data-text-" + state);
      if (text) { el.textContent = text; }
    };
  }

  function nodeFrom(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function find(container, attr, id) {
    return container.querySelector("[" + attr + '="' + CSS.escape(String(id)) + '"]');
  }

  function refreshEmpty() {
    var notes = document.querySelectorAll("[data-desk-empty]");
    for (var i = 0; i < notes.length; i++) {
      var box = document.getElementById(notes[i].getAttribute("data-desk-empty"));
      if (box) { notes[i].hidden = box.children.length > 0; }
    }
  }

  function upsert(container, attr, id, html, newestFirst) {
    var old = find(container, attr, id);
    if (!html) { if (old) { old.remove(); } return null; }
    var card = nodeFrom(html);
    if (!card) { return null; }
    if (old) { old.replaceWith(card); }
    else if (newestFirst) { container.insertBefore(card, container.firstElementChild); }
    else { container.appendChild(card); }
    return card;
  }

  function connect(url, setStatus, handlers) {
    var source = new EventSource(url);
    var dropped = false;
    source.addEventListener("open", function () {
      setStatus("live");
      if (dropped) { window.location.reload(); }   // missed updates: render afresh
    });
    source.addEventListener("error", function () { dropped = true; setStatus("reconnecting"); });
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (e) {
        var msg;
        try { msg = JSON.parse(e.data); } catch (err) { return; }
        handlers[name](msg);
        refreshEmpty();
      });
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  var desk = document.querySelector("[data-desk-url]");
  if (desk) {
    var calls = document.getElementById("desk-calls");
    var visits = document.getElementById("desk-visits");
    var emergencies = document.getElementById("desk-emergencies");
    var onSite = document.querySelector("[data-on-site-count]");
    connect(desk.getAttribute("data-desk-url"),
            statusSetter(document.querySelector("[data-desk-live-status]")), {
      call: function (m) {
        var card = upsert(calls, "data-call", m.key, m.html, true);
        if (card && m.ringing) { card.classList.add("fresh"); }
      },
      visit: function (m) {
        var card = upsert(visits, "data-visit", m.id, m.html, true);
        if (card) { card.classList.add("fresh"); }
        if (onSite && typeof m.on_site === "number") {
          onSite.textContent = String(m.on_site);
          if (m.on_site) { onSite.removeAttribute("data-zero"); } else { onSite.setAttribute("data-zero", ""); }
        }
      },
      emergency: function (m) { upsert(emergencies, "data-id", m.id, m.html, true); },
      alarm_ack: function (m) { upsert(emergencies, "data-id", m.id, "", true); }
    });
  }

  var onsite = document.querySelector("[data-onsite-url]");
  if (onsite) {
    var rowsUrl = onsite.getAttribute("data-rows-url");
    var box = document.getElementById("on-site-rows");
    var fetching = false, again = false;
    var reload = function () {
      if (fetching) { again = true; return; }
      fetching = true;
      fetch(rowsUrl, {credentials: "same-origin"}).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html !== null) { box.innerHTML = html; }
      }).catch(function () { /* the next change tries again */ }).then(function () {
        fetching = false;
        if (again) { again = false; reload(); }
      });
    };
    connect(onsite.getAttribute("data-onsite-url"),
            statusSetter(document.querySelector("[data-onsite-live-status]")),
            {changed: reload});
  }
})();
