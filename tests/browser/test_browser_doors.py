"""Door access in a real browser (Debian's Chromium): add a card and import a CSV with a bad row
on the credentials page, then watch a door's state change live on the doors board. Screenshots
are saved under each test's tmp_path."""

from __future__ import annotations

from browser_helpers import DESKTOP, PHONE, add_event, click_nav, login, shot


def test_credentials_page_adds_a_card_and_imports_a_csv(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = new_page(DESKTOP)
    base = console_server.url
    login(page, base, "desk1")
    click_nav(page, "/credentials")
    page.click("text=添加门禁卡")
    page.fill("input[name=credential_id]", "c-1001")
    page.fill("input[name=holder]", "王芳")
    page.fill("input[name=unit]", "3-2-501")
    page.fill("textarea[name=cards]", "w26:123:4567")
    page.fill("input[name=doors]", "lobby gate-north")
    page.fill("input[name=pin]", "4821")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(base + "/credentials")
    assert page.locator('tr[data-credential="c-1001"]').inner_text().count("王芳") == 1
    csv_path = tmp_path / "cards.csv"
    csv_path.write_text("id,cards,holder,unit,kind,doors\n"
                        "c-2,w26:10:2,李雷,5-1-101,tenant,*\n"
                        "c-3,bad-card,韩梅梅,5-1-102,resident,*\n", encoding="utf-8")
    page.click("text=导入 CSV")
    page.set_input_files("input[name=file]", str(csv_path))
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector("[data-import-report]")
    assert page.locator('[data-problem-row="3"]').count() == 1
    assert "卡号无效" in page.locator('[data-problem-row="3"]').inner_text()
    shot(page, tmp_path, "credentials-import-report")
    page.goto(base + "/credentials")
    assert page.locator("tr[data-credential]").count() == 2
    shot(page, tmp_path, "credentials-list")
    assert console_server.services.credentials.version() == 2


def test_doors_board_follows_a_door_live(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    add_event(services, 1, "door.state", {"door": "lobby", "state": "locked", "locked": True,
                                           "open": False})
    add_event(services, 2, "door.granted", {"door": "lobby", "reader": "lobby-in",
                                             "reason": "granted", "holder": "王芳",
                                             "unit": "3-2-501", "card": "w26:123:4567"})
    page = new_page(DESKTOP)
    login(page, console_server.url, "desk1")
    click_nav(page, "/doors")
    page.wait_for_selector('[data-door-live-status][data-state="live"]')
    card = page.locator('[data-door="lobby"]')
    assert card.get_attribute("data-state") == "locked"
    assert "已锁" in card.locator("[data-door-state]").inner_text()
    shot(page, tmp_path, "doors-locked")
    add_event(services, 3, "door.forced", {"door": "lobby"})
    page.wait_for_selector('[data-door="lobby"][data-state="forced"]')
    assert "被强行打开" in card.locator("[data-door-state]").inner_text()
    assert "门被强行打开" in card.locator("[data-door-events] li").first.inner_text()
    shot(page, tmp_path, "doors-forced")
    phone = new_page(PHONE)
    login(phone, console_server.url, "guard1")
    phone.goto(console_server.url + "/doors")
    assert phone.locator(".door-unlock").count() == 0          # guards watch, never unlock
    shot(phone, tmp_path, "doors-phone-guard")
