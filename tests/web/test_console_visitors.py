"""Visitor registration (来访登记), consent, unlock gating, watchlist, check-in/out, the desk's
jobs (auto check-out, anonymisation, call time-outs) and invites: console pages and stores
without a broker (the broker-side tests are in test_console_visitors_broker.py)."""

from __future__ import annotations

import json
import logging
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest

from edge.extensions.intercom_invites import InviteDoor, InviteLedger
from web.signing import SiteSigner
from web.state import console

from console_helpers import login, post_form
from visitor_helpers import add_unit, intercom_event, lobby_services, ring, visit_values

FULL_ID = "110101199003074518"
DAY = 86_400_000


@pytest.fixture
def signer() -> SiteSigner:
    return SiteSigner.generate()


@pytest.fixture
def services(config, clock, signer) -> Iterator:  # type: ignore[no-untyped-def]
    with lobby_services(config, clock, signer=signer, timezone="Asia/Shanghai") as svc:
        add_unit(svc)
        yield svc


def _client(make_client, user: str):  # type: ignore[no-untyped-def]
    c = make_client()
    assert login(c, user).status_code == 303
    post_form(c, "/", "/lang/en", {"next": "/"})
    return c


@pytest.fixture
def desk(make_client):  # type: ignore[no-untyped-def]
    return _client(make_client, "desk1")


@pytest.fixture
def admin(make_client):  # type: ignore[no-untyped-def]
    return _client(make_client, "admin1")


def register(client, **kw):  # type: ignore[no-untyped-def]
    return post_form(client, "/visitors/new", "/visitors/new", visit_values(**kw))


def only_visit(services):  # type: ignore[no-untyped-def]
    [v] = services.visitors.visits.search()
    return v


def audit(app, action):  # type: ignore[no-untyped-def]
    return console(app).audit.search(action=action)


# -- registration ---------------------------------------------------------------------------------

def test_registration_stores_the_visit_with_only_the_id_tail(desk, services, app) -> None:
    resp = register(desk)
    assert resp.status_code == 303
    v = only_visit(services)
    assert (v.name, v.id_type, v.id_tail, v.unit, v.people, v.plate) == (
        "张伟", "resident_id", "4518", "A-1201", 2, "沪A12345")
    assert v.state == "waiting" and v.registered_by == "desk1"
    assert resp.headers["Location"].endswith(f"/visitors/{v.id}")
    [entry] = audit(app, "visit.register")
    assert entry.target == str(v.id) and json.loads(entry.detail)["unit"] == "A-1201"


def test_full_id_number_is_nowhere_in_the_database_file(desk, services, app, config,
                                                        caplog) -> None:
    caplog.set_level(logging.DEBUG)
    register(desk)
    register(desk, id_number=FULL_ID, phone="not a phone")          # refused, still typed
    services.visitors.watchlist.add("id_tail", "4518", note="", by="admin1")
    register(desk, name="李四")
    services.db.conn().execute("PRAGMA wal_checkpoint(FULL)")
    for path in Path(config.db_path).parent.glob(Path(config.db_path).name + "*"):
        data = path.read_bytes()
        for part in (FULL_ID, FULL_ID[:-4]):
            assert part.encode("ascii") not in data, f"{part} in {path.name}"
    assert all(FULL_ID not in (e.detail or "") for e in console(app).audit.search(limit=1000))
    assert FULL_ID not in caplog.text


def test_a_refused_registration_does_not_echo_the_id_number(desk) -> None:
    resp = register(desk, phone="call me maybe")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Digits, spaces and dashes" in body
    assert FULL_ID not in body


@pytest.mark.parametrize("field,value,message", [
    ("name", "", "Required."),
    ("id_number", "12", "An ID number is 4 to 30 letters or digits."),
    ("id_number", "1101-0119", "An ID number is 4 to 30 letters or digits."),
    ("id_type", "library_card", "Not a valid choice"),
    ("phone", "abc", "Digits, spaces and dashes"),
    ("plate", "!!", "Not a vehicle plate"),
    ("people", "0", "1 to 50 people."),
    ("unit", "A-9999", "This unit is not in the unit registry."),
    ("unit", "1201", "Write the unit as building-number"),
    ("name", "a\x00b", "Contains control characters."),
])
def test_bad_registration_is_refused_with_the_problem_named(desk, services, field, value,
                                                            message) -> None:
    resp = register(desk, **{field: value})
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert services.visitors.visits.count() == 0


