"""The intercom desk and visitor pages in a real browser (Debian's Chromium): a call rings live
on the desk page with the residents' phones, an emergency shows in red, the visitor form, the
invite QR page on a phone, and the unit registry pages. Screenshots under each test's tmp_path."""

from __future__ import annotations

import itertools
import time
from typing import Any

from mqtt_topics import EventEnvelope, is_alarm
from web.units import parse_unit

from browser_helpers import DESKTOP, PHONE, click_nav, login, shot

_seq = itertools.count(1)


def add_unit(services: Any, building: str, number: str, residents: list[dict[str, str]],
             vacant: bool = False) -> None:
    services.units.save(parse_unit({"building": building, "number": number, "vacant": vacant,
                                    "residents": residents}), by="admin1", create=True)


def intercom_event(services: Any, kind: str, data: dict[str, Any]) -> None:
    """Store and announce an intercom event as the ingest does."""
    seq = next(_seq)
    now = time.time_ns() // 1_000_000
    env = EventEnvelope(event_id=f"lobby:b1:{seq}", node="lobby", kind=kind, ts=now, seq=seq,
                        data=data)
    with services.db.transaction():
        ev = services.events.add(env, received_at=now)
        alarm = services.alarms.raise_for_event(ev) if is_alarm(kind) else None
        services.visitors.on_event(ev)
    services.live.publish("event", ev.to_dict())
    if alarm is not None:
        services.live.publish("alarm", alarm.to_dict())


def _residents(services: Any) -> None:
    add_unit(services, "A", "1201", [{"name": "王芳", "phone": "13800000000", "relation": "owner"},
                                     {"name": "王小明", "phone": "13800000001",
                                      "relation": "household"}])
    add_unit(services, "A", "1202", [], vacant=True)


