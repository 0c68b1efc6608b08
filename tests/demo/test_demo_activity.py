"""The demo's simulated people on a started site: every kind of thing they do reaches the
console as the right events, and the console's features make of it what their users see (a
key loan opened and ended, the console-issued pass and invite used, patrol taps along the
route). The seed data itself: test_demo_seed.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from firmware.probe import wait_until
from lobbygate.demo import DemoSite
from lobbygate.demo_activity import PATROL_REST_S, DemoActivity
from lobbygate.demo_nodes import CABINET_READER, CHECKPOINTS, PATROL_ROUTE
from lobbygate.demo_people import CABINET_HOLDERS, CARDS, KEYS
from lobbygate.demo_seed import ROUTE_SPAN_MIN
from lobbygate.demo_wiring import NodeWiring


def _kinds(db: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return {(n, k) for n, k in c.execute("SELECT DISTINCT node, kind FROM events")}


def test_every_simulated_activity_reaches_the_console(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "console" / "console.sqlite"
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        assert site.wait_ready()
        people = DemoActivity(wiring=site.wiring, meters=site.meters, desk=site.desk, seed=7)
        wang = next(c for c in CARDS if c.credential_id == "c-1-1201-wang")
        people.rng.choice = lambda seq: wang if seq is CARDS else seq[0]  # type: ignore[method-assign]
        people.rng.random = lambda: 0.5  # type: ignore[method-assign]  # a known card; released
        for step in (people.resident_at_lobby, people.resident_at_gate, people.stranger,
                     people.exit_button, people.intercom_call, people.invite, people.goods_pass,
                     people.patrol_tap, people.patrol_tap, people.patrol_tap, people.cabinet_card,
                     people.help_button):
            step()
        want = {("lobby", "door.granted"), ("gate", "door.granted"), ("lobby", "door.denied"),
                ("lobby", "door.exit_request"), ("lobby", "intercom.call"),
                ("lobby", "intercom.invite_admitted"), ("lobby", "intercom.emergency"),
                ("lobby", "patrol.tap"), ("gate", "patrol.tap"), ("plant", "patrol.tap"),
                ("desk", "cabinet.granted"), ("desk", "key.taken"), ("gate", "goods_pass.released")}
        assert wait_until(lambda: want <= _kinds(db), timeout_s=30), want - _kinds(db)
        assert ("lobby", "door.forced") not in _kinds(db)


def test_staff_take_a_cabinet_key_and_bring_it_back_as_a_console_loan(tmp_path: Path) -> None:
    vacant_key = KEYS[0]
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        assert site.wait_ready()
        people = DemoActivity(wiring=site.wiring, meters=site.meters, desk=site.desk, seed=3)
        loans = site.desk.services.keys.loans
        people.take_key(vacant_key)
        assert wait_until(lambda: loans.open_loan(vacant_key.number) is not None, timeout_s=30)
        assert loans.open_loan(vacant_key.number).holder in vacant_key.takers
        people.return_key(vacant_key.number)
        assert wait_until(lambda: loans.open_loan(vacant_key.number) is None, timeout_s=30)
        assert [loan.state for loan in loans.search(key=vacant_key.number)] == ["returned"]


def test_the_two_person_key_is_taken_with_both_cards_and_the_second_is_the_witness(
        tmp_path: Path) -> None:
    master = next(k for k in KEYS if k.two_person)
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        assert site.wait_ready()
        people = DemoActivity(wiring=site.wiring, meters=site.meters, desk=site.desk, seed=3)
        loans = site.desk.services.keys.loans
        people.take_key(master)
        assert wait_until(lambda: loans.open_loan(master.number) is not None, timeout_s=30)
        loan = loans.open_loan(master.number)
        (second,) = [h for h in CABINET_HOLDERS if h.credential_id != loan.holder]
        assert loan.holder in master.takers and loan.witness == second.card


def test_the_first_vacant_unit_key_loan_outlasts_its_loan_time() -> None:
    vacant_key = KEYS[0]
    wiring = NodeWiring("desk")            # the wires only: nobody needs to read them here
    try:
        wiring.port(CABINET_READER)
        people = DemoActivity(wiring={"desk": wiring}, meters=None, desk=None,  # type: ignore[arg-type]
                              seed=3, clock=lambda: 0.0)
        people.take_key(vacant_key)
        _card, back_at = people._keys_out[vacant_key.number]
        assert back_at > vacant_key.max_loan_min * 60
        people.return_key(vacant_key.number)
        people.take_key(vacant_key)
        _card, back_at = people._keys_out[vacant_key.number]
        assert back_at < vacant_key.max_loan_min * 60
    finally:
        wiring.close()


def test_the_guard_taps_the_patrol_route_in_order(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "console" / "console.sqlite"
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        assert site.wait_ready()
        people = DemoActivity(wiring=site.wiring, meters=site.meters, desk=site.desk, seed=3)
        taps = site.desk.services.patrol.taps
        for walked in range(1, len(PATROL_ROUTE) + 1):       # the guard walks between points
            people.patrol_tap()
            assert wait_until(lambda: taps.count() == walked, timeout_s=30)
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            order = [r[0] for r in c.execute("SELECT checkpoint FROM patrol_taps ORDER BY ts")]
        assert tuple(order) == PATROL_ROUTE


def test_movers_show_console_issued_passes_and_visitors_console_issued_invites(
        tmp_path: Path) -> None:
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        assert site.wait_ready()
        people = DemoActivity(wiring=site.wiring, meters=site.meters, desk=site.desk, seed=3)
        people.rng.random = lambda: 0.9          # type: ignore[method-assign]  # the guard releases
        seeded = {gp.pass_id for gp in site.desk.services.passes.search()}
        people.goods_pass()
        people.invite()
        passes = site.desk.services.passes
        assert wait_until(lambda: any(passes.require(p).state == "released" for p in seeded),
                          timeout_s=30)
        visits = site.desk.services.visitors.visits
        (invite,) = [i for i in site.desk.services.visitors.invites.recent() if i.uses == 1]
        assert wait_until(lambda: visits.for_invite(invite.invite_id), timeout_s=30)


class _RecordingWires:
    """Stands in for a node's wires where only the order of the guard's taps matters."""

    def __init__(self, node: str, taps: list[tuple[str, str]]) -> None:
        self.node, self.taps = node, taps

    def card_em(self, port: str, card: str) -> None:
        self.taps.append((self.node, port))


def test_after_a_round_the_guard_rests_longer_than_the_routes_span() -> None:
    taps: list[tuple[str, str]] = []
    clock = [0.0]
    people = DemoActivity(wiring={n: _RecordingWires(n, taps) for n in CHECKPOINTS},  # type: ignore[misc]
                          meters=None, desk=None, seed=1, clock=lambda: clock[0])  # type: ignore[arg-type]
    for _ in range(len(PATROL_ROUTE) + 2):
        people.patrol_tap()
    assert len(taps) == len(PATROL_ROUTE)
    clock[0] = ROUTE_SPAN_MIN * 60 + 1.0
    people.patrol_tap()
    assert len(taps) == len(PATROL_ROUTE)
    clock[0] = PATROL_REST_S + 1.0
    people.patrol_tap()
    assert taps[-1] == taps[0] and len(taps) == len(PATROL_ROUTE) + 1
