"""Patrol pages in a real browser (Debian's Chromium): the patrol staff page on a phone and the
supervisor page acknowledging a patrol alarm. Screenshots are saved under each test's
tmp_path."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from browser_helpers import DESKTOP, PHONE, click_nav, login, now_ms, shot, slow_fallback
from web.patrol import Checkpoint, PatrolUser, Route, RoutePoint, Schedule, Tap

MIN = 60_000
CARD = "0A00000001"


def seed(services: Any) -> int:
    """A round of route r1 that started 8 minutes ago (UTC minute): a tapped on time, b missed,
    c still to come; and an unknown card tapped at b. Returns the round's start (UTC ms)."""
    now = now_ms()
    start = (now - 8 * MIN) // MIN * MIN
    hhmm = datetime.fromtimestamp(start / 1000, timezone.utc).strftime("%H:%M")
    p = services.patrol
    for cp, name in (("a", "3栋 大堂"), ("b", "3栋 5层 消防通道"), ("c", "地下车库 B2 出口")):
        p.save_item(Checkpoint(id=cp, name=name, building="3栋", floor="", node="lobby",
                               reader=f"cp-{cp}"))
    p.save_item(Route(id="r1", name="3栋夜巡", start_tolerance_min=10, points=(
        RoutePoint(checkpoint="a", expected_min=0, tolerance_min=2),
        RoutePoint(checkpoint="b", expected_min=3, tolerance_min=2, min_walk_s=60),
        RoutePoint(checkpoint="c", expected_min=30, tolerance_min=5, min_walk_s=60))))
    p.save_item(PatrolUser(user="patrol1", cards=(CARD,), name="王师傅"))
    p.save_item(Schedule(id="night", route="r1", times=(hhmm,), tz="UTC",
                         assignees=("patrol1",), active_from_ms=start - 1))
    for seq, (cp, ts, card) in enumerate((("a", start + 30_000, CARD),
                                          ("b", now - MIN, "0AFFFFFFFF")), start=1):
        p.apply(Tap(event_id=f"lobby:b1:{seq}", node="lobby", reader=f"cp-{cp}", checkpoint=cp,
                    card=card, ts=ts))
    p.tick()
    return start


def test_patrol_staff_page_on_a_phone_shows_the_next_check_point(console_server, new_page,
                                                                 tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed(console_server.services)
    page = new_page(PHONE)
    login(page, console_server.url, "patrol1")
    click_nav(page, "/patrol/me")
    page.wait_for_selector("[data-next-point]")
    assert page.locator("[data-next-point]").get_attribute("data-next-point") == "c"
    assert "地下车库 B2 出口" in page.locator("[data-next-point]").inner_text()
    assert page.locator("li[data-round]").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    shot(page, tmp_path, "patrol-me-phone")


def test_supervisor_page_shows_rounds_and_acknowledges_a_patrol_alarm(console_server, new_page,
                                                                      tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    seed(services)
    alarms = {a.kind: a for a in services.patrol.open_alarms()}
    assert set(alarms) == {"patrol.missed", "patrol.unknown_card"}
    page = new_page(DESKTOP)
    login(page, console_server.url, "guard1")
    click_nav(page, "/patrol/live")
    page.wait_for_selector("tr[data-round]")
    assert page.locator("tr[data-round]").get_attribute("data-state") == "running"
    shot(page, tmp_path, "patrol-live")
    missed = alarms["patrol.missed"]
    row = page.locator(f'li[data-alarm="{missed.id}"]')
    row.locator("input[name=note]").fill("已联系王师傅补巡")
    row.locator("button[type=submit]").click()
    page.wait_for_url(console_server.url + "/patrol/live")
    assert page.locator(f'li[data-alarm="{missed.id}"]').count() == 0
    assert services.alarms.get(missed.id).note == "已联系王师傅补巡"
    assert page.locator("li[data-alarm]").count() == 1
    shot(page, tmp_path, "patrol-live-acked")


def test_admin_edits_the_plan_and_reads_the_round_and_the_report(console_server, new_page,
                                                                 tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    start = seed(services)
    page = new_page(DESKTOP)
    base = console_server.url
    login(page, base, "admin1")
    page.goto(base + "/patrol/plan")
    page.click("text=添加巡更点")
    page.fill("input[name=id]", "b2-exit")
    page.fill("input[name=name]", "地下车库 B2 电梯厅")
    page.fill("input[name=building]", "车库")
    page.fill("input[name=floor]", "B2")
    page.fill("input[name=node]", "garage")
    page.fill("input[name=reader]", "cp-lift")
    shot(page, tmp_path, "patrol-plan-form")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(base + "/patrol/plan")
    assert page.locator('[data-plan="checkpoint"] tr[data-item="b2-exit"]').count() == 1
    shot(page, tmp_path, "patrol-plan")
    page.goto(base + "/patrol/live")
    page.click("tr[data-round] a")
    page.wait_for_selector('tr[data-point="b"][data-state="missed"]')
    shot(page, tmp_path, "patrol-round")
    day = datetime.fromtimestamp(start / 1000, timezone.utc).date().isoformat()
    page.goto(base + f"/patrol/reports?start={day}&end={day}")
    page.wait_for_selector("[data-report-total]")
    assert page.locator("[data-print]").is_visible()
    shot(page, tmp_path, "patrol-report")


def test_supervisor_page_shows_a_tap_live_without_reloading(console_server, new_page,
                                                           tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    seed(services)
    page = new_page(DESKTOP)
    login(page, console_server.url, "guard1")
    click_nav(page, "/patrol/live")
    page.wait_for_selector("#patrol-live-body[data-patrol-live]")      # the stream is open
    row = page.locator("tr[data-round]")
    assert "1/3" in row.inner_text()
    page.evaluate("window.__sameDocument = true")
    services.patrol.apply(Tap(event_id="lobby:b1:99", node="lobby", reader="cp-c",
                              checkpoint="c", card=CARD, ts=now_ms()))
    page.locator("tr[data-round]", has_text="2/3").wait_for(timeout=10_000)
    assert page.evaluate("window.__sameDocument === true")                # no reload
    shot(page, tmp_path, "patrol-live-updated")


def test_staff_page_shows_a_tap_live_without_reloading(console_server, new_page,
                                                      tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    seed(services)
    page = new_page(PHONE)
    slow_fallback(page, "/patrol/me", "data-patrol-refresh", 3600)   # seconds: only the stream
    login(page, console_server.url, "patrol1")
    click_nav(page, "/patrol/me")
    page.wait_for_selector("#patrol-me-body[data-patrol-live]")        # the stream is open
    assert "1/3" in page.locator("li[data-round]").inner_text()
    assert page.locator("[data-next-point]").get_attribute("data-next-point") == "c"
    page.evaluate("window.__sameDocument = true")
    services.patrol.apply(Tap(event_id="lobby:b1:99", node="lobby", reader="cp-c",
                              checkpoint="c", card=CARD, ts=now_ms()))
    page.locator("li[data-round]", has_text="2/3").wait_for(timeout=10_000)
    assert page.evaluate("window.__sameDocument === true")                # no reload
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    shot(page, tmp_path, "patrol-me-live")
