"""The key cabinet pages in a real browser (Debian's Chromium): an admin registers a key, the
desk sees it with its loan, and the cabinet board follows a key taken and a key put into the
wrong slot without a reload (keys.js fetches the board's JSON when /live/stream?view=keys says
a cabinet changed; it polls in a browser without EventSource). Screenshots under tmp_path."""

from __future__ import annotations

from typing import Any

from mqtt_topics import EventEnvelope
from web.access import CredentialRecord
from web.keys.model import KeyRecord

from browser_helpers import DESKTOP, PHONE, click_nav, login, now_ms, shot, slow_fallback


class Cabinet:
    """Cabinet events stored and handed to the key feature, as the ingest does."""

    def __init__(self, services: Any) -> None:
        self.services, self.seq = services, 0

    def __call__(self, kind: str, ago_ms: int = 0, **data: Any) -> None:
        self.seq += 1
        now = now_ms()
        env = EventEnvelope(event_id=f"cab:b1:{self.seq}", node="cab", kind=kind, ts=now - ago_ms,
                            seq=self.seq, data={"cabinet": "main", **data})
        s = self.services
        with s.db.transaction():
            ev = s.events.add(env, received_at=now)
            for handler in (s.keys.loans.on_event, s.keys.board.on_event):
                handler(ev)
        s.live.publish("event", ev.to_dict())


def _seed(services: Any) -> Cabinet:
    services.credentials.save(CredentialRecord(credential_id="c-wang", cards=("em:0A00000001",),
                                               holder="王芳", kind="staff"), by="t", create=True)
    for n, label in enumerate(("A-1201 入户门", "A-1202 入户门", "配电房", "天台", "3-2-501 业主委托",
                               "总钥匙"), start=1):
        services.keys.register.save(KeyRecord(number=f"K-00{n}", label=label, cabinet="main", slot=n,
                                              takers=("role:staff",), max_loan_min=120,
                                              kind="master" if n == 6 else "common-area"),
                                    by="t", create=True)
    cab = Cabinet(services)
    cab("cabinet.inventory", present=[1, 2, 3, 4, 5, 6], out=[], differences=[], first_boot=True)
    return cab


def test_admin_registers_a_key_and_the_desk_sees_it(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    _seed(services)
    page = new_page(DESKTOP)
    base = console_server.url
    login(page, base, "admin1")
    click_nav(page, "/keys")
    page.click("text=登记钥匙")
    page.fill("input[name=number]", "K-101")
    page.fill("input[name=label]", "B-0803 空置房")
    page.select_option("select[name=kind]", "owner-entrusted")
    page.fill("input[name=slot]", "8")
    page.fill("textarea[name=takers]", "cred:c-wang")
    page.fill("input[name=authorised_by]", "业主 李雷")
    page.fill("input[name=authorised_until]", "2030-06-30T18:00")
    page.fill("input[name=borrowers]", "维修工 李师傅")
    shot(page, tmp_path, "key-form")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(base + "/keys/K-101")
    assert "业主 李雷" in page.inner_text(".details")
    shot(page, tmp_path, "key-detail")
    page.goto(base + "/keys")
    assert page.locator("tr[data-key]").count() == 7
    assert "业主委托" in page.locator('tr[data-key="K-101"]').inner_text()
    shot(page, tmp_path, "key-register")
    assert services.keys.register.version() == 7


def test_cabinet_board_follows_taken_and_wrong_slot_live(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cab = _seed(console_server.services)
    page = new_page(DESKTOP)
    slow_fallback(page, "/keys/cabinets", "data-fallback-ms")     # only the stream updates it
    login(page, console_server.url, "guard1")
    click_nav(page, "/keys/cabinets")
    page.wait_for_selector('[data-cabinet-live-status][data-state="live"]')
    assert page.locator('.slot[data-state="present"]').count() == 6
    page.evaluate("window.__sameDocument = true")
    cab("key.taken", key="K-002", slot=2, holder="c-wang", card="0A00000001", witness=None)
    cab("key.wrong_slot", slot=2, key=None, expected="K-002", times=1)
    cab("key.forced", key="K-004", slot=4)
    page.wait_for_selector('.slot[data-slot="4"][data-state="fault"]')
    page.wait_for_selector('.slot[data-slot="2"][data-state="wrong"]')
    shot(page, tmp_path, "cabinet-desktop")
    cab("key.wrong_slot_cleared", slot=2)
    page.wait_for_selector('.slot[data-slot="2"][data-state="out"]')
    assert "王芳" in page.inner_text('.slot[data-slot="2"]')
    assert page.evaluate("window.__sameDocument === true")                # no reload
    phone = new_page(PHONE)
    login(phone, console_server.url, "desk1")
    phone.goto(console_server.url + "/keys/cabinets")
    phone.wait_for_selector('[data-cabinet-live-status][data-state="live"]')
    shot(phone, tmp_path, "cabinet-phone")
    phone.goto(console_server.url + "/keys/loans")
    assert phone.locator("tr[data-loan]").count() == 2
    shot(phone, tmp_path, "loans-phone")


def test_reminders_show_an_overdue_key_and_its_history(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cab = _seed(console_server.services)
    cab("key.taken", ago_ms=3 * 3_600_000, key="K-003", slot=3, holder="c-wang", card="0A00000001")
    cab("key.taken", ago_ms=600_000, key="K-001", slot=1, holder="c-wang", card="0A00000001")
    console_server.services.keys.loans.check_overdue(now_ms())
    page = new_page(DESKTOP)
    login(page, console_server.url, "desk1")
    page.goto(console_server.url + "/keys/reminders")
    assert page.locator("tr.overdue").count() == 1
    assert "K-003" in page.inner_text("tr.overdue")
    shot(page, tmp_path, "reminders")
    page.click("tr.overdue >> text=K-003")
    page.wait_for_selector('tr[data-loan-state="out"]')
    shot(page, tmp_path, "key-history")


def test_cabinet_board_polls_in_a_browser_without_event_source(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cab = _seed(console_server.services)
    page = new_page(DESKTOP)
    page.add_init_script("delete window.EventSource;")
    login(page, console_server.url, "desk1")
    page.goto(console_server.url + "/keys/cabinets")
    page.wait_for_selector('[data-cabinet-live-status][data-state="live"]')
    page.evaluate("window.__sameDocument = true")
    cab("key.taken", key="K-003", slot=3, holder="c-wang", card="0A00000001", witness=None)
    page.wait_for_selector('.slot[data-slot="3"][data-state="out"]')     # data-poll-ms: 2 s
    assert page.evaluate("window.__sameDocument === true")
    shot(page, tmp_path, "cabinet-polling")
