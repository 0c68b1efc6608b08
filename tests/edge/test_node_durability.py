"""THE durability test: a node process is SIGKILLed 20 times in the middle of bursts of card
reads and restarted each time; afterwards the broker has delivered every seq 1..N (N: what the
journal handed out) exactly once after de-duplication by event_id, and in seq order."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from edge.journal import EventJournal
from edge_helpers import (SITE, EventLog, NodeProcess, config_dict, probe_for, statuses,
                          write_config)
from firmware.mosquitto import MosquittoBroker
from mqtt_topics import topics as T

KILLS = 20
BURST = 400  # distinct card reads per boot


def online_boots(messages: list) -> list[str]:
    return [s["boot_id"] for s, _ in statuses(messages) if s["state"] == "online"]


def test_sigkill_during_bursts_loses_nothing_and_keeps_seq_order(
        broker: MosquittoBroker, tmp_path: Path, node_processes: list[NodeProcess]) -> None:
    config = config_dict(broker, tmp_path, readers=[{"name": "lobby-in", "port": "simulated"}],
                         simulation={"enabled": True, "activity": "burst", "count": BURST, "seed": 11})
    path = write_config(tmp_path / "node.toml", config)
    rng = random.Random(2024)
    log = EventLog()
    with probe_for(broker, "observer", T.node_filter(SITE, "lobby")) as watcher:
        for boot in range(KILLS + 1):
            proc = NodeProcess(path, tmp_path / "node.log").start()
            node_processes.append(proc)
            assert watcher.wait_for(lambda ms: len(online_boots(ms)) == boot + 1, timeout_s=20), \
                (boot, statuses(watcher.messages), proc.log())
            boot_id = online_boots(watcher.messages)[-1]
            if boot == KILLS:
                break
            start = len(watcher.messages)  # at least up to this boot's online status
            k = rng.randint(1, 80)
            assert watcher.wait_for(lambda ms: log(ms).since(start) >= k, timeout_s=20), proc.log()
            proc.kill()
        # the last boot runs its whole burst, drains and stops cleanly
        assert watcher.wait_for(lambda ms: sum(e.boot_id == boot_id and e.kind == "card.read"
                                               for e in log(ms).events) == BURST, timeout_s=30), \
            proc.log()
        assert proc.terminate() == 0, proc.log()

        journal = EventJournal(config["node"]["journal"], node="lobby").open()
        stats = journal.stats()
        journal.close()
        n = stats.next_seq - 1
        assert stats.unsent == 0
        assert watcher.wait_for(lambda ms: len(log(ms).seqs) >= n, timeout_s=20)
        received = log(watcher.messages).events

    ids_by_seq: dict[int, set[str]] = defaultdict(set)
    for e in received:
        ids_by_seq[e.seq].add(e.event_id)
    assert sorted(ids_by_seq) == list(range(1, n + 1)), "gaps or extra seqs"
    assert all(len(ids) == 1 for ids in ids_by_seq.values()), "one seq, two different events"

    firsts: list[tuple[int, str]] = []
    seen: set[int] = set()
    for e in received:
        if e.seq not in seen:
            seen.add(e.seq)
            firsts.append((e.seq, e.boot_id))
    per_boot: dict[str, list[int]] = defaultdict(list)
    for seq, boot_id in firsts:
        per_boot[boot_id].append(seq)
    assert len(per_boot) == KILLS + 1
    assert all(seqs == sorted(seqs) for seqs in per_boot.values()), "a boot's events out of order"
    assert [s for s, _ in firsts] == list(range(1, n + 1)), "first deliveries out of seq order"
    assert sum(e.kind == "node.started" for e in {e.event_id: e for e in received}.values()) == KILLS + 1

    duplicates = len(received) - n
    print(f"\ndurability: {KILLS} SIGKILLs, {n} events, {duplicates} duplicate deliveries "
          f"({duplicates / n:.2%})")
    assert duplicates <= KILLS * 200  # at most a window in flight + a batch of unmarked acks per kill
