"""NodeStore: status and Will, last seen, clock offset and skew flag, health figures."""

from __future__ import annotations

from mqtt_topics import NodeStatus, Telemetry
from web.stores import EventStore, NodeStore

from wd_helpers import T0, envelope


def online(ts: int, boot: str = "b1") -> NodeStatus:
    return NodeStatus(state="online", boot_id=boot, ts=ts, version="1.2.3")


def offline(ts: int, boot: str = "b1") -> NodeStatus:
    return NodeStatus(state="offline", boot_id=boot, ts=ts, version="1.2.3")


def test_unknown_node_is_none(nodes: NodeStore) -> None:
    assert nodes.get("lobby") is None and nodes.list() == []


def test_fresh_online_status_sets_state_boot_version_and_last_seen(nodes: NodeStore) -> None:
    info = nodes.update_status("lobby", online(T0), received_at=T0 + 40, retained=False)
    assert (info.state, info.boot_id, info.version, info.last_seen_ms) == ("online", "b1", "1.2.3", T0 + 40)
    assert info.clock_offset_ms == -40 and not info.clock_flagged


def test_will_makes_the_node_offline_and_keeps_last_seen(nodes: NodeStore) -> None:
    nodes.update_status("lobby", online(T0), received_at=T0, retained=False)
    info = nodes.update_status("lobby", offline(T0), received_at=T0 + 3_600_000, retained=False)
    assert info.state == "offline" and info.last_seen_ms == T0
    assert info.state_changed_at == T0 + 3_600_000


def test_will_of_an_earlier_boot_does_not_take_the_node_offline(nodes: NodeStore) -> None:
    nodes.update_status("lobby", online(T0, boot="b2"), received_at=T0, retained=False)
    info = nodes.update_status("lobby", offline(T0 - 60_000, boot="b1"), received_at=T0 + 5, retained=False)
    assert (info.state, info.boot_id) == ("online", "b2")


def test_will_is_not_a_clock_sample(nodes: NodeStore) -> None:
    # the Will carries the ts of the connect, published by the broker an hour later
    info = nodes.update_status("lobby", offline(T0), received_at=T0 + 3_600_000, retained=False)
    assert info.clock_offset_ms is None and not info.clock_flagged


def test_retained_status_is_not_a_clock_sample(nodes: NodeStore) -> None:
    info = nodes.update_status("lobby", online(T0), received_at=T0 + 86_400_000, retained=True)
    assert info.state == "online"
    assert info.clock_offset_ms is None and not info.clock_flagged and info.last_seen_ms is None


def test_clock_beyond_the_bound_is_flagged(nodes: NodeStore) -> None:
    info = nodes.update_status("lobby", online(T0 + 31_000), received_at=T0, retained=False)
    assert info.clock_offset_ms == 31_000 and info.clock_flagged


def test_clock_behind_beyond_the_bound_is_flagged(nodes: NodeStore) -> None:
    info = nodes.update_status("lobby", online(T0 - 45_000), received_at=T0, retained=False)
    assert info.clock_offset_ms == -45_000 and info.clock_flagged


def test_clock_within_the_bound_is_not_flagged(nodes: NodeStore) -> None:
    assert not nodes.update_status("lobby", online(T0 + 30_000), received_at=T0, retained=False).clock_flagged


def test_flag_clears_only_within_half_the_bound(nodes: NodeStore) -> None:
    nodes.update_status("lobby", online(T0 + 40_000), received_at=T0, retained=False)
    assert nodes.update_status("lobby", online(T0 + 20_000), received_at=T0, retained=False).clock_flagged
    assert not nodes.update_status("lobby", online(T0 + 10_000), received_at=T0, retained=False).clock_flagged


def test_health_telemetry_fills_journal_figures_and_counters(nodes: NodeStore) -> None:
    tel = Telemetry(device="health", ts=T0, values={"journal_depth": 12, "oldest_unsent_age_s": 3.5,
                                                    "reconnects": 2, "cpu_temp_c": 51.2})
    info = nodes.update_health("lobby", tel, received_at=T0 + 10)
    assert (info.journal_depth, info.oldest_unsent_age_s) == (12, 3.5)
    assert info.counters == {"reconnects": 2, "cpu_temp_c": 51.2}
    assert info.last_seen_ms == T0 + 10 and info.health_at == T0 + 10 and info.clock_offset_ms == -10


def test_health_telemetry_is_a_clock_sample(nodes: NodeStore) -> None:
    tel = Telemetry(device="health", ts=T0 - 120_000, values={"journal_depth": 0})
    assert nodes.update_health("lobby", tel, received_at=T0).clock_flagged


def test_seen_only_moves_forward(nodes: NodeStore) -> None:
    nodes.seen("lobby", received_at=T0 + 100)
    nodes.seen("lobby", received_at=T0 + 50)
    info = nodes.get("lobby")
    assert info is not None and info.last_seen_ms == T0 + 100 and info.state == "unknown"


def test_open_gaps_are_counted_per_node(nodes: NodeStore, events: EventStore) -> None:
    for s in (1, 3, 6):
        events.add(envelope(s), received_at=T0)
    nodes.seen("lobby", received_at=T0)
    assert nodes.get("lobby").gaps_open == 2


def test_list_is_sorted_by_node(nodes: NodeStore) -> None:
    for n in ("lobby", "cabinet", "gate"):
        nodes.seen(n, received_at=T0)
    assert [i.node for i in nodes.list()] == ["cabinet", "gate", "lobby"]
