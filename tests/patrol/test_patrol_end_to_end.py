"""End to end through the real broker: a card presented to a node's simulated check-point reader
(RDM6300 frames) becomes a ``patrol.tap``, the console's ingest stores it and its patrol handler
applies it, and the console shows the round running with that check-point visited."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from edge.node import Node
from edge_helpers import KEYS, SITE, node_config
from firmware.mosquitto import MosquittoBroker
from firmware.probe import wait_until
from web.ingest import BrokerSettings
from web.patrol import Checkpoint, PatrolUser, Route, RoutePoint
from web.services import ConsoleServices, ServicesConfig, build_services

CARD = "0A00B1C2D3"
PATROL = {"readers": [{"name": "cp-east", "port": "sim"}],
          "patrol": {"readers": ["cp-east=b1-f3-east"], "collapse_s": 60.0},
          "simulation": {"enabled": True, "activity": "idle"}}


@pytest.fixture
def console_services(tmp_path: Path, broker: MosquittoBroker) -> Iterator[ConsoleServices]:
    c = broker.credentials("console")
    cfg = ServicesConfig(db_path=tmp_path / "console.db", site=SITE, node_keys=KEYS,
                         broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]),
                                               username="console", password=str(c["password"]),
                                               client_id="lobbygate-console"),
                         clock_settle_ms=0, timezone="Asia/Shanghai")
    s = build_services(cfg)
    s.start()
    try:
        assert s.ingest is not None and s.ingest.wait_connected(10)
        p = s.patrol
        for cp, reader in (("b1-f3-east", "cp-east"), ("b1-f3-west", "cp-west")):
            p.save_item(Checkpoint(id=cp, name=cp, node="lobby", reader=reader))
        p.save_item(Route(id="east-west", name="1栋", adhoc=True, points=(
            RoutePoint(checkpoint="b1-f3-east", expected_min=0),
            RoutePoint(checkpoint="b1-f3-west", expected_min=5, min_walk_s=30))))
        p.save_item(PatrolUser(user="wang", cards=(CARD,)))
        yield s
    finally:
        s.stop()


def test_a_tap_on_a_simulated_reader_shows_as_a_running_round_on_the_console(
        broker: MosquittoBroker, tmp_path: Path, start_node: Callable[..., Node],
        console_services: ConsoleServices) -> None:
    node = start_node(node_config(broker, tmp_path, **PATROL))
    assert node.simulation.wait_port_open()
    node.simulation.present(CARD, reader="cp-east")
    assert wait_until(lambda: console_services.patrol.engine.open_rounds(), timeout_s=10)
    (view,) = console_services.patrol.engine.open_rounds()
    assert view.route == "east-west" and view.state == "running"
    assert view.points[0].state == "ok" and view.points[0].user == "wang"
    assert view.next_point.checkpoint == "b1-f3-west"
    assert console_services.patrol.taps.count() == 1
    stored = console_services.events.search(kind="patrol.tap").items
    assert [e.data["card"] for e in stored] == [CARD]
