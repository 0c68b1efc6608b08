"""Door access administration in a real browser (Debian's Chromium): the schedules and holidays
editor, card enrolment by presenting the card at a reader, hold-open with its command result
shown without reload, and the credentials CSV import report. Screenshots are saved under each
test's tmp_path."""

from __future__ import annotations

from mqtt_topics import CommandEnvelope, CommandResult
from web.commands import CommandSender

from browser_helpers import DESKTOP, PHONE, add_event, click_nav, login, now_ms, shot

KEY = bytes(range(1, 33))


def test_admin_edits_a_schedule_and_a_holiday(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = console_server.url
    page = new_page(DESKTOP)
    login(page, base, "admin1")
    click_nav(page, "/schedules")
    page.click("text=添加时间表")
    page.fill("input[name=schedule_id]", "office")
    page.fill("input[name=description]", "物业办公时间")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.fill(f"input[name={day}]", "08:00-12:00 13:30-18:00")
    page.fill("input[name=sat]", "22:00-06:00")
    page.fill("input[name=holiday]", "10:00-11:00")
    shot(page, tmp_path, "schedule-form")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(base + "/schedules")
    row = page.locator('tr[data-schedule="office"]')
    assert "13:30-18:00" in row.inner_text() and "22:00-06:00" in row.inner_text()
    page.fill("input[name=day]", "2026-10-01")
    page.fill("input[name=name]", "国庆节")
    page.click("#holidays button[type=submit].btn-primary")
    page.wait_for_selector('[data-holiday="2026-10-01"]')
    shot(page, tmp_path, "schedules")
    data = console_server.services.credentials.snapshot().data
    assert data["holidays"] == ["2026-10-01"] and "office" in data["schedules"]
    phone = new_page(PHONE)
    login(phone, base, "admin1")
    phone.goto(base + "/schedules")
    assert phone.locator('tr[data-schedule="office"]').count() == 1
    shot(phone, tmp_path, "schedules-phone")


def test_desk_enrols_a_card_by_presenting_it(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    base = console_server.url
    services.nodes.seen("lobby", received_at=now_ms())
    page = new_page(DESKTOP)
    login(page, base, "desk1")
    page.goto(base + "/credentials/new")
    page.fill("input[name=credential_id]", "c-2001")
    page.fill("input[name=holder]", "李雷")
    page.select_option("[data-enrol-node]", "lobby")
    with page.expect_response(lambda r: "/credentials/enrol/read" in r.url):
        page.click("[data-enrol-start]")
    assert page.locator('[data-enrol-status][data-state="waiting"]').count() == 1
    shot(page, tmp_path, "enrol-waiting")
    add_event(services, 1, "door.denied", {"door": "lobby", "reader": "lobby-in",
                                           "reason": "unknown_card", "card": "w26:12:3456"})
    page.wait_for_selector('[data-enrol-status][data-state="found"]')
    assert page.input_value("textarea[name=cards]") == "w26:12:3456"
    shot(page, tmp_path, "enrol-found")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(base + "/credentials")
    assert services.credentials.get("c-2001").cards == ("w26:12:3456",)


def test_hold_open_result_appears_without_reload(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    sent: list[CommandEnvelope] = []

    def publish(topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        sent.append(CommandEnvelope.from_json(payload))
        return True

    services.commands = CommandSender(db=services.db, publish=publish, site="sunny-garden",
                                      node_keys={"lobby": KEY}, clock=now_ms)
    add_event(services, 1, "door.state", {"door": "lobby", "state": "locked", "locked": True,
                                          "open": False})
    base = console_server.url
    page = new_page(DESKTOP)
    login(page, base, "desk1")
    page.goto(base + "/doors")
    card = page.locator('[data-door="lobby"]')
    card.locator("input[name=reason]").fill("业主搬家")
    card.locator("select[name=minutes]").select_option("120")
    card.locator("[data-door-hold]").click()
    page.wait_for_selector('[data-cmd-state="pending"]')
    [env] = sent
    assert env.action == "door.hold_open" and env.args["seconds"] == 7200
    shot(page, tmp_path, "doors-hold-pending")
    services.commands.on_result("lobby", CommandResult(cmd_id=env.cmd_id, ok=True))
    page.wait_for_selector(f'[data-cmd="{env.cmd_id}"] [data-cmd-state="ok"]')
    assert "已执行" in page.locator(f'[data-cmd="{env.cmd_id}"]').inner_text()
    shot(page, tmp_path, "doors-hold-ok")
    phone = new_page(PHONE)
    login(phone, base, "desk1")
    phone.goto(base + "/doors")
    assert phone.locator(f'[data-cmd="{env.cmd_id}"] [data-cmd-state="ok"]').count() == 1
    shot(phone, tmp_path, "doors-phone-desk")


def test_csv_import_reports_each_bad_row_and_keeps_the_good_ones(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = console_server.url
    csv_path = tmp_path / "cards.csv"
    csv_path.write_text(
        "id,cards,holder,unit,kind,doors,valid_until,schedule\n"
        "c-1,w26:10:1,王芳,3-2-501,resident,*,,\n"
        "c-2,w26:10:2,李雷,5-1-101,tenant,lobby,2026-12-31,\n"
        "c-3,not-a-card,韩梅梅,5-1-102,resident,*,,\n"
        "c-4,w26:10:4,张师傅,5-1-102,contractor,*,,\n"
        "c-5,w26:10:5,赵六,6-1-101,resident,*,someday,\n"
        "c-6,w26:10:6,钱七,6-1-102,resident,*,,nights\n"
        "c-1,w26:10:7,孙八,6-1-103,resident,*,,\n", encoding="utf-8")
    page = new_page(DESKTOP)
    login(page, base, "desk1")
    page.goto(base + "/credentials/import")
    page.set_input_files("input[name=file]", str(csv_path))
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector("[data-import-report]")
    assert "2" in page.locator("[data-added]").inner_text()
    for row in (4, 5, 6, 7, 8):
        assert page.locator(f'[data-problem-row="{row}"]').count() >= 1, row
    assert "卡号无效" in page.locator('[data-problem-row="4"]').inner_text()
    assert "门禁卡编号" in page.locator('[data-problem-row="8"]').inner_text()   # duplicate id
    shot(page, tmp_path, "import-report")
    assert console_server.services.credentials.count() == 2
