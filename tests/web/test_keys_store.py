"""The key register's snapshot, loans from cabinet events, the overdue job and the cabinet
board, through the real stores (SQLite) with an injected clock."""

from __future__ import annotations

import pytest

from edge.cabinet.permissions import KeyPermissions
from web.keys import KEY_OVERDUE
from web.keys.register import KeyExists, SlotTaken

from console_helpers import T0
from keys_helpers import ALICE_CARD, Feed, add_alice, add_key

HOUR = 3_600_000


def _data(services):  # type: ignore[no-untyped-def]
    return services.keys.register.snapshot().data


def test_snapshot_lists_the_key_and_the_takers_cabinet_card(services) -> None:  # type: ignore[no-untyped-def]
    add_alice(services)
    add_key(services, "K-001", slot=3, two_person=True)
    assert _data(services) == {
        "keys": [{"key": "K-001", "cabinet": "main", "slot": 3, "two_person": True,
                  "label": "K-001 label"}],
        "cards": [{"card": "0A00000001", "holder": "c-alice", "keys": ["K-001"]}]}


def test_snapshot_is_what_the_cabinet_node_parses(services) -> None:  # type: ignore[no-untyped-def]
    add_alice(services)
    add_key(services, "K-001", slot=1)
    add_key(services, "K-002", slot=2, takers=("role:staff",))
    perms = KeyPermissions.from_snapshot(services.keys.register.snapshot(), cabinet="main",
                                         slots=[1, 2, 3])
    assert perms.rejected == ()
    assert perms.holder("0a00000001").keys == {"K-001", "K-002"}


def test_a_role_taker_lists_every_enabled_credential_of_that_kind(services) -> None:  # type: ignore[no-untyped-def]
    add_alice(services, kind="contractor")
    add_key(services, takers=("role:staff",))
    assert _data(services)["cards"] == []
    add_key(services, "K-002", slot=2, takers=("role:contractor",))
    assert _data(services)["cards"][0]["keys"] == ["K-002"]


def test_wiegand_cards_are_left_out_a_cabinet_reads_em4100(services) -> None:  # type: ignore[no-untyped-def]
    from web.access import CredentialRecord
    services.credentials.save(CredentialRecord(credential_id="c-w", cards=("w26:1:2",)),
                              by="t", create=True)
    add_key(services, takers=("cred:c-w",))
    assert _data(services)["cards"] == []


def test_every_register_change_bumps_the_version(services) -> None:  # type: ignore[no-untyped-def]
    reg = services.keys.register
    rec = add_key(services)
    assert reg.version() == 1
    reg.save(rec.__class__(**{**{f: getattr(rec, f) for f in rec.__slots__}, "label": "new"}),
             by="admin1", create=False)
    assert reg.version() == 2
    reg.delete("K-001", by="admin1")
    assert reg.version() == 3 and _data(services)["keys"] == []


def test_two_keys_may_not_share_a_slot(services) -> None:  # type: ignore[no-untyped-def]
    add_key(services, "K-001", slot=1)
    with pytest.raises(SlotTaken):
        add_key(services, "K-002", slot=1)
    with pytest.raises(KeyExists):
        add_key(services, "K-001", slot=5)


def test_entrusted_key_is_takeable_until_the_owners_authorisation_ends(services, clock) -> None:  # type: ignore[no-untyped-def]
    add_alice(services)
    add_key(services, kind="owner-entrusted", authorised_by="业主 李雷",
            authorised_until=T0 + HOUR)
    assert _data(services)["cards"][0]["keys"] == ["K-001"]
    clock.advance(HOUR)
    assert services.keys.refresh(clock()) is True
    assert services.keys.register.version() == 2
    # the card stays registered (it may open the cabinet to return the key), taking nothing
    assert _data(services)["cards"] == [{"card": "0A00000001", "holder": "c-alice", "keys": []}]
    assert services.keys.refresh(clock()) is False


def test_taken_opens_a_loan_due_after_the_keys_maximum_loan_time(services) -> None:  # type: ignore[no-untyped-def]
    add_alice(services)
    add_key(services, max_loan_min=120)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001",
                   witness=None)
    (loan,) = services.keys.loans.out_now()
    assert (loan.key, loan.holder, loan.holder_name, loan.taken_at, loan.due_at, loan.state) == \
        ("K-001", "c-alice", "王芳", T0, T0 + 2 * HOUR, "out")


def test_returned_closes_the_loan(services) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    feed = Feed(services)
    feed("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    feed("key.returned", T0 + 5000, key="K-001", slot=1, holder="c-alice", card="0A00000001",
         returned_by="0A00000001", out_s=5.0)
    assert services.keys.loans.out_now() == []
    (loan,) = services.keys.loans.search(key="K-001")
    assert (loan.state, loan.returned_at) == ("returned", T0 + 5000)


