"""The goods-pass pages through the Flask test client: the issue form and its rules, the tool
pass, the printable page, cancel (audited, revocations published), search, the gate board,
scans of authorisation letters, roles."""

from __future__ import annotations

import io
import re

import pytest

from edge.passes import PassVerifier
from mqtt_topics.passes import parse_revocations
from web.passes.qr import qr_svg
from web.passes.store import DATASET

from pc_helpers import (ROLES, SITE, T0, TODAY_END, TODAY_START, UNIT, csrf_token, draft,
                        gate_event, issue_data, login)

STAFF = {"admin", "desk", "guard"}
DESK = {"admin", "desk"}


def _text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


@pytest.fixture
def desk(pclient):  # type: ignore[no-untyped-def]
    assert login(pclient, "desk1").status_code == 303
    return pclient


def _issued(psvc):  # type: ignore[no-untyped-def]
    rows = psvc.passes.search()
    assert len(rows) == 1
    return rows[0]


def test_owner_in_person_gets_a_pass_and_lands_on_the_print_page(desk, psvc, signer, clock) -> None:  # type: ignore[no-untyped-def]
    resp = desk.post("/passes/new", data=issue_data(desk))
    assert resp.status_code == 303, _text(resp)[:2000]
    gp = _issued(psvc)
    assert resp.headers["Location"].endswith(f"/passes/{gp.pass_id}/print")
    assert (gp.unit, gp.carrier_name, gp.carrier_id_last4, gp.vehicle_plate) == \
        (UNIT, "王芳", "123X", "沪A12345")
    assert [(i.description, i.quantity, i.large) for i in gp.items] == \
        [("冰箱", 1, True), ("纸箱", 3, False)]
    assert (gp.valid_from, gp.valid_until, gp.issued_by) == (TODAY_START, TODAY_END, "desk1")
    assert PassVerifier(signer.public_key_raw(), site=SITE, clock=clock).check(gp.qr_text).ok


def test_issue_is_audited(desk, psvc, papp) -> None:  # type: ignore[no-untyped-def]
    from web.state import console

    desk.post("/passes/new", data=issue_data(desk))
    entry = console(papp).audit.search(action="goods_pass.issue")[0]
    assert (entry.user, entry.target) == ("desk1", _issued(psvc).pass_id)


def test_form_defaults_validity_to_today_in_the_site_zone(desk) -> None:  # type: ignore[no-untyped-def]
    page = _text(desk.get("/passes/new"))
    assert page.count('value="2026-03-02"') == 2


