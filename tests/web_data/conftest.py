"""Fixtures for the console data-layer tests: a database with every store, and the whole
data layer (ingest included) connected to the real Mosquitto of ``tests/conftest.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from firmware.mosquitto import MosquittoBroker
from web.db import Database
from web.services import ConsoleServices, ServicesConfig, build_services
from web.stores import AlarmStore, EventStore, NodeStore

from wd_helpers import KEY, SITE, FakeClock, NodeClient, broker_settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    import web.commands  # noqa: F401  (registers the commands table)
    import web.stores  # noqa: F401  (registers the store tables)
    with Database(tmp_path / "console.db") as d:
        yield d


@pytest.fixture
def events(db: Database) -> EventStore:
    return EventStore(db)


@pytest.fixture
def nodes(db: Database) -> NodeStore:
    return NodeStore(db, max_clock_skew_s=30)


@pytest.fixture
def alarms(db: Database) -> AlarmStore:
    return AlarmStore(db)


@pytest.fixture
def make_services(tmp_path: Path, broker: MosquittoBroker) -> Iterator[Callable[..., ConsoleServices]]:
    """Build (and start) console services on the test broker; all are stopped at the end."""
    made: list[ConsoleServices] = []

    def make(*, clock: Callable[[], int] | None = None, db_name: str = "console.db",
             max_clock_skew_s: float = 30.0, start: bool = True) -> ConsoleServices:
        cfg = ServicesConfig(db_path=tmp_path / db_name, site=SITE, broker=broker_settings(broker),
                             node_keys={"lobby": KEY}, max_clock_skew_s=max_clock_skew_s,
                             clock_settle_ms=0)
        s = build_services(cfg, clock=clock)
        made.append(s)
        if start:
            s.start()
            assert s.ingest is not None and s.ingest.wait_connected(10)
        return s

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def services(make_services: Callable[..., ConsoleServices]) -> ConsoleServices:
    return make_services()


@pytest.fixture
def lobby(broker: MosquittoBroker) -> Iterator[NodeClient]:
    """A client logged in as node "lobby"."""
    c = NodeClient(broker.credentials("lobby"), node="lobby")
    yield c
    c.close()
