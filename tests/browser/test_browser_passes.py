"""Goods passes in a real browser (Debian's Chromium): the issue form refuses a tenant without
an authorisation letter, then issues with one; the printable page fits one A4 page with both
copies and a visible QR code; the guard's board on a phone. Screenshots under tmp_path."""

from __future__ import annotations

import re
from typing import Any

from mqtt_topics import EventEnvelope

from browser_helpers import DESKTOP, PHONE, click_nav, login, now_ms, shot, slow_fallback


def gate_event(services: Any, seq: int, kind: str, data: dict[str, Any]) -> None:
    """Store a gate event (``gate:b1:<seq>``, stamped now) and run the ingest's event handlers
    on it in one transaction, as the ingest does."""
    now = now_ms()
    env = EventEnvelope(event_id=f"gate:b1:{seq}", node="gate", kind=kind, ts=now, seq=seq,
                        data=data)
    with services.db.transaction():
        ev = services.events.add(env, received_at=now)
        for handler in services.event_handlers:
            handler(ev)


def register_unit(services: Any) -> None:
    from web.units import parse_unit

    services.units.save(parse_unit({"building": "A", "number": "1201", "residents": [
        {"name": "王芳", "phone": "13800000001", "relation": "owner"},
        {"name": "张三", "phone": "13800000003", "relation": "tenant"}]}), by="test", create=True)


def test_issue_form_refuses_a_tenant_without_letter_then_prints_one_a4_page(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    register_unit(services)
    page = new_page(DESKTOP)
    base = console_server.url
    login(page, base, "desk1")
    click_nav(page, "/passes")
    page.click("text=开具物品放行条")
    page.fill("input[name=unit]", "A-1201")
    page.fill("input[name=carrier_name]", "张三")
    page.select_option("select[name=carrier_relation]", "tenant")
    page.fill("input[name=carrier_id_last4]", "123X")
    page.fill("input[name='items-0-description']", "双门冰箱")
    page.fill("input[name='items-0-quantity']", "1")
    page.check("input[name='items-0-large']")
    page.fill("input[name='items-1-description']", "纸箱（衣物）")
    page.fill("input[name='items-1-quantity']", "4")
    page.fill("input[name=vehicle_plate]", "沪A12345")
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector(".has-error")
    assert "授权委托书" in page.locator(".field-errors").first.inner_text()
    assert services.passes.count() == 0
    shot(page, tmp_path, "pass-issue-refused")
    page.check("input[name=authorisation][value=letter]")
    page.fill("input[name=letter_ref]", "WT-20260302-01")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r".*/passes/gp-[0-9]{8}-0001/print$"))
    gp = services.passes.search()[0]
    assert (gp.carrier_name, gp.authorisation, gp.item_count) == ("张三", "letter", 5)
    assert page.locator("[data-copy]").count() == 2
    qr = page.locator("[data-copy=security] [data-qr] svg").bounding_box()
    assert qr is not None and qr["width"] > 100 and abs(qr["width"] - qr["height"]) < 1
    shot(page, tmp_path, "pass-print-screen")
    page.emulate_media(media="print")
    shot(page, tmp_path, "pass-print-media")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (tmp_path / "pass.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def test_guard_board_on_a_phone_lists_todays_pass(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from web.passes import PassDraft, PassLine
    from web.passes.days import day_last_minute, day_start, today
    import zoneinfo

    services = console_server.services
    register_unit(services)
    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    day = today(now_ms(), tz)
    gp = services.passes.issue(PassDraft(
        unit="A-1201", carrier_name="王芳", carrier_relation="owner", carrier_id_last4="0001",
        items=(PassLine("旧沙发", 1, True), PassLine("纸箱", 6)), valid_from_ms=day_start(day, tz),
        valid_until_ms=day_last_minute(day, tz), vehicle_plate="沪B54321"),
        sign=services.signer().sign, by="desk1")
    page = new_page(PHONE)
    slow_fallback(page, "/passes/guard", "data-fallback-ms")      # only the stream updates it
    login(page, console_server.url, "guard1")
    click_nav(page, "/passes/guard")
    page.wait_for_selector(f'[data-pass="{gp.pass_id}"]')
    assert "旧沙发" in page.locator(f'[data-pass="{gp.pass_id}"]').inner_text()
    page.wait_for_selector('[data-verdicts-status][data-state="live"]')   # the stream is open
    page.evaluate("window.__sameDocument = true")
    # a verdict arriving after the page opened shows up without a reload
    gate_event(services, 1, "goods_pass.rejected", {
        "gate": "gate-north", "reason": "revoked", "pass_id": "gp-20260101-0001",
        "unit": "A-1201"})
    page.wait_for_selector('[data-verdict="gate:b1:1"].fresh', timeout=10_000)
    assert "已取消" in page.locator('[data-verdict="gate:b1:1"]').inner_text()
    assert page.evaluate("window.__sameDocument === true")                # no reload
    shot(page, tmp_path, "pass-guard-phone")


def test_desk_cancels_a_pass_and_reads_the_archive(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import zoneinfo

    from web.passes import PassDraft, PassLine
    from web.passes.days import day_last_minute, day_start, today

    services = console_server.services
    register_unit(services)
    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    day = today(now_ms(), tz)
    make = lambda name, rel: services.passes.issue(PassDraft(  # noqa: E731
        unit="A-1201", carrier_name=name, carrier_relation=rel, carrier_id_last4="0001",
        authorisation="in_person" if rel == "owner" else "letter", letter_ref="WT-1",
        items=(PassLine("旧沙发", 1, True),), valid_from_ms=day_start(day, tz),
        valid_until_ms=day_last_minute(day, tz)), sign=services.signer().sign, by="desk1")
    keep, drop = make("王芳", "owner"), make("张三", "tenant")
    for seq, pid in ((1, keep.pass_id), (2, "gp-20250101-0009")):
        gate_event(services, seq, "goods_pass.released", {
            "gate": "gate-north", "pass_id": pid, "unit": "A-1201", "items": 1})
    page = new_page(DESKTOP)
    login(page, console_server.url, "desk1")
    click_nav(page, "/passes")
    page.wait_for_selector(f'[data-pass="{drop.pass_id}"]')
    shot(page, tmp_path, "pass-desk-list")
    page.click(f'[data-pass="{drop.pass_id}"] >> a.mono')
    page.fill("input[name=reason]", "业主来电取消，已收回纸质放行条")
    page.once("dialog", lambda d: d.accept())
    page.click("button.btn-danger")
    page.wait_for_selector("[data-state=cancelled]")
    shot(page, tmp_path, "pass-detail-cancelled")
    assert services.passes.revocations_version() >= 1
    page.click("text=返回列表")
    page.click("text=十日归档")
    page.wait_for_selector('[data-flag="unknown"]')
    assert page.locator('[data-archive-row="gp-20250101-0009"]').count() == 1
    shot(page, tmp_path, "pass-archive")
    page.goto(console_server.url + "/passes/tools/new")
    page.fill("input[name=worker]", "赵工")
    page.fill("input[name=worker_id_last4]", "5678")
    page.fill("input[name=unit]", "A-1201")
    page.fill("textarea[name=tools]", "电钻 x2\n梯子")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r".*/passes/tp-[0-9]{8}-0001/print$"))
    shot(page, tmp_path, "pass-tools-print")


