"""The grouped main menu in a real browser (Debian's Chromium): it fits the top bar at desktop
width for every role, drop-downs work with the keyboard, and on a phone the menu folds behind
one button. Screenshots under tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from browser_helpers import PHONE, click_nav, login

WIDE = {"width": 1366, "height": 768}


def _fits_one_row(page: Any) -> bool:
    """The menu's last entry ends left of the language/account tools, on the brand's row."""
    return page.evaluate("""() => {
        const items = document.querySelectorAll('#main-nav .nav-list > li');
        const last = items[items.length - 1].getBoundingClientRect();
        const tools = document.querySelector('.topbar-tools').getBoundingClientRect();
        const brand = document.querySelector('.brand').getBoundingClientRect();
        return last.right <= tools.left && Math.abs(last.top - brand.top) < 20
            && document.documentElement.scrollWidth <= innerWidth;
    }""")


@pytest.mark.parametrize("role", ["admin", "desk", "guard", "patrol"])
def test_menu_fits_the_top_bar_at_desktop_width(console_server: Any, new_page: Any,
                                                tmp_path: Path, role: str) -> None:
    page = new_page(WIDE)
    login(page, console_server.url, role + "1")
    page.wait_for_load_state("load")
    assert _fits_one_row(page)
    with page.expect_navigation():
        page.click("button.lang[lang=en]")                 # English labels are longer
    page.wait_for_load_state("load")                       # styles applied before measuring
    assert page.locator("button.lang.current[lang=en]").count() == 1
    assert _fits_one_row(page)
    page.screenshot(path=str(tmp_path / f"nav-{role}-desktop.png"))


def test_drop_down_opens_and_closes_with_the_keyboard(console_server: Any, new_page: Any) -> None:
    page = new_page(WIDE)
    login(page, console_server.url, "admin1")
    summary = page.locator("details[data-group=doors] > summary")
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("#main-nav a[href='/credentials']").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#main-nav a[href='/credentials']").is_visible()
    assert page.evaluate("document.activeElement.parentElement.dataset.group") == "doors"


def test_one_drop_down_open_at_a_time_and_a_click_outside_closes_it(
        console_server: Any, new_page: Any) -> None:
    page = new_page(WIDE)
    login(page, console_server.url, "admin1")
    page.click("details[data-group=doors] > summary")
    page.click("details[data-group=keys] > summary")
    assert page.locator("details.nav-group[open]").count() == 1
    page.click("main h1")
    assert page.locator("details.nav-group[open]").count() == 0


def test_link_in_a_drop_down_goes_there_and_marks_its_group(console_server: Any,
                                                            new_page: Any) -> None:
    page = new_page(WIDE)
    login(page, console_server.url, "desk1")
    click_nav(page, "/keys/loans")
    page.wait_for_url(console_server.url + "/keys/loans")
    assert page.locator("details.nav-group.active").get_attribute("data-group") == "keys"
    assert page.locator("#main-nav a[aria-current=page]").get_attribute("href") == "/keys/loans"


@pytest.mark.parametrize("role", ["admin", "guard", "patrol"])
def test_phone_menu_is_folded_until_the_menu_button(console_server: Any, new_page: Any,
                                                    tmp_path: Path, role: str) -> None:
    page = new_page(PHONE)
    login(page, console_server.url, role + "1")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    first = page.locator("#main-nav .nav-list a").first
    assert not first.is_visible()
    page.click("#main-nav > summary.nav-toggle")
    assert first.is_visible()
    page.screenshot(path=str(tmp_path / f"nav-{role}-phone.png"))
    page.keyboard.press("Escape")
    assert not first.is_visible()