def test_registration_without_csrf_is_refused(desk, services) -> None:
    assert desk.post("/visitors/new", data=visit_values()).status_code == 400
    assert services.visitors.visits.count() == 0


def test_guard_cannot_register_visitors(make_client) -> None:
    guard = _client(make_client, "guard1")
    assert guard.get("/visitors/new").status_code == 403


# -- watchlist ------------------------------------------------------------------------------------

def test_watchlist_match_warns_the_desk_and_still_registers(desk, services, app) -> None:
    services.visitors.watchlist.add("plate", "沪a·12345", note="欠费车辆", by="admin1")
    resp = register(desk, plate="沪A12345")
    assert resp.status_code == 303
    page = desk.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Watchlist" in page and "欠费车辆" in page
    v = only_visit(services)
    assert "plate:沪a·12345" in v.watch_hits and v.state == "waiting"
    assert json.loads(audit(app, "visit.register")[0].detail)["watchlist"] == ["plate:沪a·12345"]


def test_watchlist_matches_a_name_regardless_of_case_and_spaces(services) -> None:
    services.visitors.watchlist.add("name", "Zhang Wei", note="", by="admin1")
    reg = services.visitors.register(visit_values(name="zhangwei"), by="desk1")
    assert [h.kind for h in reg.hits] == ["name"]


def test_watchlist_is_edited_by_admin_only(desk, admin, services, app) -> None:
    data = {"kind": "id_tail", "value": "X4518", "note": "n"}
    assert post_form(desk, "/visitors/watchlist", "/visitors/watchlist", data).status_code in (400, 403)
    assert post_form(admin, "/visitors/watchlist", "/visitors/watchlist", data).status_code == 303
    [entry] = services.visitors.watchlist.all()
    assert entry.value == "4518"
    assert [e.detail for e in audit(app, "watchlist.add")] == ["id_tail: X4518"]


# -- consent and unlock gating --------------------------------------------------------------------

def test_unlock_is_refused_before_the_resident_confirms(desk, services) -> None:
    register(desk)
    v = only_visit(services)
    page = desk.get(f"/visitors/{v.id}").get_data(as_text=True)
    assert 'data-action="unlock"' not in page and "data-unlock-blocked" in page
    resp = post_form(desk, f"/visitors/{v.id}", f"/visitors/{v.id}/unlock", {"node": "lobby"})
    assert resp.status_code == 303
    assert "has not confirmed" in desk.get(resp.headers["Location"]).get_data(as_text=True)
    assert services.commands.recent() == []
    assert services.visitors.visits.require(v.id).unlocked_at is None


def test_unlock_is_refused_after_the_resident_refused(desk, services) -> None:
    register(desk)
    v = only_visit(services)
    post_form(desk, f"/visitors/{v.id}", f"/visitors/{v.id}/refuse", {})
    assert services.visitors.visits.require(v.id).state == "refused"
    post_form(desk, f"/visitors/{v.id}", f"/visitors/{v.id}/unlock", {"node": "lobby"})
    assert services.commands.recent() == []


def test_confirmed_visit_offers_the_unlock(desk, services, app) -> None:
    register(desk)
    v = only_visit(services)
    resp = post_form(desk, f"/visitors/{v.id}", f"/visitors/{v.id}/confirm", {"via": "phone"})
    assert resp.status_code == 303
    after = services.visitors.visits.require(v.id)
    assert after.state == "confirmed" and after.confirmed_via == "phone"
    assert after.confirmed_by == "desk1"
    assert 'data-action="unlock"' in desk.get(f"/visitors/{v.id}").get_data(as_text=True)
    assert [e.target for e in audit(app, "visit.confirm")] == [str(v.id)]


def test_desk_cannot_override_even_with_a_reason(desk, services) -> None:
    register(desk)
    v = only_visit(services)
    resp = post_form(desk, f"/visitors/{v.id}", f"/visitors/{v.id}/unlock",
                     {"node": "lobby", "reason": "住户电话打不通"})
    assert "Only an administrator" in desk.get(resp.headers["Location"]).get_data(as_text=True)
    assert services.commands.recent() == []


