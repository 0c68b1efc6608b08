"""An unreachable broker is counted and logged by the console's ingest (not silent)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from firmware.mosquitto import free_port
from firmware.probe import wait_until
from web.db import Database
from web.ingest import BrokerSettings, Ingest
from web.live import LiveFeed
from web.stores import AlarmStore, EventStore, NodeStore

from wd_helpers import SITE


def test_unreachable_broker_is_counted_and_logged(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    import web.commands  # noqa: F401
    import web.stores  # noqa: F401
    port = free_port()          # nothing listens there
    with Database(tmp_path / "c.db") as db:
        ingest = Ingest(site=SITE, broker=BrokerSettings(host="127.0.0.1", port=port,
                                                         username="console", password="x"),
                        events=EventStore(db), nodes=NodeStore(db, max_clock_skew_s=30),
                        alarms=AlarmStore(db), live=LiveFeed(), commands=None)
        caplog.set_level(logging.WARNING, logger="web.ingest")
        ingest.start()
        try:
            assert wait_until(lambda: ingest.counters.get("connect_failures", 0) >= 1,
                              timeout_s=10)
        finally:
            ingest.stop()
    assert any("cannot connect to the broker" in r.getMessage() for r in caplog.records)
