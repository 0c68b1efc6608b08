"""End to end: a node with a ``[cabinet]`` section against a REAL Mosquitto. The console syncs
``key-permissions``; an RDM6300 frame on the cabinet reader's serial line (a pty) releases the
holder's slot; lifting the key out produces ``key.taken`` on the broker."""

from __future__ import annotations

import json
import time

from gpiozero.pins.mock import MockFactory

from cabinet_helpers import ALICE, CAROL, permissions_data, write_permissions_cache
from edge.config import parse_config
from edge.journal import utc_ms
from edge_helpers import SITE, SessionProbe, events
from firmware.probe import wait_until
from hardware.sim.pty import PtyPair
from hardware.sim.rdm6300 import Rdm6300Simulator
from mqtt_topics import SyncSnapshot
from mqtt_topics import topics as T

SLOT1_LOCK, SLOT1_PRESENT = 12, 13


def cabinet_config(broker, tmp_path, reader_port: str):
    creds = broker.credentials("cabinet")
    return parse_config({
        "node": {"id": "cabinet", "site": SITE, "journal": str(tmp_path / "cabinet-journal.db"),
                 "health_interval_s": 3600},
        "mqtt": {"host": creds["host"], "port": creds["port"], "password": creds["password"],
                 "reconnect_min_s": 0.05, "reconnect_max_s": 0.25},
        "commands": {"key": bytes(range(201, 233)).hex()},
        "gpio": {"pin_factory": "mock"},
        "cabinet": {"id": "main", "door_lock": 5, "door_contact": 6, "poll_s": 0.01,
                    "present_invert": True,            # a pulled-up input reads "key in" at rest
                    "readers": [{"name": "cabinet-reader", "port": reader_port}],
                    "slots": [{"slot": 1, "lock": SLOT1_LOCK, "present": SLOT1_PRESENT},
                              {"slot": 2, "lock": 16, "present": 19},
                              {"slot": 3, "lock": 20, "present": 21}]},
    }, base_dir=tmp_path)


def test_permitted_card_releases_its_slot_and_taking_the_key_is_published(
        broker, probe, console, start_node, tmp_path):
    snapshot = SyncSnapshot(dataset="key-permissions", version=1, ts=int(time.time() * 1000),
                            data=permissions_data())
    assert console.publish(T.sync(SITE, "key-permissions"), snapshot.to_json(), retain=True)
    factory = MockFactory()
    with PtyPair() as wire:
        node = start_node(cabinet_config(broker, tmp_path, wire.device_path), pin_factory=factory)
        cabinet = node.extensions["cabinet"]
        assert wait_until(lambda: cabinet.counters().get("snapshots_applied") == 1)

        Rdm6300Simulator(wire.write).present(ALICE)
        assert probe.wait_for(lambda ms: events(ms, "cabinet.granted"))
        granted = events(probe.messages, "cabinet.granted")[0].data
        assert granted["holder"] == "alice" and granted["slots"] == [1, 2]
        assert factory.pin(SLOT1_LOCK).state and not factory.pin(20).state

        factory.pin(SLOT1_PRESENT).drive_low()            # the key is lifted out of slot 1
        assert probe.wait_for(lambda ms: events(ms, "key.taken"))
        taken = events(probe.messages, "key.taken")[0]
        assert taken.node == "cabinet"
        assert {k: taken.data[k] for k in ("key", "slot", "holder", "card")} == \
            {"key": "k1", "slot": 1, "holder": "alice", "card": ALICE}
    assert json.loads((tmp_path / "cabinet-state.json").read_text())["loans"][0]["key"] == "k1"
    factory.close()


def test_key_taken_offline_from_the_cached_permissions_arrives_after_the_broker_returns(
        broker, start_node, tmp_path):
    write_permissions_cache(tmp_path / "key-permissions.json")      # synced on an earlier boot
    factory = MockFactory()
    with SessionProbe(broker, client_id="cabinet-offline-watch") as watcher, PtyPair() as wire:
        node = start_node(cabinet_config(broker, tmp_path, wire.device_path), pin_factory=factory)
        assert node.bridge.wait_ready(10)
        broker.stop()
        assert wait_until(lambda: not node.bridge.connected)
        Rdm6300Simulator(wire.write).present(CAROL)                  # CAROL may take k2 (slot 2)
        assert wait_until(lambda: factory.pin(16).state)
        factory.pin(19).drive_low()
        assert wait_until(lambda: node.extensions["cabinet"].machine.loans.get("k2") is not None)
        back_at = utc_ms()
        broker.start()
        assert watcher.wait_for(lambda ms: events(ms, "key.taken"), timeout_s=20)
        taken = events(watcher.messages, "key.taken")[0]
        assert taken.data["holder"] == "carol" and taken.ts <= back_at
    factory.close()