def test_tenant_without_letter_gets_a_clear_form_error(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    resp = desk.post("/passes/new", data=issue_data(desk, carrier_name="张三",
                                                    carrier_relation="tenant"))
    assert resp.status_code == 400
    assert "授权委托书" in _text(resp)
    assert psvc.passes.count() == 0


def test_tenant_with_a_letter_gets_a_pass(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    resp = desk.post("/passes/new", data=issue_data(desk, carrier_name="张三",
                                                    carrier_relation="tenant",
                                                    authorisation="letter", letter_ref="WT-01"))
    assert resp.status_code == 303
    assert (_issued(psvc).authorisation, _issued(psvc).letter_ref) == ("letter", "WT-01")


def test_owner_not_registered_in_the_unit_is_refused(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    resp = desk.post("/passes/new", data=issue_data(desk, carrier_name="王五"))
    assert resp.status_code == 400
    assert "业主或家属" in _text(resp) or "owner or household" in _text(resp)
    assert psvc.passes.count() == 0


def test_unit_not_in_the_registry_is_refused(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    resp = desk.post("/passes/new", data=issue_data(desk, unit="B-0101"))
    assert resp.status_code == 400
    assert psvc.passes.count() == 0


def test_no_items_is_refused(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    data = issue_data(desk)
    for key in [k for k in data if k.startswith("items-")]:
        del data[key]
    resp = desk.post("/passes/new", data=data)
    assert resp.status_code == 400 and "data-item-errors" in _text(resp)


def test_post_without_csrf_token_is_refused(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    data = issue_data(desk)
    del data["csrf_token"]
    assert desk.post("/passes/new", data=data).status_code == 400
    assert psvc.passes.count() == 0


def test_letter_scan_is_stored_and_served_to_the_desk(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    pdf = b"%PDF-1.4\n" + b"x" * 2000
    data = issue_data(desk, carrier_name="张三", carrier_relation="tenant",
                      authorisation="letter", letter_ref="WT-02")
    data["letter_scan"] = (io.BytesIO(pdf), "letter.pdf")
    resp = desk.post("/passes/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    gp = _issued(psvc)
    assert gp.letter_scan == f"{gp.pass_id}.pdf"
    assert (psvc.pass_scans.directory.parent, psvc.pass_scans.directory.name) == \
        (psvc.db.path.parent, "pass-letters")
    got = desk.get(f"/passes/{gp.pass_id}/letter")
    assert (got.status_code, got.mimetype, got.data) == (200, "application/pdf", pdf)


def test_letter_scan_larger_than_the_console_request_limit_is_accepted(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    jpeg = b"\xff\xd8\xff\xe0" + b"j" * (2 * 1024 * 1024)
    data = issue_data(desk, carrier_name="张三", carrier_relation="tenant",
                      authorisation="letter", letter_ref="WT-05")
    data["letter_scan"] = (io.BytesIO(jpeg), "photo.jpg")
    resp = desk.post("/passes/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    assert _issued(psvc).letter_scan.endswith(".jpg")


def test_letter_scan_of_another_type_is_refused(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    data = issue_data(desk, carrier_name="张三", carrier_relation="tenant",
                      authorisation="letter", letter_ref="WT-03")
    data["letter_scan"] = (io.BytesIO(b"<html><script>x</script>"), "letter.pdf")
    resp = desk.post("/passes/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and psvc.passes.count() == 0


def test_letter_scan_over_5_mb_is_refused(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    data = issue_data(desk, carrier_name="张三", carrier_relation="tenant",
                      authorisation="letter", letter_ref="WT-04")
    data["letter_scan"] = (io.BytesIO(b"%PDF-" + b"x" * (5 * 1024 * 1024)), "big.pdf")
    resp = desk.post("/passes/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and psvc.passes.count() == 0


def test_tool_pass_is_valid_today_only(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    resp = desk.post("/passes/tools/new", data={
        "csrf_token": csrf_token(desk, "/passes/tools/new"), "worker": "赵工",
        "worker_id_last4": "5678", "unit": UNIT, "tools": "电钻 x2\n梯子\n"})
    assert resp.status_code == 303, _text(resp)[:1500]
    gp = _issued(psvc)
    assert (gp.kind, gp.carrier_relation, gp.authorisation) == ("tools", "worker", "desk")
    assert [(i.description, i.quantity) for i in gp.items] == [("电钻", 2), ("梯子", 1)]
    assert (gp.valid_from, gp.valid_until) == (TODAY_START, TODAY_END)
    assert gp.pass_id.startswith("tp-20260302-")


def test_tool_pass_for_an_unknown_unit_is_refused(desk, psvc) -> None:  # type: ignore[no-untyped-def]
    resp = desk.post("/passes/tools/new", data={
        "csrf_token": csrf_token(desk, "/passes/tools/new"), "worker": "赵工",
        "worker_id_last4": "5678", "unit": "Q-1", "tools": "电钻"})
    assert resp.status_code == 400 and psvc.passes.count() == 0


def test_print_page_has_both_copies_every_field_and_the_signed_qr(desk, psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = psvc.passes.issue(draft(vehicle_plate="沪A12345", note="走货梯"), sign=signer.sign,
                           by="desk1")
    page = _text(desk.get(f"/passes/{gp.pass_id}/print"))
    assert page.count('data-copy="') == 2
    assert page.count(qr_svg(gp.qr_text)) == 2
    for text in (gp.pass_id, UNIT, "王芳", "1234", "沪A12345", "冰箱", "纸箱", "走货梯",
                 "2026-03-02 00:00", "2026-03-02 23:59", "desk1"):
        assert text in page, text
    assert page.count('class="sign"') == 8


def test_print_page_of_a_missing_pass_is_404(desk) -> None:  # type: ignore[no-untyped-def]
    assert desk.get("/passes/gp-nope/print").status_code == 404


def test_cancel_from_the_page_is_audited_and_lists_the_pass_in_the_snapshot(desk, psvc, signer, papp) -> None:  # type: ignore[no-untyped-def]
    from web.state import console

    gp = psvc.passes.issue(draft(), sign=signer.sign, by="desk1")
    resp = desk.post(f"/passes/{gp.pass_id}/cancel",
                     data={"csrf_token": csrf_token(desk, f"/passes/{gp.pass_id}"),
                           "reason": "业主取消"})
    assert resp.status_code == 303
    assert psvc.passes.get(gp.pass_id).cancel_reason == "业主取消"
    snap = psvc.sync.snapshot(DATASET)
    assert parse_revocations(snap).revoked == {gp.pass_id} and snap.version == 1
    entry = console(papp).audit.search(action="goods_pass.cancel")[0]
    assert (entry.user, entry.target, entry.detail) == ("desk1", gp.pass_id, "v1: 业主取消")


def test_cancel_without_a_reason_is_refused(desk, psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = psvc.passes.issue(draft(), sign=signer.sign, by="desk1")
    resp = desk.post(f"/passes/{gp.pass_id}/cancel",
                     data={"csrf_token": csrf_token(desk, f"/passes/{gp.pass_id}"), "reason": ""})
    assert resp.status_code == 400 and psvc.passes.get(gp.pass_id).state == "issued"


def test_search_by_carrier_state_and_date(desk, psvc, signer, clock) -> None:  # type: ignore[no-untyped-def]
    a = psvc.passes.issue(draft(), sign=signer.sign, by="desk1")
    b = psvc.passes.issue(draft(carrier_name="李雷", carrier_relation="household"),
                          sign=signer.sign, by="desk1")
    psvc.passes.cancel(b.pass_id, by="desk1", reason="x")
    found = lambda q: re.findall(r'data-pass="([^"]+)"', _text(desk.get("/passes?" + q)))  # noqa: E731
    assert found("carrier=李雷") == [b.pass_id]
    assert found("state=cancelled") == [b.pass_id]
    assert found("state=issued") == [a.pass_id]
    assert found(f"q={a.pass_id}") == [a.pass_id]
    assert found("since=2026-03-03") == []
    assert sorted(found("since=2026-03-02&until=2026-03-02")) == sorted([a.pass_id, b.pass_id])
    assert desk.get("/passes?since=yesterday").status_code == 200


def test_guard_board_shows_todays_passes_and_new_verdicts(pclient, psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = psvc.passes.issue(draft(), sign=signer.sign, by="desk1")
    assert login(pclient, "guard1").status_code == 303
    assert f'data-pass="{gp.pass_id}"' in _text(pclient.get("/passes/guard"))
    gate_event(psvc, 1, "goods_pass.rejected", pass_id="gp-bad", reason="forged", ts=T0 + 10)
    rows = _text(pclient.get("/passes/guard/verdicts"))
    assert 'data-verdict="gate:b1:1"' in rows and "gp-bad" in rows


def test_released_pass_leaves_the_guard_board(pclient, psvc, signer) -> None:  # type: ignore[no-untyped-def]
    gp = psvc.passes.issue(draft(), sign=signer.sign, by="desk1")
    gate_event(psvc, 1, "goods_pass.released", pass_id=gp.pass_id)
    assert login(pclient, "guard1").status_code == 303
    assert f'data-pass="{gp.pass_id}"' not in _text(pclient.get("/passes/guard"))


ROUTES = [("GET", "/passes", DESK), ("GET", "/passes/new", DESK), ("POST", "/passes/new", DESK),
          ("GET", "/passes/tools/new", DESK), ("POST", "/passes/tools/new", DESK),
          ("GET", "/passes/{id}", STAFF), ("GET", "/passes/{id}/print", DESK),
          ("POST", "/passes/{id}/cancel", DESK), ("GET", "/passes/guard", STAFF),
          ("GET", "/passes/guard/verdicts", STAFF), ("GET", "/passes/archive", DESK),
          ("GET", "/passes/archive.csv", DESK)]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,url,allowed", ROUTES, ids=[f"{m} {u}" for m, u, _ in ROUTES])
def test_role_gets_in_only_where_allowed(pclient, psvc, signer, role, method, url, allowed) -> None:  # type: ignore[no-untyped-def]
    gp = psvc.passes.issue(draft(), sign=signer.sign, by="desk1")
    assert login(pclient, role + "1").status_code == 303
    url = url.format(id=gp.pass_id)
    if method == "GET":
        resp = pclient.get(url)
    else:
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          _text(pclient.get("/"))).group(1)
        resp = pclient.post(url, data={"csrf_token": token, "reason": "x"})
    assert (resp.status_code != 403) == (role in allowed), (role, url, resp.status_code)


def test_anonymous_visitor_is_sent_to_log_in(pclient) -> None:  # type: ignore[no-untyped-def]
    for url in ("/passes", "/passes/guard", "/passes/archive", "/passes/new"):
        resp = pclient.get(url)
        assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]


def test_without_a_site_signing_key_the_form_says_so_and_issues_nothing(desk, psvc, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from web.signing import SigningUnavailable

    def no_key():  # type: ignore[no-untyped-def]
        raise SigningUnavailable("no site signing key")

    monkeypatch.setattr(psvc, "signer", no_key)
    resp = desk.post("/passes/new", data=issue_data(desk))
    assert resp.status_code == 503
    assert "console.signing_key_file" in _text(resp)
    assert psvc.passes.count() == 0
