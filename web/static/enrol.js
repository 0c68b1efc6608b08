// Card enrolment on the credential form: "Read from reader" asks /credentials/enrol/read to
// start a wait, then polls it (about once a second) until a card is read at the chosen node
// (and reader), or 30 seconds pass. A new card is appended to the card numbers field; a card
// that already belongs to another credential is reported, not added.
(function () {
  "use strict";
  var box = document.querySelector("[data-enrol-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-enrol-url");
  var nodeSel = box.querySelector("[data-enrol-node]");
  var readerIn = box.querySelector("[data-enrol-reader]");
  var button = box.querySelector("[data-enrol-start]");
  var status = box.querySelector("[data-enrol-status]");
  var cards = document.querySelector("textarea[name=cards]");
  var timer = null;

  function say(state, vars) {
    var text = box.getAttribute("data-text-" + state) || "";
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(vars[k]); });
    status.textContent = text;
    status.setAttribute("data-state", state);
  }
  function done() {
    if (timer) { clearTimeout(timer); timer = null; }
    button.disabled = false;
  }
  function addCard(card) {
    var have = cards.value.split(/[\s,;，；]+/).filter(function (c) { return c; });
    if (have.indexOf(card) < 0) { have.push(card); }
    cards.value = have.join("\n");
    cards.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function ask(params, onAnswer) {
    var q = Object.keys(params).filter(function (k) { return params[k] !== "" && params[k] != null; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
    fetch(url + "?" + q, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(onAnswer)
      .catch(function () { say("error"); done(); });
  }
  function poll(base, msg) {
    if (msg.state === "found") {
      if (msg.owner) { say("taken", { card: msg.card, owner: msg.owner }); }
      else { addCard(msg.card); say("found", { card: msg.card }); }
      done();
      return;
    }
    if (msg.state === "expired") { say("expired"); done(); return; }
    timer = setTimeout(function () {
      ask({ node: base.node, reader: base.reader, after: msg.after, since: msg.since },
          function (next) { poll(base, next); });
    }, msg.poll_ms || 1000);
  }
  button.addEventListener("click", function () {
    var base = { node: nodeSel.value, reader: (readerIn.value || "").trim() };
    if (!base.node) { say("choose"); return; }
    done();
    button.disabled = true;
    say("waiting");
    ask({ node: base.node, reader: base.reader }, function (msg) { poll(base, msg); });
  });
  window.addEventListener("pagehide", done);
})();
