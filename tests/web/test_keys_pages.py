"""The key pages through the Flask test client: the register (admin edits, the desk reads),
the key page with its history, the cabinet board and its JSON, the loans report and CSV,
the reminders list; every change audit-logged and the snapshot version bumped."""

from __future__ import annotations

from console_helpers import T0, login, post_form
from keys_helpers import Feed, add_alice, add_key

HOUR = 3_600_000


def _add_form(**over):  # type: ignore[no-untyped-def]
    data = {"number": "K-101", "label": "A-1201 大门", "unit": "", "kind": "common-area",
            "cabinet": "main", "slot": "4", "takers": "cred:c-alice role:staff",
            "max_loan_min": "90"}
    data.update(over)
    return data


def test_admin_adds_a_key_and_the_snapshot_version_goes_up(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    resp = post_form(client, "/keys/new", "/keys/new", _add_form())
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/keys/K-101")
    rec = services.keys.register.get("K-101")
    assert (rec.slot, rec.takers, rec.max_loan_min) == (4, ("cred:c-alice", "role:staff"), 90)
    assert services.keys.register.version() == 1
    assert "K-101" in client.get("/keys").get_data(as_text=True)


def test_adding_a_key_is_audit_logged(client, services, app) -> None:  # type: ignore[no-untyped-def]
    from web.state import console
    login(client, "admin1")
    post_form(client, "/keys/new", "/keys/new", _add_form())
    entry = console(app).audit.search(action="key.add")[0]
    assert (entry.user, entry.target) == ("admin1", "K-101")


def test_bad_key_form_shows_every_problem_and_saves_nothing(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    resp = post_form(client, "/keys/new", "/keys/new",
                     _add_form(number="bad key", kind="owner-entrusted", takers="cred:",
                               unit="Z-9"))
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert page.count("field has-error") == 4      # number, unit, takers, authorisation end
    assert services.keys.register.count() == 0


def test_a_slot_holding_another_key_is_refused(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services, "K-001", slot=4)
    login(client, "admin1")
    resp = post_form(client, "/keys/new", "/keys/new", _add_form())
    assert resp.status_code == 400 and services.keys.register.count() == 1


def test_entrusted_key_needs_and_keeps_the_owners_authorisation(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    resp = post_form(client, "/keys/new", "/keys/new",
                     _add_form(kind="owner-entrusted", authorised_by="业主 李雷",
                               authorised_until="2026-02-01T18:00", borrowers="维修工 李师傅"))
    assert resp.status_code == 303
    rec = services.keys.register.get("K-101")
    assert rec.entrusted and rec.authorised_by == "业主 李雷" and rec.authorised_until is not None


def test_desk_reads_the_register_but_may_not_add(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    login(client, "desk1")
    assert client.get("/keys").status_code == 200
    assert client.get("/keys/K-001").status_code == 200
    assert client.get("/keys/new").status_code == 403


def test_key_page_lists_its_loans(client, services) -> None:  # type: ignore[no-untyped-def]
    add_alice(services)
    add_key(services)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    login(client, "desk1")
    page = client.get("/keys/K-001").get_data(as_text=True)
    assert 'data-loan-state="out"' in page and "王芳" in page


def test_cabinet_board_json_gives_each_slots_state(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services, "K-001", slot=1)
    add_key(services, "K-002", slot=2)
    Feed(services)("key.taken", T0, key="K-002", slot=2, holder="c-alice", card="0A00000001")
    login(client, "guard1")
    data = client.get("/keys/cabinets.json").get_json()
    (cab,) = data["cabinets"]
    assert (cab["cabinet"], cab["node"]) == ("main", "cab")
    assert [(s["slot"], s["state"]) for s in cab["slots"]] == [(1, "present"), (2, "out")]
    assert 'data-state="out"' in client.get("/keys/cabinets").get_data(as_text=True)


def test_reminders_list_the_overdue_loan(client, services, clock) -> None:  # type: ignore[no-untyped-def]
    add_key(services, max_loan_min=60)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    clock.advance(2 * HOUR)
    login(client, "desk1")
    page = client.get("/keys/reminders").get_data(as_text=True)
    assert 'class="overdue"' in page and "K-001" in page


def test_loans_in_a_period_export_as_csv(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    feed = Feed(services)
    feed("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    feed("key.returned", T0 + 60_000, key="K-001", slot=1, returned_by="0A00000001")
    login(client, "desk1")
    resp = client.get("/keys/loans.csv?report=period&since=2025-12-31&until=2026-01-02")
    text = resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv"
    lines = text.lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 2 and "K-001" in lines[1] and "c-alice" in lines[1]


def test_loans_report_filters_by_person(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services, "K-001", slot=1)
    add_key(services, "K-002", slot=2)
    feed = Feed(services)
    feed("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    feed("key.taken", T0, key="K-002", slot=2, holder="c-bob", card="0A00000002")
    login(client, "desk1")
    page = client.get("/keys/loans?holder=c-bob").get_data(as_text=True)
    assert "K-002" in page and "/keys/K-001" not in page


def test_a_key_that_is_out_cannot_be_removed(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    login(client, "admin1")
    resp = post_form(client, "/keys/K-001", "/keys/K-001/delete", {})
    assert resp.status_code == 303 and services.keys.register.get("K-001") is not None


def test_admin_removes_a_key_that_is_in(client, services) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    login(client, "admin1")
    resp = post_form(client, "/keys/K-001", "/keys/K-001/delete", {})
    assert resp.status_code == 303 and services.keys.register.get("K-001") is None
    assert services.keys.register.version() == 2
