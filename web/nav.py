"""The console's main menu: pages grouped by job (front desk, doors, keys, patrol, meters,
system), filtered by role.

:data:`MENU` is the one table of what the top bar offers. :func:`menu_for` turns it into what
one user sees on one page: only the links their role may open (``PAGE_ROLES`` via
:func:`web.auth.access.can`), groups left with one link shown as that plain link, empty
groups dropped, and the link (and its group) of the current page marked active. ``base.html``
renders it as ``<details>`` drop-downs (keyboard and touch friendly without any script;
``static/nav.js`` only closes an open drop-down on Escape or an outside click and folds the
menu on phones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, g, request
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from .auth.access import can

__all__ = ["MenuLink", "MenuGroup", "MENU", "menu_for", "init_app"]


@dataclass(frozen=True)
class MenuLink:
    """One menu entry. ``page``: the ``PAGE_ROLES`` key the role must be allowed; ``endpoint``:
    where it goes; ``match``: endpoints (``"x.y"``) or blueprint prefixes (``"x."``) of the
    pages it stands for (default: its blueprint; a pattern ending in "." or "_" is a prefix) — the longest match marks the active link;
    ``roles``: shown only to these roles (default: every role ``page`` allows); ``unless``: not
    shown to roles that may open this other page (e.g. the guard's view of goods passes)."""

    page: str
    endpoint: str
    label: Any
    match: tuple[str, ...] = ()
    roles: frozenset[str] | None = None
    unless: str | None = None

    def patterns(self) -> tuple[str, ...]:
        return self.match or (self.endpoint.split(".")[0] + ".",)

    def score(self, endpoint: str) -> int:
        """Length of the longest pattern matching ``endpoint`` (0: none)."""
        best = 0
        for p in self.patterns():
            if endpoint == p or (p.endswith((".", "_")) and endpoint.startswith(p)):
                best = max(best, len(p) + (1 if endpoint == p else 0))
        return best

    def visible_to(self, role: str | None) -> bool:
        if not can(role, self.page):
            return False
        if self.roles is not None and role not in self.roles:
            return False
        return not (self.unless and can(role, self.unless))


@dataclass(frozen=True)
class MenuGroup:
    """A drop-down (``links`` of several) or, with ``key`` "" and one link, a top-level link."""

    key: str
    label: Any
    links: tuple[MenuLink, ...] = field(default_factory=tuple)


def _group(key: str, label: Any, *links: MenuLink) -> MenuGroup:
    return MenuGroup(key=key, label=label, links=links)


#: The whole menu, in display order.
MENU: tuple[MenuGroup, ...] = (
    _group("", "", MenuLink("dashboard", "dashboard.index", _l("Dashboard"))),
    _group("", "", MenuLink("alarms", "alarms.index", _l("Alarms"))),
    _group("desk", lazy_pgettext("menu", "Front desk"),
           MenuLink("desk", "desk.index", _l("Intercom desk")),
           MenuLink("visitors", "visitors.index", _l("Visitors")),
           MenuLink("invites", "invites.index", _l("Invites")),
           MenuLink("on_site", "on_site.index", _l("On site now")),
           MenuLink("watchlist", "visitors.watchlist", _l("Watchlist"),
                    match=("visitors.watchlist",)),
           MenuLink("passes", "passes.index", _l("Goods passes"),
                    match=("passes.", "passes_issue.", "passes_archive.", "passes_guard.")),
           MenuLink("passes_guard", "passes_guard.index", _l("Goods passes"),
                    match=("passes.", "passes_guard."), unless="passes")),
    _group("doors", lazy_pgettext("menu", "Doors"),
           MenuLink("doors", "doors.board", _l("Door states")),
           MenuLink("access_log", "access.log", _l("Access log")),
           MenuLink("credentials", "credentials.index", _l("Credentials"),
                    match=("credentials.", "enrol.")),
           MenuLink("schedules", "schedules.index", _l("Schedules"))),
    _group("keys", lazy_pgettext("menu", "Keys"),
           MenuLink("keys", "keys.index", _l("Key register")),
           MenuLink("key_cabinets", "key_cabinets.board", _l("Key cabinets")),
           MenuLink("key_loans", "key_loans.index", _l("Key loans"),
                    match=("key_loans.index",)),
           MenuLink("key_loans", "key_loans.reminders", _l("Reminders"),
                    match=("key_loans.reminders",))),
    _group("patrol", lazy_pgettext("menu", "Patrol"),
           MenuLink("patrol_me", "patrol.me", _l("My rounds"), match=("patrol.me",),
                    roles=frozenset({"patrol"})),
           MenuLink("patrol_live", "patrol.live", _l("Patrol rounds today"),
                    match=("patrol.live", "patrol.round_page")),
           MenuLink("patrol_reports", "patrol.reports", _l("Patrol reports"),
                    match=("patrol.reports", "patrol.reports_csv")),
           MenuLink("patrol_plan", "patrol.plan_index", _l("Patrol plan"),
                    match=("patrol.plan_",))),
    _group("meters", lazy_pgettext("menu", "Meters"),
           MenuLink("meters", "meters.index", _l("Meters")),
           MenuLink("meters", "meters.statements", _l("Meter statements"),
                    match=("meters.statements",)),
           MenuLink("meters_admin", "meters.settings", _l("Meter settings"),
                    match=("meters.settings",))),
    _group("system", lazy_pgettext("menu", "System"),
           MenuLink("units", "units.index", _l("Units")),
           MenuLink("nodes", "nodes.index", _l("Nodes")),
           MenuLink("intercom_panels", "intercom_panels.index", _l("Intercom panels")),
           MenuLink("events", "events.search", _l("Events")),
           MenuLink("audit", "audit.index", _l("Audit log")),
           MenuLink("users", "users.index", _l("Users"))),
)


@dataclass(frozen=True)
class ShownLink:
    """A link as rendered: ``href``, ``label``, ``active``."""

    href: str
    label: Any
    active: bool


@dataclass(frozen=True)
class ShownGroup:
    """A rendered menu entry: ``links`` of one (a top-level link) or more (a drop-down)."""

    key: str
    label: Any
    links: tuple[ShownLink, ...]
    active: bool

    @property
    def single(self) -> bool:
        return len(self.links) == 1


def menu_for(role: str | None, endpoint: str, *,
             url_for: Any, menu: tuple[MenuGroup, ...] = MENU) -> list[ShownGroup]:
    """What ``role`` sees on the page of ``endpoint``; ``url_for(endpoint)`` builds the hrefs.
    The active link is the one whose ``match`` fits ``endpoint`` best (none on pages outside
    the menu, e.g. the password page)."""
    visible = [(grp, [ln for ln in grp.links if ln.visible_to(role)]) for grp in menu]
    best = max((ln.score(endpoint) for _, links in visible for ln in links), default=0)
    out = []
    for grp, links in visible:
        if not links:
            continue
        shown = tuple(ShownLink(href=url_for(ln.endpoint), label=ln.label,
                                active=best > 0 and ln.score(endpoint) == best) for ln in links)
        out.append(ShownGroup(key=grp.key, label=grp.label, links=shown,
                              active=any(s.active for s in shown)))
    return out


def init_app(app: Flask) -> None:
    """Give the templates ``main_menu()``: the menu of the logged-in user on this page."""
    from flask import url_for

    @app.context_processor
    def _menu() -> dict[str, Any]:
        def main_menu() -> list[ShownGroup]:
            user = g.get("user")
            return menu_for(user.role if user else None, request.endpoint or "",
                            url_for=url_for)
        return {"main_menu": main_menu}