def test_admin_override_needs_a_reason(admin, services) -> None:
    v = services.visitors.register(visit_values(), by="desk1").visit
    resp = post_form(admin, f"/visitors/{v.id}", f"/visitors/{v.id}/unlock", {"node": "lobby"})
    assert "Write the reason" in admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert services.commands.recent() == []


def test_admin_override_with_a_reason_sends_the_command_and_audits_the_reason(admin, services,
                                                                              app) -> None:
    v = services.visitors.register(visit_values(), by="desk1").visit
    post_form(admin, f"/visitors/{v.id}", f"/visitors/{v.id}/unlock",
              {"node": "lobby", "reason": "业主在外地，电话确认"})
    [cmd] = services.commands.recent()
    assert (cmd.node, cmd.action, cmd.issued_by) == ("lobby", "intercom.open", "admin1")
    [entry] = audit(app, "visit.unlock")
    assert json.loads(entry.detail)["override"] == "业主在外地，电话确认"


def test_check_in_needs_consent_then_check_out(desk, services, app) -> None:
    v = services.visitors.register(visit_values(), by="desk1").visit
    post_form(desk, f"/visitors/{v.id}", f"/visitors/{v.id}/check-in", {})
    assert services.visitors.visits.require(v.id).arrived_at is None
    services.visitors.confirm_visit(v.id, via="in_person", by="desk1")
    post_form(desk, f"/visitors/{v.id}", f"/visitors/{v.id}/check-in", {})
    assert services.visitors.visits.require(v.id).state == "on_site"
    post_form(desk, f"/visitors/{v.id}", f"/visitors/{v.id}/check-out", {})
    after = services.visitors.visits.require(v.id)
    assert after.state == "left" and not after.auto_checkout and after.left_by == "desk1"
    assert len(audit(app, "visit.check_out")) == 1


def test_registration_for_a_confirmed_call_inherits_the_consent(desk, services) -> None:
    key = ring(services)
    services.visitors.confirm_call(key, via="phone", by="desk1")
    register(desk, call_id=key)
    v = only_visit(services)
    assert v.call_key == key and v.confirmed_via == "phone"


def test_confirming_the_call_later_confirms_its_visit(desk, services) -> None:
    key = ring(services)
    register(desk, call_id=key)
    assert only_visit(services).state == "waiting"
    post_form(desk, "/desk", f"/desk/calls/{key}/confirm", {"via": "in_person"})
    assert only_visit(services).confirmed_via == "in_person"


def test_refusing_the_call_refuses_its_visit(desk, services) -> None:
    key = ring(services)
    register(desk, call_id=key)
    post_form(desk, "/desk", f"/desk/calls/{key}/refuse", {})
    assert only_visit(services).state == "refused"
    assert services.visitors.calls.require(key).outcome == "refused"


# -- on-site list ---------------------------------------------------------------------------------

def test_on_site_list_shows_who_is_in_for_guards(make_client, services) -> None:
    a = services.visitors.register(visit_values(people="3"), by="desk1").visit
    b = services.visitors.register(visit_values(name="李四"), by="desk1").visit
    services.visitors.confirm_visit(a.id, via="phone", by="desk1")
    services.visitors.check_in(a.id, by="desk1", role="desk")
    guard = _client(make_client, "guard1")
    page = guard.get("/on-site").get_data(as_text=True)
    assert f'data-visit="{a.id}"' in page and f'data-visit="{b.id}"' not in page
    assert "3 people" in page and "data-print" in page
    patrol = _client(make_client, "patrol1")
    assert patrol.get("/on-site").status_code == 403


# -- jobs (injected clock) ------------------------------------------------------------------------

def _local_ms(text: str) -> int:
    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz).timestamp() * 1000)


def _on_site(services, name: str) -> int:  # type: ignore[no-untyped-def]
    v = services.visitors.register(visit_values(name=name), by="desk1").visit
    services.visitors.confirm_visit(v.id, via="phone", by="desk1")
    services.visitors.check_in(v.id, by="desk1", role="desk")
    return v.id


