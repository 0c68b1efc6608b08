"""Pure parts of the bridge: reconnect back-off with jitter, cmd_id recovery."""

from __future__ import annotations

import random

from edge.bridge import backoff_delay, recover_cmd_id


def test_reconnect_delay_stays_within_min_and_max() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, min_s=0.5, max_s=30, rng=rng) for n in range(1, 200)]
    assert all(0.5 <= d <= 30 for d in delays)


def test_reconnect_delay_ceiling_doubles_per_failure() -> None:
    class Top(random.Random):
        def random(self) -> float:
            return 1.0
    ceilings = [backoff_delay(n, min_s=0.5, max_s=30, rng=Top()) for n in range(1, 9)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_reconnect_delay_is_jittered() -> None:
    rng = random.Random(7)
    assert len({round(backoff_delay(6, min_s=0.5, max_s=30, rng=rng), 6) for _ in range(20)}) == 20


def test_cmd_id_is_recovered_from_a_broken_payload() -> None:
    assert recover_cmd_id(b'{"action": "x", "cmd_id": "abc123def456", oops') == "abc123def456"
    assert recover_cmd_id(b"", {"cmd_id": "abc123def456"}) == "abc123def456"
    assert recover_cmd_id(b'{"cmd_id": "short"}') is None
    assert recover_cmd_id(b"", {"cmd_id": "has spaces in it"}) is None
