"""The outbox: the journal is the only source of events; nothing is published while offline,
nothing is lost, everything leaves in seq order, and a restarted node replays what is unsent."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from edge.journal import EventJournal
from edge.node import Node
from edge_helpers import EventLog, SessionProbe, events, node_config
from firmware.mosquitto import MosquittoBroker, free_port
from firmware.probe import MqttProbe, wait_until


def test_events_appended_while_the_broker_is_down_arrive_after_in_seq_order(
        broker: MosquittoBroker, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    with SessionProbe(broker) as watcher:  # its session (and queue) survives the restart
        node = start_node(node_config(broker, tmp_path))
        assert node.bridge.wait_ready(10)
        node.emit("input.changed", {"input": "door", "active": True, "n": 0})
        assert watcher.wait_for(lambda ms: any(e.data.get("n") == 0 for e in events(ms)))
        broker.stop()
        assert wait_until(lambda: not node.bridge.connected)
        down = [node.emit("input.changed", {"input": "door", "active": n % 2 == 0, "n": n}).seq
                for n in range(1, 301)]
        assert node.pump.counters["published"] == 2  # node.started and n=0: nothing while down
        broker.start()
        assert watcher.wait_for(lambda ms: {e.seq for e in events(ms)} >= set(down), timeout_s=15)
        seqs = [e.seq for e in events(watcher.messages)]
        firsts = [s for i, s in enumerate(seqs) if s not in seqs[:i]]
        assert firsts == sorted(firsts) == list(range(1, down[-1] + 1))
        assert node.pump.wait_idle(10)
        assert node.journal.stats().unsent == 0


def test_restarted_node_publishes_what_it_could_not_send_oldest_first(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path,
        start_node: Callable[..., Node]) -> None:
    unreachable = node_config(broker, tmp_path, mqtt={"port": free_port()})
    offline = start_node(unreachable)
    for n in range(50):
        offline.emit("input.changed", {"input": "door", "active": True, "n": n})
    offline.stop()
    journal = EventJournal(unreachable.journal, node="lobby").open()
    assert journal.stats().unsent == 51  # node.started + 50
    journal.close()

    online = start_node(node_config(broker, tmp_path))
    assert probe.wait_for(lambda ms: len(events(ms)) >= 52)  # + this boot's node.started
    got = events(probe.messages)
    assert [e.seq for e in got] == list(range(1, 53))
    assert {e.boot_id for e in got[:51]} == {offline.boot_id}
    assert got[51].boot_id == online.boot_id


def test_unacknowledged_events_are_never_more_than_the_window(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path,
        start_node: Callable[..., Node]) -> None:
    config = node_config(broker, tmp_path, mqtt={"port": free_port(), "outbox_window": 5})
    offline = start_node(config)
    for n in range(200):
        offline.emit("input.changed", {"input": "door", "active": True, "n": n})
    offline.stop()
    node = start_node(node_config(broker, tmp_path, mqtt={"outbox_window": 5}))
    assert probe.wait_for(lambda ms: len(events(ms)) >= 202, timeout_s=15)
    assert node.pump.peak_in_flight == 5
    assert node.pump.wait_idle(10) and node.journal.stats().unsent == 0


def test_broker_restart_mid_stream_loses_nothing_and_first_deliveries_stay_in_order(
        broker: MosquittoBroker, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    total = 3000
    with SessionProbe(broker) as watcher:
        node = start_node(node_config(broker, tmp_path))
        assert node.bridge.wait_ready(10)
        appended = threading.Event()

        def produce() -> None:
            for n in range(total):
                node.emit("input.changed", {"input": "door", "active": n % 2 == 0, "n": n})
            appended.set()

        log = EventLog()
        producer = threading.Thread(target=produce)
        producer.start()
        assert watcher.wait_for(lambda ms: len(log(ms).events) >= 200)
        broker.stop()  # the node has events in flight and more coming
        published_at_stop = node.pump.counters["published"]
        broker.start()
        producer.join(30)
        assert appended.is_set() and published_at_stop < total + 1
        assert watcher.wait_for(lambda ms: len(log(ms).seqs) >= total + 1, timeout_s=20)
        seqs = [e.seq for e in log.events]
    firsts, seen = [], set()
    for s in seqs:
        if s not in seen:
            seen.add(s)
            firsts.append(s)
    assert firsts == list(range(1, total + 2))
    assert node.bridge.counters["disconnects"] == 1