def test_forced_removal_opens_a_flagged_loan_with_no_holder(services) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    Feed(services)("key.forced", T0, key="K-001", slot=1)
    (loan,) = services.keys.loans.out_now()
    assert (loan.how, loan.holder, loan.flags) == ("forced", "", ("forced",))
    assert [a.kind for a in services.alarms.open()] == ["key.forced"]


def test_wrong_slot_flags_the_named_keys_loan_and_shows_on_the_board(services) -> None:  # type: ignore[no-untyped-def]
    add_key(services, "K-001", slot=1)
    add_key(services, "K-002", slot=2)
    feed = Feed(services)
    feed("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    feed("key.wrong_slot", T0 + 1, slot=3, key="K-001", expected=None, times=1)
    assert services.keys.loans.out_now()[0].flags == ("wrong_slot",)
    slots = {s.slot: s.state for s in services.keys.board.board()[0].slots}
    assert slots == {1: "out", 2: "present", 3: "wrong"}
    feed("key.wrong_slot_cleared", T0 + 2, slot=3)
    assert {s.slot: s.state for s in services.keys.board.board()[0].slots}[3] == "empty"


def test_replayed_taken_event_does_not_open_a_second_loan(services) -> None:  # type: ignore[no-untyped-def]
    add_key(services)
    feed = Feed(services)
    ev = feed("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    services.keys.loans.on_event(ev)
    assert len(services.keys.loans.search(key="K-001")) == 1


def test_inventory_opens_a_missing_loan_and_marks_the_slot_fault(services) -> None:  # type: ignore[no-untyped-def]
    add_key(services, "K-001", slot=1)
    add_key(services, "K-002", slot=2)
    Feed(services)("cabinet.inventory", T0, present=[1], out=["K-002"], differences=[],
                   first_boot=True)
    (loan,) = services.keys.loans.out_now()
    assert (loan.key, loan.how) == ("K-002", "missing")
    assert {s.slot: s.state for s in services.keys.board.board()[0].slots} == {1: "present", 2: "fault"}
    assert services.keys.board.node_of("main") == "cab"


def test_overdue_job_raises_one_alarm_per_loan(services, clock) -> None:  # type: ignore[no-untyped-def]
    add_key(services, max_loan_min=60)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    assert services.keys.loans.check_overdue(T0 + HOUR - 1) == []
    (alarm,) = services.keys.loans.check_overdue(T0 + HOUR)
    assert alarm.kind == KEY_OVERDUE and alarm.data["key"] == "K-001"
    assert services.keys.loans.check_overdue(T0 + 2 * HOUR) == []
    assert [a.kind for a in services.alarms.open()] == [KEY_OVERDUE]
    assert [loan.key for loan in services.keys.loans.overdue(T0 + HOUR)] == ["K-001"]


def test_overdue_job_runs_from_the_job_runner_with_the_injected_clock(services, clock) -> None:  # type: ignore[no-untyped-def]
    add_key(services, max_loan_min=1)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    services.jobs.run_due(T0)
    assert services.alarms.count_open() == 0
    clock.advance(10 * 60_000)
    services.jobs.run_due(clock())
    assert [a.kind for a in services.alarms.open()] == [KEY_OVERDUE]


def test_a_taker_with_no_credential_adds_no_card(services) -> None:  # type: ignore[no-untyped-def]
    add_alice(services)
    add_key(services, takers=("cred:c-alice", "cred:nobody"))
    assert [c["card"] for c in _data(services)["cards"]] == [ALICE_CARD.split(":")[1]]


def test_overdue_alarms_raised_inside_a_caller_s_transaction_go_live_after_its_commit(services) -> None:  # type: ignore[no-untyped-def]
    add_key(services, max_loan_min=60)
    Feed(services)("key.taken", T0, key="K-001", slot=1, holder="c-alice", card="0A00000001")
    with services.live.subscribe() as sub:
        with services.db.transaction():
            (alarm,) = services.keys.loans.check_overdue(T0 + HOUR)
            assert sub.get(timeout_s=0.05) is None       # not before the commit
        item = sub.get(timeout_s=1)
    assert item is not None and item[0] == "alarm" and item[1]["id"] == alarm.id


def test_a_credential_change_bumps_the_key_permissions_at_once(services) -> None:  # type: ignore[no-untyped-def]
    add_alice(services)
    add_key(services)
    version = services.keys.register.version()
    alice = services.credentials.get("c-alice")
    services.credentials.save(alice.with_changes(enabled=False), by="admin1", create=False)
    services.publish_credentials()                  # what the credentials pages call
    assert services.keys.register.version() == version + 1
    assert _data(services)["cards"] == []