def test_fullest_pass_still_prints_on_one_a4_page_in_english(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import zoneinfo

    from web.passes import PassDraft, PassLine
    from web.passes.days import day_last_minute, day_start, today

    services = console_server.services
    register_unit(services)
    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    day = today(now_ms(), tz)
    items = tuple(PassLine(f"Item {i}: a long description of furniture, boxes and appliances "
                           f"that goes on and on {i}"[:100], 9, i % 2 == 0) for i in range(12))
    gp = services.passes.issue(PassDraft(
        unit="A-1201", carrier_name="Zhang San the Mover Company Representative",
        carrier_relation="mover", carrier_id_last4="000X", authorisation="letter",
        letter_ref="AUTH-LETTER-2026-000000000000000000001", items=items,
        valid_from_ms=day_start(day, tz), valid_until_ms=day_last_minute(day, tz) + 6 * 86_400_000,
        vehicle_plate="沪A12345", note="Use the goods lift; the owner will be present. " * 4),
        sign=services.signer().sign, by="desk1")
    page = new_page(DESKTOP)
    login(page, console_server.url, "desk1")
    page.click("button.lang >> text=English")
    page.goto(f"{console_server.url}/passes/{gp.pass_id}/print")
    assert "Security copy" in page.locator("[data-copy=security] .pass-copy-label").inner_text()
    page.emulate_media(media="print")
    shot(page, tmp_path, "pass-print-full-en")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    for copy in ("desk", "security"):
        last_sign = page.locator(f"[data-copy={copy}] .pass-signs").bounding_box()
        box = page.locator(f"[data-copy={copy}]").bounding_box()
        assert last_sign["y"] + last_sign["height"] <= box["y"] + box["height"] + 0.5
