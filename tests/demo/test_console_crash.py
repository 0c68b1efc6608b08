"""The real console process killed with SIGKILL during a burst loses and duplicates nothing."""

from __future__ import annotations

import sqlite3

from firmware.probe import wait_until
from lobbygate.demo import DemoSite
from lobbygate.demo_nodes import CHECKPOINTS


def _stored(db) -> tuple[int, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events").fetchone()


def test_console_sigkilled_mid_burst_stores_every_event_once(tmp_path):
    site = DemoSite(tmp_path / "demo", activity="idle")
    db = tmp_path / "demo" / "console" / "console.sqlite"
    with site:
        assert site.wait_ready()
        reader = CHECKPOINTS["lobby"][0]
        wires = site.wiring["lobby"]
        cards = [f"5A{n:08X}" for n in range(600)]  # distinct cards: each one patrol.tap
        for card in cards[:300]:
            wires.card_em(reader, card)
        assert wait_until(lambda: db.exists() and _stored(db)[0] >= 50, timeout_s=30)
        site.kill_console()
        for card in cards[300:]:  # the burst goes on while the console is dead
            wires.card_em(reader, card)
        site.start_console()
        journals = [node.journal for node in site.nodes.values()]
        assert wait_until(lambda: all(j.stats().unsent == 0 for j in journals), timeout_s=60)
        lobby = site.nodes["lobby"].journal
        assert wait_until(lambda: lobby.stats().next_seq - 1 >= 600, timeout_s=30)
        expected = sum(j.stats().next_seq - 1 for j in journals)
        assert wait_until(lambda: _stored(db)[0] >= expected, timeout_s=60, interval_s=0.05)
        total, distinct = _stored(db)
        assert total == distinct == expected
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            taps = c.execute("SELECT COUNT(*) FROM events WHERE kind = 'patrol.tap'").fetchone()[0]
            gaps = c.execute("SELECT COUNT(*) FROM seq_gaps WHERE closed_at IS NULL").fetchone()[0]
        assert taps == len(cards) and gaps == 0
