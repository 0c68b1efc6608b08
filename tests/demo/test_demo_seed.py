"""The demo console's seed data, put in through the production stores: what each console feature
finds on first open (keys, meters with demo history, the patrol plan, goods passes, an invite,
the watchlist), and that seeding a second time adds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lobbygate.demo_nodes import CABINET, CHECKPOINTS, METERS, PATROL_ROUTE
from lobbygate.demo_people import (CABINET_HOLDERS, CARDS, GUARD_CARD, KEYS, PATROL_USER,
                                   WATCHLIST)
from lobbygate.demo_seed import HOUR_MS, meter_register, seed_console
from mqtt_topics.invites import InviteToken
from mqtt_topics.passes import GoodsPassToken
from web.meters.statements import build_statement
from web.services import ServicesConfig, build_services
from web.signing import SiteSigner

NOW = 1_795_000_000_000          # 2026-11-17 local morning, a fixed clock


@pytest.fixture
def signer() -> SiteSigner:
    return SiteSigner.generate()


@pytest.fixture
def services(tmp_path: Path, signer: SiteSigner):
    s = build_services(ServicesConfig(db_path=tmp_path / "console.sqlite", site="demo",
                                      timezone="Asia/Shanghai"),
                       clock=lambda: NOW, signer=signer).open()
    yield s
    s.stop()


def test_cabinet_cards_may_take_the_seeded_keys_in_the_desk_cabinets_slots(services) -> None:
    seeded = seed_console(services)
    snap = services.keys.register.snapshot()
    assert seeded.keys_version == snap.version > 0
    assert {(k["key"], k["cabinet"], k["slot"]) for k in snap.data["keys"]} == \
        {(k.number, CABINET.id, k.slot) for k in KEYS}
    cards = {c["card"]: set(c["keys"]) for c in snap.data["cards"]}
    assert cards == {h.card: {k.number for k in KEYS if h.credential_id in k.takers}
                     for h in CABINET_HOLDERS}


def test_seeded_keys_include_a_two_person_key_and_an_entrusted_one_still_authorised(services) -> None:
    seed_console(services)
    keys = list(services.keys.register)
    assert [k.number for k in keys if k.two_person] == ["K-103"]
    entrusted = [k for k in keys if k.entrusted]
    assert len(entrusted) == 1 and entrusted[0].authorised_by and entrusted[0].active(NOW)


def test_meters_are_registered_to_the_plant_nodes_simulated_meters(services) -> None:
    seed_console(services)
    for name, slave, map_name, unit, _total in METERS:
        meter = services.meters.registry.require(name)
        assert (meter.unit, meter.node, meter.slave, meter.map, meter.billed_register) == \
            (unit, "plant", slave, map_name, meter_register(map_name))


def test_demo_history_ends_below_the_simulators_start_and_fills_the_last_statement(services) -> None:
    seeded = seed_console(services)
    for name, _slave, map_name, _unit, total in METERS:
        latest = services.meters.readings.latest(name, meter_register(map_name))
        assert latest is not None and latest.value < total and latest.ts < NOW
        assert NOW - latest.ts <= 2 * HOUR_MS and latest.reason == "hour"
        assert seeded.meter_totals[name] == total
    statement = build_statement(services.meters.period(now=NOW), registry=services.meters.registry,
                                readings=services.meters.readings, vacant_units=set(), now=NOW)
    assert len(statement.rows) == len(METERS)
    assert all(row.usage.amount and row.usage.amount > 0 and row.marks == []
               for row in statement.rows)


def test_patrol_plan_maps_each_checkpoint_to_its_node_reader_and_walks_the_route(services) -> None:
    seed_console(services)
    plan = services.patrol.plan
    for node, (reader, checkpoint) in CHECKPOINTS.items():
        assert plan.checkpoint_for(checkpoint=None, node=node, reader=reader) == checkpoint
    (route,) = plan.routes.values()
    assert tuple(p.checkpoint for p in route.points) == PATROL_ROUTE and route.adhoc
    (schedule,) = plan.schedules.values()
    assert schedule.route == route.id and schedule.active_from_ms == NOW
    assert plan.user_for_card(GUARD_CARD) == PATROL_USER[0]


def test_seeded_goods_passes_are_issued_and_signed_with_the_site_key(services, signer) -> None:
    seed_console(services)
    passes = services.passes.search()
    assert len(passes) >= 3 and {p.kind for p in passes} == {"goods", "tools"}
    key = Ed25519PublicKey.from_public_bytes(signer.public_key_raw())
    for gp in passes:
        assert gp.valid_at(NOW)
        token, signature = GoodsPassToken.from_qr_text(gp.qr_text)
        key.verify(signature, token.signing_bytes())      # raises if not the site's signature
        assert token.pass_id == gp.pass_id and token.site == "demo"


def test_a_signed_visitor_invite_and_the_watchlist_are_seeded(services, signer) -> None:
    seed_console(services)
    (invite,) = services.visitors.invites.recent()
    assert invite.state(NOW) == "valid"
    token, signature = InviteToken.from_qr_text(invite.qr_text)
    Ed25519PublicKey.from_public_bytes(signer.public_key_raw()).verify(
        signature, token.signing_bytes())
    assert {(e.kind, e.shown) for e in services.visitors.watchlist.all()} == \
        {(k, v) for k, v, _note in WATCHLIST}


def test_seeding_again_adds_nothing(services) -> None:
    first = seed_console(services)
    again = seed_console(services)
    assert not any(again.added.values()), again.added
    assert (again.credentials_version, again.keys_version) == \
        (first.credentials_version, first.keys_version)
    assert services.credentials.count() == len(CARDS) + len(CABINET_HOLDERS)
    assert services.passes.count() == first.added["goods passes"]
    assert services.meters.readings.count() == first.added["meter readings"]