def test_auto_check_out_at_the_configured_hour_flags_the_visit(services, clock, app) -> None:
    clock.now = _local_ms("2026-01-05 09:00")
    early = _on_site(services, "早")
    services.jobs.run_due(_local_ms("2026-01-05 22:59"))
    assert services.visitors.visits.require(early).state == "on_site"
    clock.now = _local_ms("2026-01-05 23:30")
    late = _on_site(services, "晚")
    services.jobs.run_due(_local_ms("2026-01-05 23:31"))
    v = services.visitors.visits.require(early)
    assert v.state == "left" and v.auto_checkout and v.left_at == _local_ms("2026-01-05 23:00")
    assert services.visitors.visits.require(late).state == "on_site"   # came after 23:00
    [entry] = audit(app, "visit.auto_checkout")
    assert entry.user == "system" and str(early) in entry.detail


def test_auto_check_out_hour_is_configurable_and_can_be_off(admin, services, clock) -> None:
    resp = post_form(admin, "/visitors/watchlist", "/visitors/settings",
                     {"call_timeout_s": "60", "checkout_hour": "-1", "anonymise_days": "30"})
    assert resp.status_code == 303
    clock.now = _local_ms("2026-01-05 09:00")
    vid = _on_site(services, "x")
    assert services.visitors.auto_check_out(_local_ms("2026-01-06 23:59")) == []
    assert services.visitors.visits.require(vid).state == "on_site"
    assert services.visitors.settings.get().anonymise_days == 30


def test_settings_out_of_range_are_refused(admin, services) -> None:
    resp = post_form(admin, "/visitors/watchlist", "/visitors/settings",
                     {"call_timeout_s": "60", "checkout_hour": "24", "anonymise_days": "30"})
    assert resp.status_code == 400 and "Out of range." in resp.get_data(as_text=True)
    assert services.visitors.settings.get().checkout_hour == 23


def test_anonymisation_blanks_old_visits_and_writes_the_result_to_the_audit_log(services, clock,
                                                                                 app) -> None:
    old = services.visitors.register(visit_values(), by="desk1").visit
    clock.advance(170 * DAY)
    recent = services.visitors.register(visit_values(name="新"), by="desk1").visit
    clock.advance(11 * DAY)
    services.jobs.run_due(clock())
    o, r = (services.visitors.visits.require(i) for i in (old.id, recent.id))
    assert (o.name, o.id_tail, o.phone, o.plate, o.purpose) == ("", "", "", "", "")
    assert o.anonymised_at == clock() and o.unit == "A-1201" and o.people == 2
    assert r.name == "新" and r.anonymised_at is None
    [entry] = audit(app, "visit.anonymise")
    assert entry.user == "system" and entry.detail.startswith("1 visit(s) older than 180 days")


def test_anonymised_names_and_plates_are_nowhere_in_the_database_files(services, clock,
                                                                      config) -> None:
    name, plate = "欧阳知秋", "沪Z98765"
    services.visitors.register(visit_values(name=name, plate=plate), by="desk1")
    clock.advance(181 * DAY)
    services.jobs.run_due(clock())
    files = list(Path(config.db_path).parent.glob(Path(config.db_path).name + "*"))
    assert files
    for path in files:                  # the database, its WAL and shared memory, as they are
        data = path.read_bytes()
        for text in (name, plate):
            assert text.encode("utf-8") not in data, f"{text} in {path.name}"


def test_call_timeout_job_ends_unanswered_calls_and_logs_them(services, clock, app) -> None:
    key = ring(services)
    services.jobs.run_due(clock() + 89_000)
    assert services.visitors.calls.require(key).state == "ringing"
    services.jobs.run_due(clock() + 200_000)
    call = services.visitors.calls.require(key)
    assert (call.state, call.outcome, call.ended_by) == ("ended", "timeout", "console")
    [entry] = audit(app, "intercom.call_timeout")
    assert entry.target == key and "A-1201" in entry.detail


# -- invites --------------------------------------------------------------------------------------

def _invite(client, **kw):  # type: ignore[no-untyped-def]
    data = {"name": "赵六", "phone": "", "unit": "A-1201", "purpose": "送货",
            "valid_from": "2026-01-01T08:00", "valid_until": "2026-01-02T20:00", "uses": "2"}
    data.update(kw)
    return post_form(client, "/invites/new", "/invites/new", data)


