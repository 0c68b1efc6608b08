"""The grouped main menu (web/nav.py, base.html): what each role sees, which entry is active."""

from __future__ import annotations

import re

import pytest

from web.nav import menu_for

from console_helpers import ROLES, login

_HREF = re.compile(r'href="([^"]+)"')


def _menu_html(page: str) -> str:
    return page[page.index('id="main-nav"'):page.index("</nav>")]


def _url(endpoint: str) -> str:
    return "/" + endpoint


@pytest.mark.parametrize("role", ROLES)
def test_every_menu_link_opens_for_the_role_that_sees_it(client, role) -> None:  # type: ignore[no-untyped-def]
    login(client, role + "1")
    hrefs = _HREF.findall(_menu_html(client.get("/").get_data(as_text=True)))
    assert hrefs
    for href in hrefs:
        with client.get(href) as resp:
            assert resp.status_code == 200, (role, href, resp.status_code)


def test_admin_menu_groups_pages_by_job(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    menu = _menu_html(client.get("/").get_data(as_text=True))
    groups = re.findall(r'data-group="(\w+)"', menu)
    assert groups == ["desk", "doors", "keys", "patrol", "meters", "system"]


def test_guard_menu_has_no_desk_only_or_admin_pages(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    hrefs = set(_HREF.findall(_menu_html(client.get("/").get_data(as_text=True))))
    for forbidden in ("/desk", "/visitors", "/credentials", "/keys", "/meters", "/units",
                      "/nodes", "/users", "/audit", "/schedules", "/passes", "/patrol/plan"):
        assert forbidden not in hrefs
    assert {"/passes/guard", "/keys/cabinets", "/on-site", "/doors"} <= hrefs


def test_patrol_menu_is_the_dashboard_and_own_rounds_as_plain_links(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "patrol1")
    menu = _menu_html(client.get("/").get_data(as_text=True))
    assert _HREF.findall(menu) == ["/", "/patrol/me"]
    assert "nav-group" not in menu


def test_group_of_the_current_page_is_marked_active(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    menu = _menu_html(client.get("/keys/loans").get_data(as_text=True))
    assert re.search(r'class="nav-group active" name="nav-group" data-group="keys"', menu)
    assert re.findall(r'<a href="([^"]+)" class="active" aria-current="page"', menu) == ["/keys/loans"]


def test_most_specific_link_wins_within_one_blueprint() -> None:
    groups = menu_for("admin", "visitors.watchlist", url_for=_url)
    active = [ln.href for g in groups for ln in g.links if ln.active]
    assert active == ["/visitors.watchlist"]


def test_page_outside_the_menu_marks_nothing_active() -> None:
    groups = menu_for("desk", "auth.change_password", url_for=_url)
    assert not any(g.active for g in groups)


def test_a_group_with_one_visible_link_is_shown_as_that_link() -> None:
    groups = menu_for("guard", "dashboard.index", url_for=_url)
    keys = next(g for g in groups if g.key == "keys")
    assert keys.single and keys.links[0].href == "/key_cabinets.board"


def test_unknown_role_sees_no_menu() -> None:
    assert menu_for(None, "dashboard.index", url_for=_url) == []
