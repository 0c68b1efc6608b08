"""The visitor's phone link for an invite in a real browser (Debian's Chromium): the desk makes
the link on the invite page and copies it; a phone with no log-in opens it and sees the QR code
fitting the screen, with nothing of the console around it. Screenshots under tmp_path."""

from __future__ import annotations

from web.units import parse_unit

from browser_helpers import DESKTOP, PHONE, login, shot


def test_desk_copies_a_phone_link_that_opens_the_qr_on_a_phone_without_log_in(
        console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    console_server.services.units.save(parse_unit({
        "building": "A", "number": "1201", "vacant": False,
        "residents": [{"name": "王芳", "phone": "13800000000", "relation": "owner"}]}),
        by="admin1", create=True)
    page = new_page(DESKTOP)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, console_server.url, "desk1")
    page.goto(console_server.url + "/invites/new?unit=A-1201")
    page.fill("input[name=name]", "赵六")
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector("[data-qr] svg")
    page.click("[data-invite-link] form button[type=submit]")
    link = page.locator("[data-link-url]").input_value()
    assert link.startswith(console_server.url + "/v/")
    page.click("[data-copy-link]")
    assert page.evaluate("navigator.clipboard.readText()") == link
    shot(page, tmp_path, "invite-desk-link")

    phone = new_page(PHONE)                                  # its own context: no log-in
    resp = phone.goto(link)
    assert resp.status == 200 and resp.headers["referrer-policy"] == "no-referrer"
    box = phone.locator("[data-qr] svg").bounding_box()
    assert box is not None and 250 <= box["width"] <= PHONE["width"]
    assert box["y"] + box["height"] <= PHONE["height"]        # the code is on the first screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    text = phone.inner_text("body")
    assert "sunny-garden" in text and "王芳" not in text and "赵六" not in text
    assert phone.locator("nav, a[href]").count() == 0
    shot(phone, tmp_path, "invite-phone-link")

    gone = new_page(PHONE).goto(console_server.url + "/v/" + "A" * 22)
    assert gone.status == 404