def test_invite_is_signed_so_the_node_admits_it(desk, services, signer, tmp_path, app) -> None:
    resp = _invite(desk)
    assert resp.status_code == 303
    [inv] = services.visitors.invites.recent()
    door = InviteDoor(signer.public_key_raw(), site="test-site",
                      ledger=InviteLedger(tmp_path / "ledger.db").open())
    verdict = door.decide(inv.qr_text, _local_ms("2026-01-01 09:00"))
    assert verdict.admitted and verdict.token.unit == "A-1201" and verdict.token.uses == 2
    assert door.decide(inv.qr_text, _local_ms("2026-01-02 20:01")).reason == "expired"
    other = InviteDoor(SiteSigner.generate().public_key_raw(), site="test-site",
                       ledger=InviteLedger(tmp_path / "other.db").open())
    assert other.decide(inv.qr_text, _local_ms("2026-01-01 09:00")).reason == "bad_signature"
    [entry] = audit(app, "invite.create")
    assert inv.qr_text not in (entry.detail or "")


def test_invite_page_shows_a_qr_code(desk, services) -> None:
    resp = _invite(desk)
    page = desk.get(resp.headers["Location"]).get_data(as_text=True)
    assert "<svg" in page and "data-qr" in page and "赵六" in page
    svg = desk.get(resp.headers["Location"] + "/qr.svg")
    assert svg.mimetype == "image/svg+xml"


def test_invite_with_an_end_before_its_start_is_refused(desk, services) -> None:
    resp = _invite(desk, valid_until="2026-01-01T07:00")
    assert resp.status_code == 400 and "Must be after the start." in resp.get_data(as_text=True)
    assert services.visitors.invites.recent() == []


def test_invite_admitted_at_the_door_checks_the_visitor_in(desk, services) -> None:
    _invite(desk)
    [inv] = services.visitors.invites.recent()
    intercom_event(services, "intercom.invite_admitted",
                   {"panel": "lobby-panel", "reason": "admitted", "invite_id": inv.invite_id,
                    "unit": "A-1201", "use": 1, "uses": 2, "seconds": 5.0})
    v = only_visit(services)
    assert (v.name, v.invite_id, v.confirmed_via, v.state) == ("赵六", inv.invite_id, "invite",
                                                               "on_site")
    assert services.visitors.invites.require(inv.invite_id).admitted == 1


def test_revoked_invite_shows_no_qr_and_joins_the_revocation_snapshot(desk, services, app) -> None:
    resp = _invite(desk)
    [inv] = services.visitors.invites.recent()
    page = resp.headers["Location"]
    assert post_form(desk, page, page + "/revoke", {}).status_code == 303
    assert "data-void" in desk.get(page).get_data(as_text=True)
    snap = services.sync.snapshot("invite-revocations")
    assert snap.version == 1 and snap.data["revoked"] == [inv.invite_id]
    assert [e.detail for e in audit(app, "invite.revoke")] == ["invite-revocations v1"]


# -- reports --------------------------------------------------------------------------------------

def test_visitors_page_reports_calls_and_visits_for_the_period(desk, services, clock) -> None:
    answered = ring(services, call_id="c-1")
    clock.advance(12_000)
    services.visitors.answer_call(answered, by="desk1")
    ring(services, call_id="c-2")
    services.jobs.run_due(clock() + 200_000)                       # c-2 times out
    services.visitors.register(visit_values(people="3"), by="desk1")
    page = desk.get("/visitors?days=7").get_data(as_text=True)
    report = page.split("data-desk-report", 1)[1].split("</section>", 1)[0]
    assert 'data-calls>2<' in report and 'data-answered>1<' in report
    assert 'data-unanswered>1<' in report and 'data-avg-answer>12.0 s<' in report
    assert 'data-report-unit="A-1201"' in report and ">3<" in report


def test_unlock_only_goes_to_an_intercom_node_the_console_holds_a_key_for(admin, services) -> None:
    v = services.visitors.register(visit_values(), by="desk1").visit
    services.visitors.confirm_visit(v.id, via="phone", by="desk1")
    resp = post_form(admin, f"/visitors/{v.id}", f"/visitors/{v.id}/unlock", {"node": "gate"})
    assert "Choose the door to open." in admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert services.commands.recent() == []
