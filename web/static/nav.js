/* lobbygate console: the main menu (base.html). The menu works without this file (plain
   <details> drop-downs, one open at a time through their shared name); this only adds:
   Escape closes the open drop-down (focus back on its title), a click or focus outside the
   menu closes it, and, on phones, opening the menu also unfolds the current page's group.
   Browsers without ::details-content get the folded-menu wrapper opened on wide screens. */
(function () {
  "use strict";

  var wrap = document.getElementById("main-nav");
  if (!wrap) { return; }
  var groups = wrap.querySelectorAll("details.nav-group");
  var phone = window.matchMedia("(max-width: 720px)");

  function closeGroups(except) {
    for (var i = 0; i < groups.length; i++) {
      if (groups[i] !== except) { groups[i].open = false; }
    }
  }

  // Older browsers: the wrapper's content only shows when it is open.
  var styled = window.CSS && CSS.supports && CSS.supports("selector(::details-content)");
  function syncWrap() { if (!styled && !phone.matches) { wrap.open = true; } }
  syncWrap();
  if (phone.addEventListener) { phone.addEventListener("change", syncWrap); }

  for (var i = 0; i < groups.length; i++) {
    groups[i].addEventListener("toggle", function (e) {
      if (e.target.open) { closeGroups(e.target); }   // for browsers without <details name>
    });
  }

  wrap.addEventListener("toggle", function () {
    if (wrap.open && phone.matches) {
      var active = wrap.querySelector("details.nav-group.active");
      if (active) { active.open = true; }
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    var open = wrap.querySelector("details.nav-group[open]");
    if (open && !phone.matches) {
      open.open = false;
      open.querySelector("summary").focus();
    } else if (wrap.open && phone.matches) {
      wrap.open = false;
      wrap.querySelector("summary").focus();
    }
  });

  function outside(e) {
    if (wrap.contains(e.target)) { return; }
    if (phone.matches) { wrap.open = false; } else { closeGroups(null); }
  }
  document.addEventListener("click", outside);
  document.addEventListener("focusin", outside);
})();