def test_desk_page_rings_a_live_call_and_shows_an_emergency(console_server, new_page,
                                                            tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    _residents(services)
    page = new_page(DESKTOP)
    login(page, console_server.url, "desk1")
    click_nav(page, "/desk")
    page.wait_for_selector('[data-desk-live-status][data-state="live"]')
    assert page.locator("[data-call]").count() == 0
    intercom_event(services, "intercom.call", {"panel": "lobby-panel", "call_id": "b1-1",
                                               "unit": "1201", "via": "keypad"})
    card = page.locator('[data-call="lobby:b1-1"]')
    card.wait_for()
    assert card.get_attribute("data-state") == "ringing"
    text = card.inner_text()
    assert "A-1201" in text and "王芳" in text and "13800000000" in text and "振铃" in text
    shot(page, tmp_path, "desk-call-ringing")
    intercom_event(services, "intercom.call", {"panel": "lobby-panel", "call_id": "b1-2",
                                               "unit": "1202", "via": "button"})
    page.locator('[data-call="lobby:b1-2"]').wait_for()
    assert "空置" in page.locator('[data-call="lobby:b1-2"]').inner_text()
    intercom_event(services, "intercom.emergency", {"panel": "lobby-panel", "repeats": 0})
    banner = page.locator(".desk-emergency")
    banner.wait_for()
    assert "紧急" in banner.inner_text()
    shot(page, tmp_path, "desk-emergency")
    card.locator('[data-action="confirm-phone"]').click()
    page.wait_for_selector('[data-call="lobby:b1-1"][data-confirmed="phone"]')
    page.locator('[data-call="lobby:b1-1"] [data-action="register"]').click()
    page.wait_for_selector("form.visit-form")
    assert page.input_value("input[name=unit]") == "A-1201"
    shot(page, tmp_path, "desk-register-from-call")


def test_visitor_form_registers_and_keeps_only_the_id_tail(console_server, new_page,
                                                           tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    _residents(services)
    page = new_page(DESKTOP)
    login(page, console_server.url, "desk1")
    page.goto(console_server.url + "/visitors/new")
    page.fill("input[name=name]", "张伟")
    page.select_option("select[name=id_type]", "resident_id")
    page.fill("input[name=id_number]", "110101199003074518")
    page.fill("input[name=phone]", "139 1234 5678")
    page.fill("input[name=unit]", "A-9999")
    page.fill("input[name=purpose]", "探亲")
    page.fill("input[name=plate]", "沪A 12345")
    page.fill("input[name=people]", "2")
    shot(page, tmp_path, "visitor-form")
    page.click("form.visit-form button[type=submit]")
    page.wait_for_selector(".field.has-error")
    assert "不在房屋登记中" in page.inner_text(".field.has-error")
    assert page.input_value("input[name=id_number]") == ""          # never echoed back
    shot(page, tmp_path, "visitor-form-error")
    page.fill("input[name=id_number]", "110101199003074518")
    page.fill("input[name=unit]", "A-1201")
    page.click("form.visit-form button[type=submit]")
    page.wait_for_selector("[data-unlock-blocked]")
    body = page.inner_text("main")
    assert "****4518" in body and "110101199003074518" not in body
    assert page.locator('[data-action="unlock"]').count() == 0
    shot(page, tmp_path, "visit-waiting")
    page.click('[data-action="confirm-phone"]')
    page.wait_for_selector('[data-action="unlock"]')
    shot(page, tmp_path, "visit-confirmed")
    page.click('[data-action="check-in"]')
    page.wait_for_selector('[data-action="check-out"]')
    guard = new_page(DESKTOP)
    login(guard, console_server.url, "guard1")
    guard.goto(console_server.url + "/on-site")
    guard.wait_for_selector('[data-onsite-live-status][data-state="live"]')
    assert guard.locator("tr[data-visit]").count() == 1
    other = services.visitors.register({"name": "李四", "id_type": "passport",
                                        "id_number": "E12345678", "unit": "A-1201",
                                        "people": "3"}, by="desk1").visit
    services.visitors.confirm_visit(other.id, via="in_person", by="desk1")
    services.visitors.check_in(other.id, by="desk1", role="desk")
    guard.wait_for_selector(f'tr[data-visit="{other.id}"]')           # arrives live
    assert "共 5 人" in guard.inner_text(".onsite-summary")
    shot(guard, tmp_path, "on-site-guard")


def test_invite_qr_page_fits_a_phone(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    _residents(services)
    page = new_page(DESKTOP)
    login(page, console_server.url, "desk1")
    page.goto(console_server.url + "/invites/new?unit=A-1201")
    page.fill("input[name=name]", "赵六")
    page.fill("input[name=purpose]", "送货")
    page.fill("input[name=uses]", "2")
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector("[data-qr] svg")
    url = page.url
    phone = new_page(PHONE)
    login(phone, console_server.url, "desk1")
    phone.goto(url)
    qr = phone.locator("[data-qr] svg")
    box = qr.bounding_box()
    assert box is not None and 200 <= box["width"] <= PHONE["width"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert "赵六" in phone.inner_text(".invite-pass")
    shot(phone, tmp_path, "invite-phone")
    page.once("dialog", lambda d: d.accept())
    page.click("text=撤销")
    page.wait_for_selector("[data-void]")
    shot(page, tmp_path, "invite-revoked")


def test_unit_pages_list_edit_and_import(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    _residents(services)
    page = new_page(DESKTOP)
    login(page, console_server.url, "admin1")
    click_nav(page, "/units")
    page.wait_for_selector('tr[data-unit="A-1201"]')
    shot(page, tmp_path, "units-list")
    page.click("text=添加房号")
    page.fill("input[name=building]", "B")
    page.fill("input[name=number]", "301")
    page.fill("textarea[name=residents]", "韩梅梅/13700000000/租户")
    shot(page, tmp_path, "unit-form")
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector('tr[data-unit="B-301"]')
    assert "韩梅梅" in page.inner_text('tr[data-unit="B-301"]')
    csv_path = tmp_path / "units.csv"
    csv_path.write_text("building,number,vacant,residents\nC,101,no,李雷/13600000000/业主\n"
                        "C,1 02,no,\n", encoding="utf-8")
    page.click("text=导入 CSV")
    page.set_input_files("input[name=file]", str(csv_path))
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector("[data-import-report]")
    assert page.locator('[data-problem-row="3"]').count() == 1
    shot(page, tmp_path, "units-import-report")
    assert services.units.exists("C-101") and services.units.count() == 4
    desk = new_page(PHONE)
    login(desk, console_server.url, "desk1")
    desk.goto(console_server.url + "/units?q=韩")
    assert desk.locator("tr[data-unit]").count() == 1
    assert desk.locator("text=添加房号").count() == 0
    shot(desk, tmp_path, "units-phone-desk")


def test_watchlist_warns_at_registration_and_the_visitors_page_reports(console_server, new_page,
                                                                        tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    _residents(services)
    admin = new_page(DESKTOP)
    login(admin, console_server.url, "admin1")
    admin.goto(console_server.url + "/visitors/watchlist")
    admin.select_option("select[name=kind]", "plate")
    admin.fill("input[name=value]", "沪B 99999")
    admin.fill("input[name=note]", "多次滋扰，通知保安")
    admin.click("form[action$='/visitors/watchlist'] button[type=submit]")
    admin.wait_for_selector("tr[data-watch]")
    shot(admin, tmp_path, "watchlist-admin")
    page = new_page(DESKTOP)
    login(page, console_server.url, "desk1")
    page.goto(console_server.url + "/visitors/new?unit=A-1201")
    page.fill("input[name=name]", "钱七")
    page.fill("input[name=id_number]", "E12345678")
    page.fill("input[name=plate]", "沪b99999")
    page.click("form.visit-form button[type=submit]")
    page.wait_for_selector(".flash-warning")
    assert "多次滋扰" in page.inner_text(".flash-warning")
    assert page.locator(".watch-warning").count() == 1              # registered, flagged
    shot(page, tmp_path, "visit-watchlist-warning")
    page.goto(console_server.url + "/visitors")
    page.wait_for_selector("[data-desk-report]")
    assert page.locator("tr[data-visit]").count() == 1
    shot(page, tmp_path, "visitors-list")
    page.goto(console_server.url + "/invites")
    shot(page, tmp_path, "invites-list")
