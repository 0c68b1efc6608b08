"""The real console process killed with SIGKILL during a burst loses and duplicates nothing."""

from __future__ import annotations

import sqlite3

from firmware.probe import wait_until
from lobbygate.demo import DemoSite


def _stored(db) -> tuple[int, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events").fetchone()


def test_console_sigkilled_mid_burst_stores_every_event_once(tmp_path):
    site = DemoSite(tmp_path / "demo", activity="idle")
    db = tmp_path / "demo" / "console" / "console.sqlite"
    with site:
        lobby = site.nodes["lobby"]
        sim = lobby.simulation
        sim.wait_port_open()
        cards = [f"5A{n:08X}" for n in range(600)]
        for card in cards[:300]:
            sim.present(card)
        assert wait_until(lambda: db.exists() and _stored(db)[0] >= 50, timeout_s=30)
        site.kill_console()
        for card in cards[300:]:  # the burst goes on while the console is dead
            sim.present(card)
        site.start_console()
        journal = lobby.journal
        assert wait_until(lambda: journal.stats().unsent == 0, timeout_s=60)
        expected = site.nodes["gate"].journal.stats().next_seq - 1 + journal.stats().next_seq - 1
        assert wait_until(lambda: _stored(db)[0] >= expected, timeout_s=60, interval_s=0.05)
        total, distinct = _stored(db)
        assert total == distinct == expected
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            reads = c.execute("SELECT COUNT(*) FROM events WHERE kind = 'card.read'").fetchone()[0]
            gaps = c.execute("SELECT COUNT(*) FROM seq_gaps WHERE closed_at IS NULL").fetchone()[0]
        assert reads == len(cards) and gaps == 0
