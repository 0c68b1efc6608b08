"""Meter reading in a real browser (Debian's Chromium): a unit's page with its consumption
chart (desktop and phone), and the monthly statement with its CSV export. Screenshots are saved
under each test's tmp_path."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from web.meters import Meter, period_of
from web.units import parse_unit

from browser_helpers import DESKTOP, PHONE, click_nav, login, now_ms, shot

H = 3_600_000


def seed(services: Any) -> Any:
    """Units A-1201 (two meters, hourly readings for ~45 days with a silent day and a meter
    reset) and B-0301 (vacant, a water meter); returns the period before the current one."""
    for code, vacant in (("A-1201", False), ("B-0301", True)):
        b, n = code.split("-")
        services.units.save(parse_unit({"building": b, "number": n, "vacant": vacant}),
                            by="test", create=True)
    reg = services.meters.registry
    for mid, unit, kind in (("e-a-1201", "A-1201", "electricity"), ("w-a-1201", "A-1201", "water"),
                            ("w-b-0301", "B-0301", "water")):
        reg.save(Meter(meter_id=mid, unit=unit, kind=kind, node="meters-a", bus="bus-1",
                       slave=len(mid), map="water_generic" if kind == "water" else "eastron_sdm120",
                       register="total_volume_m3" if kind == "water" else "import_energy_kwh"),
                 by="test", create=True)
    now = now_ms()
    start = now - now % H - 45 * 24 * H
    rd = services.meters.readings
    e = w = 0.0
    with services.db.transaction():
        for i in range(45 * 24):
            ts = start + i * H
            hour = (ts // H + 8) % 24
            e += 0.15 + (0.9 if 18 <= hour <= 22 else 0.0) + (i % 7) * 0.02
            w += 0.02 if 6 <= hour <= 22 else 0.0
            if 20 * 24 <= i < 21 * 24:           # the node was down for a day
                continue
            rd.add("e-a-1201", "import_energy_kwh", ts, round(e, 3), reason="hour", node="meters-a")
            if i == 30 * 24:
                w = 0.0                           # water meter replaced
                rd.add("w-a-1201", "total_volume_m3", ts, 0.0, reason="reset", node="meters-a")
                continue
            rd.add("w-a-1201", "total_volume_m3", ts, round(w + 100, 3) if i < 30 * 24 else round(w, 3),
                   reason="hour", node="meters-a")
            rd.add("w-b-0301", "total_volume_m3", ts, round(5 + i * 0.001, 3), reason="hour",
                   node="meters-a")
        for mid, kind in (("e-a-1201", "electricity"), ("w-a-1201", "water"), ("w-b-0301", "water")):
            rd.note_seen(mid, node="meters-a", now=now, kind=kind, state="online")
    current = period_of(now, tz=services.meters.timezone)
    return period_of(current.start - 1, tz=services.meters.timezone)


def test_unit_page_shows_the_consumption_chart(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed(console_server.services)
    base = console_server.url
    page = new_page(DESKTOP)
    login(page, base, "desk1")
    click_nav(page, "/meters")
    page.click("tr[data-meter='w-a-1201'] >> text=A-1201")
    page.wait_for_selector("[data-meter-card='e-a-1201'] svg[role=img]")
    chart = page.locator("[data-meter-card='e-a-1201'] svg[role=img]")
    assert chart.is_visible()
    assert chart.bounding_box()["width"] > 600
    assert page.locator("[data-meter-card='e-a-1201'] rect.bar").count() >= 1
    label = page.locator("[data-meter-card='e-a-1201'] rect.bar").first.get_attribute("aria-label")
    assert "kWh" in label
    shot(page, tmp_path, "meters-unit-daily")
    page.click("text=最近 12 期")
    page.wait_for_selector("[data-meter-card='w-a-1201'] svg[role=img]")
    assert page.locator("[data-meter-card='w-a-1201'] rect.bar, [data-meter-card='w-a-1201'] rect.bar-estimated").count() >= 2
    shot(page, tmp_path, "meters-unit-monthly")
    phone = new_page(PHONE)
    login(phone, base, "desk1")
    phone.goto(base + "/meters/unit/A-1201")
    svg = phone.locator("[data-meter-card='w-a-1201'] svg[role=img]")
    assert svg.is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no page overflow
    shot(phone, tmp_path, "meters-unit-phone")
    phone.screenshot(path=str(tmp_path / "meters-unit-phone-top.png"))


def test_statement_page_exports_csv_with_marks(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    period = seed(console_server.services)
    base = console_server.url
    page = new_page(DESKTOP)
    login(page, base, "desk1")
    page.goto(base + "/meters")
    page.click("text=月度抄表统计")
    page.select_option("select[name=period]", period.name)
    page.click("form.period-pick button[type=submit]")
    page.wait_for_selector(f"[data-statement='{period.name}']")
    assert page.locator("tr[data-statement-row]").count() == 3
    shot(page, tmp_path, "meters-statement")
    with page.expect_download() as info:
        page.click("[data-export]")
    path = info.value.path()
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = {r["meter"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"e-a-1201", "w-a-1201", "w-b-0301"}
    assert rows["w-b-0301"]["vacant"] == "yes"
    assert float(rows["e-a-1201"]["consumption"]) > 0
    page.emulate_media(media="print")
    shot(page, tmp_path, "meters-statement-print")


def test_admin_registers_imports_and_sets_thresholds(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    seed(services)
    services.meters.readings.note_seen("w-x-9", node="meters-b", now=now_ms(),
                                       kind="water", node_unit="X-9")
    base = console_server.url
    page = new_page(DESKTOP)
    login(page, base, "admin1")
    page.goto(base + "/meters")
    assert page.locator("[data-unregistered-meter='w-x-9']").count() == 1
    shot(page, tmp_path, "meters-index")
    page.click("text=添加水电表")
    page.fill("input[name=meter_id]", "e-b-0301")
    page.fill("input[name=unit]", "B-0301")
    page.select_option("select[name=kind]", "electricity")
    page.fill("input[name=slave]", "9")
    shot(page, tmp_path, "meters-form")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(base + "/meters")
    assert page.locator("tr[data-meter='e-b-0301']").count() == 1
    csv_path = tmp_path / "meters.csv"
    csv_path.write_text("meter_id,unit,kind,node,bus,slave\n"
                        "w-b-0302,B-0301,water,meters-b,bus-2,1\n"
                        "w-q-1,Q-1,water,meters-b,bus-2,2\n", encoding="utf-8")
    page.goto(base + "/meters/import")
    page.set_input_files("input[name=file]", str(csv_path))
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector("[data-import-report]")
    assert "该房号不在房屋登记中" in page.locator('[data-problem-row="3"]').inner_text()
    shot(page, tmp_path, "meters-import-report")
    assert services.meters.registry.get("w-b-0302") is not None
    page.goto(base + "/meters/settings")
    page.fill("input[name=leak_hours]", "4")
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector(".flash-success")
    shot(page, tmp_path, "meters-settings")
    assert services.meters.rules.get().leak_hours == 4


def test_admin_sets_the_statement_tolerance_and_gap_threshold(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    period = seed(services)
    base = console_server.url
    page = new_page(DESKTOP)
    login(page, base, "admin1")
    page.goto(base + "/meters/settings")
    page.fill("input[name=estimate_tolerance_minutes]", "90")
    page.fill("input[name=gap_minutes]", "45")
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector("[data-form-errors]")
    assert "10080" in page.locator(".field.has-error:has(input[name=gap_minutes])").inner_text()
    assert page.locator(".field.has-error").count() == 1
    shot(page, tmp_path, "meters-settings-refused")
    assert services.meters.rules.get().gap_minutes == 120
    page.fill("input[name=gap_minutes]", "240")
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector(".flash-success")
    assert page.input_value("input[name=estimate_tolerance_minutes]") == "90"
    assert page.input_value("input[name=gap_minutes]") == "240"
    shot(page, tmp_path, "meters-settings-marks")
    rules = services.meters.rules.get()
    assert (rules.estimate_tolerance_minutes, rules.gap_minutes) == (90, 240)
    page.goto(base + f"/meters/statements?period={period.name}")
    notes = page.locator(".statement-notes").inner_text()
    assert "90 分钟" in notes and "240 分钟" in notes
    shot(page, tmp_path, "meters-statement-marks")


def _local_input(services: Any, ms: int) -> str:
    """``ms`` as the site-time value of a ``datetime-local`` input."""
    import zoneinfo
    from datetime import datetime, timezone

    tz = zoneinfo.ZoneInfo(services.meters.timezone)
    return datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def test_admin_moves_a_meter_to_another_unit_and_sees_its_unit_history(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    seed(services)
    base = console_server.url
    now = now_ms()
    page = new_page(DESKTOP)
    login(page, base, "admin1")
    page.goto(base + "/meters")
    page.click("tr[data-meter='w-a-1201'] >> text=编辑")
    page.fill("input[name=unit]", "B-0301")
    page.fill("input[name=effective_at]", _local_input(services, now + 2 * 24 * H))
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector(".field.has-error:has(input[name=effective_at])")
    assert "不能晚于现在" in page.locator(".field.has-error").inner_text()
    shot(page, tmp_path, "meters-move-refused")
    assert services.meters.registry.get("w-a-1201").unit == "A-1201"
    page.fill("input[name=effective_at]", _local_input(services, now - 10 * 24 * H))
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(base + "/meters")
    assert services.meters.registry.get("w-a-1201").unit == "B-0301"
    page.goto(base + "/meters/w-a-1201/edit")
    rows = page.locator("[data-assignments] tbody tr")
    assert rows.count() == 2
    assert "B-0301" in rows.nth(0).inner_text() and "admin1" in rows.nth(0).inner_text()
    assert "A-1201" in rows.nth(1).inner_text() and "test" in rows.nth(1).inner_text()
    shot(page, tmp_path, "meters-edit-history")
    page.goto(base + "/meters/unit/A-1201")
    former = page.locator("[data-meter-card='w-a-1201'][data-former]")
    assert former.count() == 1 and former.locator("[data-until]").is_visible()
    shot(page, tmp_path, "meters-unit-former")
