"""The demo's seed data and its simulated people: the console is seeded through its own stores,
once; every kind of thing the simulated people do reaches the console as the right events."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from firmware.probe import wait_until
from lobbygate.demo import DemoSite, _seed_console
from lobbygate.demo_activity import DemoActivity
from lobbygate.demo_people import CARDS, UNITS
from web.services import ServicesConfig, build_services


@pytest.fixture
def services(tmp_path: Path):
    s = build_services(ServicesConfig(db_path=tmp_path / "console.sqlite", site="demo")).open()
    yield s
    s.stop()


def test_seed_registers_units_residents_and_door_credentials(services) -> None:
    version = _seed_console(services)
    assert version == services.credentials.version() >= len(CARDS)
    assert services.units.count() == len(UNITS)
    assert services.units.require("1-1201").names() == ["王建国", "李秀英"]
    assert services.units.is_vacant("2-0802")
    wang = services.credentials.get("c-1-1201-wang")
    assert wang is not None and wang.cards == ("w26:10:1001",) and wang.doors == ("lobby", "gate")
    assert not services.credentials.get("c-2-1503-liu").enabled


def test_seeding_again_changes_nothing(services) -> None:
    version = _seed_console(services)
    assert _seed_console(services) == version
    assert services.credentials.count() == len(CARDS)


def _kinds(db: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return {(n, k) for n, k in c.execute("SELECT DISTINCT node, kind FROM events")}


def test_every_simulated_activity_reaches_the_console(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "console" / "console.sqlite"
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        assert site.wait_ready()
        people = DemoActivity(wiring=site.wiring, meters=site.meters, signer=site.signer,
                              site="demo", seed=7)
        wang = next(c for c in CARDS if c.credential_id == "c-1-1201-wang")
        people.rng.choice = lambda seq: wang if seq is CARDS else seq[0]  # type: ignore[method-assign]
        for step in (people.resident_at_lobby, people.resident_at_gate, people.stranger,
                     people.exit_button, people.intercom_call, people.invite, people.goods_pass,
                     people.patrol_tap, people.patrol_tap, people.patrol_tap, people.cabinet_card,
                     people.help_button):
            step()
        want = {("lobby", "door.granted"), ("gate", "door.granted"), ("lobby", "door.denied"),
                ("lobby", "door.exit_request"), ("lobby", "intercom.call"),
                ("lobby", "intercom.invite_admitted"), ("lobby", "intercom.emergency"),
                ("lobby", "patrol.tap"), ("gate", "patrol.tap"), ("plant", "patrol.tap"),
                ("desk", "cabinet.denied")}
        assert wait_until(lambda: want <= _kinds(db), timeout_s=30), want - _kinds(db)
        assert wait_until(lambda: {("gate", "goods_pass.released"), ("gate", "goods_pass.denied")}
                          & _kinds(db), timeout_s=30)
        assert ("lobby", "door.forced") not in _kinds(db)
