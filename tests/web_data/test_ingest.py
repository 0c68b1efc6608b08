"""Ingest through a real Mosquitto: events in once, alarms, node status and Will, clock skew,
bad input survived, commands round-tripped, nothing lost across restarts and SIGKILL."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

import web
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe, wait_until
from mqtt_topics import (CommandEnvelope, CommandResult, CommandVerifier, ConsoleStatus, NodeStatus,
                         Telemetry)
from mqtt_topics import topics as T
from web.ingest import utc_ms
from web.services import ConsoleServices

from wd_helpers import KEY, SITE, IngestProcess, NodeClient, envelope, wait_channel

REPO = Path(web.__file__).resolve().parent.parent
MakeServices = Callable[..., ConsoleServices]


def is_event(event_id: str) -> Callable[[dict], bool]:
    return lambda p: p["event_id"] == event_id


# -- events ----------------------------------------------------------------------------------

def test_event_from_a_node_is_stored(services: ConsoleServices, lobby: NodeClient) -> None:
    env = envelope(1, data={"reader": "r1", "card": "0042"})
    with services.live.subscribe() as sub:
        lobby.event(env)
        got = wait_channel(sub, "event", is_event(env.event_id))
    stored = services.events.get(env.event_id)
    assert stored is not None and stored.data == {"reader": "r1", "card": "0042"}
    assert got == stored.to_dict()
    assert services.nodes.get("lobby").last_seen_ms == stored.received_at


def test_redelivered_event_is_counted_not_stored_twice(services: ConsoleServices, lobby: NodeClient) -> None:
    marker = envelope(2)
    with services.live.subscribe() as sub:
        lobby.event(envelope(1))
        lobby.event(envelope(1))
        lobby.event(marker)
        wait_channel(sub, "event", is_event(marker.event_id))
    assert services.events.count() == 2
    assert services.ingest.counters["duplicates"] == 1


def test_alarm_event_raises_an_alarm(services: ConsoleServices, lobby: NodeClient) -> None:
    env = envelope(1, kind="command.refused", data={"cmd_id": "abc", "action": "relay.pulse", "reason": "replayed"})
    with services.live.subscribe() as sub:
        lobby.event(env)
        alarm = wait_channel(sub, "alarm", lambda p: p["event_id"] == env.event_id)
    assert alarm["kind"] == "command.refused" and alarm["acknowledged_at"] is None
    assert [a.event_id for a in services.alarms.open()] == [env.event_id]


def test_seq_gap_raises_a_console_alarm(services: ConsoleServices, lobby: NodeClient) -> None:
    with services.live.subscribe() as sub:
        lobby.event(envelope(1))
        lobby.event(envelope(5))
        alarm = wait_channel(sub, "alarm", lambda p: p["kind"] == "console.seq_gap")
    assert alarm["node"] == "lobby" and (alarm["data"]["from_seq"], alarm["data"]["to_seq"]) == (2, 4)
    assert [(g.from_seq, g.to_seq) for g in services.events.gaps(node="lobby")] == [(2, 4)]


def test_late_events_fill_the_gap(services: ConsoleServices, lobby: NodeClient) -> None:
    with services.live.subscribe() as sub:
        for s in (1, 4, 2, 3):
            lobby.event(envelope(s))
        wait_channel(sub, "event", is_event(envelope(3).event_id))
    assert services.events.gaps() == [] and len(services.events.gaps(open_only=False)) == 1
    assert services.nodes.get("lobby").gaps_open == 0


# -- bad input ---------------------------------------------------------------------------------

VALID = envelope(1)
EVENT_TOPIC = T.event(SITE, "lobby", "card.read")
BAD_INPUT = {
    "not_json": (EVENT_TOPIC, b"\xff\xfe definitely not json"),
    "not_json_text": (EVENT_TOPIC, b"{\"event_id\": "),
    "bad_schema": (EVENT_TOPIC, b'{"event_id": "lobby:b:1", "node": "lobby"}'),
    "bad_schema_array": (EVENT_TOPIC, b"[1, 2, 3]"),
    "oversized": (EVENT_TOPIC, b'{"pad": "' + b"x" * (256 * 1024) + b'"}'),
    "topic_mismatch": (T.event(SITE, "lobby", "input.changed"), VALID.to_json()),
    "wrong_topic": (EVENT_TOPIC + "/extra", VALID.to_json()),
    "bad_status": (T.status(SITE, "lobby"), b'{"state": "sleepy"}'),
    "bad_telemetry": (T.telemetry(SITE, "lobby", "health"), b"null"),
    "bad_cmd_result": (T.command_result(SITE, "lobby"), b'{"cmd_id": 5}'),
}
REASON = {"not_json": "bad_not_json", "not_json_text": "bad_not_json", "bad_schema": "bad_bad_schema",
          "bad_schema_array": "bad_bad_schema", "oversized": "bad_oversized",
          "topic_mismatch": "bad_topic_mismatch", "wrong_topic": "bad_wrong_topic",
          "bad_status": "bad_bad_schema", "bad_telemetry": "bad_bad_schema",
          "bad_cmd_result": "bad_bad_schema"}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_counted_and_the_next_event_still_stored(services: ConsoleServices,
                                                              lobby: NodeClient, case: str) -> None:
    topic, payload = BAD_INPUT[case]
    with services.live.subscribe() as sub:
        lobby.publish(topic, payload)
        lobby.event(VALID)
        wait_channel(sub, "event", is_event(VALID.event_id))
    assert services.ingest.counters[REASON[case]] == 1
    assert services.events.count() == 1


def test_bad_input_of_every_kind_in_a_row_loses_no_event(services: ConsoleServices,
                                                         lobby: NodeClient) -> None:
    last = envelope(2)
    with services.live.subscribe() as sub:
        lobby.event(envelope(1))
        for topic, payload in BAD_INPUT.values():
            lobby.publish(topic, payload)
        lobby.event(last)
        wait_channel(sub, "event", is_event(last.event_id))
    assert services.events.count() == 2
    assert sum(v for k, v in services.ingest.counters.items() if k.startswith("bad_")) == len(BAD_INPUT)


def test_console_publishing_on_a_foreign_topic_is_counted(services: ConsoleServices, broker: MosquittoBroker) -> None:
    c = broker.credentials("console")
    with MqttProbe(host=c["host"], port=c["port"], username="console", password=c["password"],
                   topic_filter="x/none", client_id="console-tool") as tool:
        tool.publish(f"lobbygate/v1/{SITE}/lobby/whatever/else/here", b"{}")
        tool.publish(f"lobbygate/v2/{SITE}/lobby/status", b"{}")  # outside the subscription
        tool.publish(T.event(SITE, "lobby", "card.read"), VALID.to_json())
    assert wait_until(lambda: services.events.count() == 1, timeout_s=10)
    assert services.ingest.counters["bad_wrong_topic"] == 1


# -- node status, Will, clock, health -------------------------------------------------------------

def test_node_goes_offline_through_its_will(services: ConsoleServices, broker: MosquittoBroker) -> None:
    will = NodeStatus(state="offline", boot_id="b7", ts=utc_ms(), version="1.0")
    node = NodeClient(broker.credentials("gate"), node="gate", will=will)
    try:
        with services.live.subscribe() as sub:
            node.status(NodeStatus(state="online", boot_id="b7", ts=utc_ms(), version="1.0"))
            wait_channel(sub, "node", lambda p: p["node"] == "gate" and p["state"] == "online")
            node.drop()  # no DISCONNECT: the broker publishes the Will
            info = wait_channel(sub, "node", lambda p: p["node"] == "gate" and p["state"] == "offline")
    finally:
        node.close()
    assert info["boot_id"] == "b7" and info["version"] == "1.0"
    assert [(a.kind, a.node) for a in services.alarms.open()] == [("console.node_offline", "gate")]
    assert services.nodes.get("gate").state == "offline"


def test_retained_status_is_read_at_console_start(make_services: MakeServices, lobby: NodeClient) -> None:
    lobby.status(NodeStatus(state="online", boot_id="b2", ts=utc_ms(), version="2.0"))
    services = make_services()
    assert wait_until(lambda: services.nodes.get("lobby") is not None, timeout_s=10)
    info = services.nodes.get("lobby")
    assert (info.state, info.boot_id, info.version) == ("online", "b2", "2.0")
    assert info.clock_offset_ms is None  # a retained copy is no clock sample


def test_skewed_node_clock_is_flagged_and_alarmed_once(make_services: MakeServices, lobby: NodeClient) -> None:
    services = make_services(clock=lambda: utc_ms() + 120_000)  # console 2 min ahead of the node
    with services.live.subscribe() as sub:
        for _ in range(2):
            lobby.status(NodeStatus(state="online", boot_id="b1", ts=utc_ms(), version="1"))
            info = wait_channel(sub, "node", lambda p: p["node"] == "lobby")
    assert info["clock_flagged"] and info["clock_offset_ms"] < -100_000
    assert [a.kind for a in services.alarms.open()] == ["console.clock_skew"]


def test_node_clock_within_bound_is_not_flagged(services: ConsoleServices, lobby: NodeClient) -> None:
    with services.live.subscribe() as sub:
        lobby.status(NodeStatus(state="online", boot_id="b1", ts=utc_ms(), version="1"))
        info = wait_channel(sub, "node", lambda p: p["node"] == "lobby")
    assert not info["clock_flagged"] and abs(info["clock_offset_ms"]) < 5_000
    assert services.alarms.open() == []


def test_health_telemetry_updates_the_node(services: ConsoleServices, lobby: NodeClient) -> None:
    tel = Telemetry(device="health", ts=utc_ms(), values={"journal_depth": 7, "oldest_unsent_age_s": 1.5,
                                                          "publish_failures": 3})
    with services.live.subscribe() as sub:
        lobby.publish(T.telemetry(SITE, "lobby", "health"), tel.to_json())
        info = wait_channel(sub, "node", lambda p: p["node"] == "lobby")
    assert (info["journal_depth"], info["oldest_unsent_age_s"], info["counters"]) == (
        7, 1.5, {"publish_failures": 3})


# -- console status ----------------------------------------------------------------------------

def console_status(broker: MosquittoBroker) -> ConsoleStatus:
    """The retained console status, as a newly connecting node would see it."""
    c = broker.credentials("observer")
    with MqttProbe(host=c["host"], port=c["port"], username="observer", password=c["password"],
                   topic_filter=T.console_status(SITE)) as p:
        [msg] = p.wait_count(1, timeout_s=10)
        assert msg.retain
        return ConsoleStatus.from_json(msg.payload)


def test_console_status_is_retained_online_while_running(services: ConsoleServices,
                                                         broker: MosquittoBroker) -> None:
    assert console_status(broker).state == "online"


def test_console_status_is_retained_offline_after_stop(services: ConsoleServices,
                                                       broker: MosquittoBroker) -> None:
    services.stop()
    assert console_status(broker).state == "offline"


# -- commands ----------------------------------------------------------------------------------

def fake_node(broker: MosquittoBroker, stop: threading.Event, *, refuse: bool = False) -> threading.Thread:
    """A node "lobby" that verifies each command with CommandVerifier and answers it."""
    c = broker.credentials("lobby")
    probe = MqttProbe(host=c["host"], port=c["port"], username="lobby", password=c["password"],
                      topic_filter=T.node_commands_filter(SITE, "lobby"), client_id="fake-lobby").start()
    verifier = CommandVerifier(key=KEY, node="lobby", clock=utc_ms)

    def run() -> None:
        answered = 0
        try:
            while not stop.is_set():
                if not probe.wait_for(lambda ms: len(ms) > answered, timeout_s=0.2):
                    continue
                msg = probe.messages[answered]
                answered += 1
                cmd = CommandEnvelope.from_json(msg.payload)
                verifier.verify(cmd, action=T.parse(msg.topic).name)
                result = (CommandResult(cmd_id=cmd.cmd_id, ok=False, error="failed: relay stuck")
                          if refuse else CommandResult(cmd_id=cmd.cmd_id, ok=True, ts=utc_ms()))
                probe.publish(T.command_result(SITE, "lobby"), result.to_json())
        finally:
            probe.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("refuse", [False, True])
def test_command_round_trip_settles_the_record(services: ConsoleServices, broker: MosquittoBroker,
                                               refuse: bool) -> None:
    stop = threading.Event()
    node = fake_node(broker, stop, refuse=refuse)
    try:
        env = services.commands.send("lobby", "relay.pulse", {"relay": "door", "seconds": 2}, issued_by="desk1")
        rec = services.commands.wait(env.cmd_id, timeout_s=10)
    finally:
        stop.set()
        node.join(5)
    assert (rec.state, rec.error) == (("failed", "failed: relay stuck") if refuse else ("ok", None))
    assert services.ingest.counters["cmd_results"] == 1


# -- restarts and crashes ----------------------------------------------------------------------

def test_events_published_while_the_console_is_down_arrive_on_restart(
        make_services: MakeServices, lobby: NodeClient) -> None:
    first = make_services()
    first.stop()
    lobby.publish_events(envelope(s) for s in range(1, 51))  # the broker queues them
    second = make_services(start=False)
    with second.live.subscribe(maxsize=100) as sub:
        second.start()
        wait_channel(sub, "event", is_event(envelope(50).event_id))
    assert second.events.count() == 50 and second.events.gaps() == []


def stored_seqs(db_path: Path) -> list[int]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as c:
        return [r[0] for r in c.execute("SELECT seq FROM events ORDER BY seq")]


def stored_count(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as c:
            return c.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0


@pytest.fixture
def ingest_process(tmp_path: Path, broker: MosquittoBroker) -> Iterator[Callable[[], IngestProcess]]:
    procs: list[IngestProcess] = []

    def make() -> IngestProcess:
        p = IngestProcess(repo=REPO, db_path=tmp_path / "console.db", broker=broker)
        procs.append(p)
        return p

    yield make
    for p in procs:
        p.kill()


def test_console_killed_mid_burst_stores_every_event_exactly_once(
        tmp_path: Path, broker: MosquittoBroker, lobby: NodeClient,
        ingest_process: Callable[[], IngestProcess]) -> None:
    n = 4000
    db_path = tmp_path / "console.db"
    proc = ingest_process().start()
    burst = threading.Thread(target=lobby.publish_events, args=([envelope(s) for s in range(1, n + 1)],))
    burst.start()
    assert wait_until(lambda: stored_count(db_path) >= 300, timeout_s=30)
    proc.kill()  # SIGKILL by PID, mid-burst
    at_kill = stored_count(db_path)
    burst.join(60)
    restarted = ingest_process().start()
    assert wait_until(lambda: stored_count(db_path) >= n, timeout_s=60, interval_s=0.05)
    counters = restarted.terminate()
    assert stored_seqs(db_path) == list(range(1, n + 1))  # all there, none twice
    assert counters["events_stored"] == n - at_kill
    with sqlite3.connect(db_path) as c:
        assert c.execute("SELECT count(*) FROM seq_gaps WHERE closed_at IS NULL").fetchone()[0] == 0


def test_console_killed_leaves_its_offline_will(broker: MosquittoBroker,
                                               ingest_process: Callable[[], IngestProcess]) -> None:
    proc = ingest_process().start()
    assert console_status(broker).state == "online"
    proc.kill()
    assert wait_until(lambda: console_status(broker).state == "offline", timeout_s=10)


def test_ingest_reconnects_after_a_broker_restart(services: ConsoleServices, broker: MosquittoBroker) -> None:
    broker.kill()
    assert wait_until(lambda: not services.ingest.connected, timeout_s=10)
    broker.start()
    assert services.ingest.wait_connected(30)
    node = NodeClient(broker.credentials("lobby"), node="lobby")
    try:
        with services.live.subscribe() as sub:
            node.event(envelope(1))
            wait_channel(sub, "event", is_event(envelope(1).event_id))
    finally:
        node.close()
    assert services.ingest.counters["connects"] == 2
