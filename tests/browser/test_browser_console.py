"""The console in a real browser (Debian's Chromium): log in, switch language, see an event
arrive live, acknowledge an alarm; screenshots at desk (1280 px) and phone (390 px) widths are
saved under each test's tmp_path."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mqtt_topics import NodeStatus, Telemetry

from browser_helpers import DESKTOP, PHONE, login, now_ms, shot
from browser_helpers import add_event as store_event

VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def add_event(services: Any, *, node: str, seq: int, kind: str = "card.read",
              data: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """Store an event and publish it live, with its alarm if the kind is one, as the ingest
    does; ``data`` defaults to a card read at the front reader."""
    from mqtt_topics import is_alarm

    ev = store_event(services, seq, kind, data or {"reader": "front", "card": f"00123456{seq:02d}"},
                     node=node)
    alarm = None
    if is_alarm(kind):
        alarm = services.alarms.raise_for_event(ev)
        services.live.publish("alarm", alarm.to_dict())
    return ev, alarm


def wait_live(page: Any) -> None:
    page.wait_for_selector('#live-status[data-state="live"]')


@pytest.mark.parametrize("size", VIEWPORTS)
def test_login_leads_to_the_dashboard(console_server, new_page, tmp_path, size) -> None:  # type: ignore[no-untyped-def]
    page = new_page(VIEWPORTS[size])
    page.goto(console_server.url + "/")
    page.wait_for_url(re.compile(r"/login"))
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    shot(page, tmp_path, f"login-{size}")
    page.fill("input[name=username]", "desk1")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit].btn-primary")
    assert "用户名或密码错误" in page.locator(".flash-error").inner_text()
    login(page, console_server.url, "desk1")
    assert page.locator("h1").inner_text() == "总览"
    wait_live(page)
    shot(page, tmp_path, f"dashboard-empty-{size}")


def test_language_switch_is_remembered(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(console_server.url + "/login")
    page.click("button.lang:has-text('English')")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("label[for=username]").inner_text() == "User name"
    login(page, console_server.url, "guard1")
    assert page.locator("h1").inner_text() == "Dashboard"
    shot(page, tmp_path, "dashboard-en")
    page.click("button.lang:has-text('中文')")
    page.wait_for_selector("html[lang=zh-CN]")
    assert page.locator("h1").inner_text() == "总览"
    # the choice follows the user to another browser
    other = new_page()
    login(other, console_server.url, "guard1")
    assert other.locator("h1").inner_text() == "总览"
    assert console_server.services is not None


def test_event_appears_live_on_the_dashboard(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    login(page, console_server.url, "patrol1")
    wait_live(page)
    ev, _ = add_event(console_server.services, node="lobby", seq=1,
                      data={"reader": "front", "card": "<b>0012345678</b>"})
    row = page.wait_for_selector(f'#live-events tr[data-id="{ev.event_id}"]')
    assert "<b>0012345678</b>" in row.inner_text()          # shown as text, not markup
    assert page.locator("#live-events b").count() == 0
    assert page.locator('[data-empty-for="live-events"]').is_hidden()
    shot(page, tmp_path, "dashboard-live-event")


@pytest.mark.parametrize("size", VIEWPORTS)
def test_acknowledge_alarm_with_a_note(console_server, new_page, tmp_path, size) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    for seq in range(1, 6):
        add_event(services, node="gate", seq=seq)
    _ev, alarm = add_event(services, node="gate", seq=6, kind="command.refused",
                           data={"cmd_id": "3f9a1c", "action": "relay.pulse", "reason": "expired"})
    desk, guard = new_page(VIEWPORTS[size]), new_page(DESKTOP)
    login(desk, console_server.url, "desk1")
    login(guard, console_server.url, "guard1")
    wait_live(desk)
    wait_live(guard)
    row = f'#open-alarms tr[data-id="{alarm.id}"]'
    desk.wait_for_selector(row)
    guard.wait_for_selector(row)
    shot(desk, tmp_path, f"dashboard-alarm-{size}")
    desk.fill(f"{row} input[name=note]", "已到现场，门已关好")
    desk.click(f"{row} button[type=submit]")
    desk.wait_for_selector(".flash-success")
    assert desk.locator(row).count() == 0
    guard.wait_for_selector(row, state="detached")           # gone live for other viewers
    assert guard.locator('[data-count-for="open-alarms"]').inner_text() == "0"
    shot(desk, tmp_path, f"dashboard-acknowledged-{size}")
    desk.goto(console_server.url + "/alarms")
    assert "已到现场，门已关好" in desk.locator("td.note").first.inner_text()
    shot(desk, tmp_path, f"alarms-{size}")


@pytest.mark.parametrize("size", VIEWPORTS)
def test_admin_pages_render_cleanly(console_server, new_page, tmp_path, size) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    now = now_ms()
    for node, skew in (("lobby", 200), ("gate", 95_000), ("cabinet", -1_500)):
        services.nodes.update_status(node, NodeStatus(state="online", boot_id="a1b2c3", ts=now,
                                                      version="0.1.0"), received_at=now,
                                     retained=False)
        services.nodes.update_health(node, Telemetry(device="health", ts=now + skew, values={
            "journal_depth": 3, "oldest_unsent_age_s": 4.2, "reader_errors": 1}), received_at=now)
    services.nodes.update_status("patrol-3", NodeStatus(state="offline", boot_id="z9", ts=now,
                                                        version="0.1.0"), received_at=now,
                                 retained=False)
    for seq in (1, 2, 5):
        add_event(services, node="gate", seq=seq)
    page = new_page(VIEWPORTS[size])
    login(page, console_server.url, "admin1")
    for path in ("nodes", "events", "users", "audit"):
        page.goto(f"{console_server.url}/{path}")
        page.wait_for_selector("main .panel")
        # nothing wider than the screen except inside the horizontally scrolling tables
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"/{path} is {overflow}px wider than the {size} screen"
        shot(page, tmp_path, f"{path}-{size}")
    page.goto(console_server.url + "/nodes")
    assert page.locator('tr[data-node="gate"] td.flagged').count() == 1
