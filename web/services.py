"""The console's data layer wired together: database, stores, live feed, commands, ingest.

:func:`build_services` builds everything without I/O; :meth:`ConsoleServices.start` opens the
database and (with a broker configured) starts the ingest; :meth:`ConsoleServices.stop`
undoes both.  ``create_app`` holds one :class:`ConsoleServices` per process.

Usage::

    cfg = ServicesConfig(db_path="/var/lib/lobbygate/console.db", site="tower-a",
                         broker=BrokerSettings(host="127.0.0.1", port=1883,
                                               username="console", password="..."),
                         node_keys={"lobby": b"...32 bytes..."})
    with build_services(cfg) as services:
        page = services.events.search(node="lobby", limit=50)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Mapping

from mqtt_topics import topics as T

from .access.store import DATASET as CREDENTIALS, CredentialStore
from .commands import CommandSender
from .db import Database
from .ingest import BrokerSettings, Ingest, utc_ms
from .live import LiveFeed
from .stores.alarms import AlarmStore
from .stores.events import EventStore
from .stores.nodes import NodeStore

__all__ = ["ServicesConfig", "ConsoleServices", "build_services"]


@dataclass(frozen=True)
class ServicesConfig:
    """What the data layer needs.  ``db_path``: the SQLite file; ``broker``: None runs without
    ingest (pages over an existing database, tests); ``node_keys``: each node's HMAC command
    key; ``timezone``: the site's IANA zone (written into sync snapshots); ``max_clock_skew_s``: node clock offset flagged beyond this (s, default 30);
    ``clock_settle_ms``: see :class:`~web.ingest.Ingest` (default 30,000)."""

    db_path: str | os.PathLike[str]
    site: str
    broker: BrokerSettings | None = None
    node_keys: Mapping[str, bytes] = field(default_factory=dict)
    max_clock_skew_s: float = 30.0
    clock_settle_ms: int = 30_000
    synchronous: str = "FULL"
    timezone: str = "UTC"


class ConsoleServices:
    """The console's data layer: ``db``, ``events``, ``nodes``, ``alarms``, ``live``,
    ``commands``, ``credentials`` (the door-access registry), ``ingest`` (None without a broker).  The constructor does no I/O."""

    def __init__(self, cfg: ServicesConfig, *, clock: Callable[[], int] = utc_ms) -> None:
        self.config = cfg
        self.clock = clock
        self.db = Database(cfg.db_path, synchronous=cfg.synchronous)
        self.live = LiveFeed()
        self.events = EventStore(self.db)
        self.nodes = NodeStore(self.db, max_clock_skew_s=cfg.max_clock_skew_s)
        self.alarms = AlarmStore(self.db, live=self.live)
        self.credentials = CredentialStore(self.db, clock=clock, timezone=cfg.timezone)
        self.ingest: Ingest | None = None
        self.commands = CommandSender(db=self.db, publish=self._publish, site=cfg.site,
                                      node_keys=cfg.node_keys, clock=clock)
        if cfg.broker is not None:
            self.ingest = Ingest(site=cfg.site, broker=cfg.broker, events=self.events,
                                 nodes=self.nodes, alarms=self.alarms, live=self.live,
                                 commands=self.commands, clock=clock,
                                 clock_settle_ms=cfg.clock_settle_ms,
                                 connect_handlers=(self._republish_credentials,))
        self._started = False

    def _publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        return self.ingest.publish(topic, payload, qos, retain) if self.ingest else False

    def publish_credentials(self) -> bool:
        """Publish the ``credentials`` snapshot (retained, QoS 1) at its current version; True
        if handed to the broker. Called after every registry change and on each (re)connect."""
        snapshot = self.credentials.snapshot()
        return self._publish(T.sync(self.config.site, CREDENTIALS), snapshot.to_json(), 1, True)

    def _republish_credentials(self) -> None:
        if self.credentials.version() > 0:   # never overwrite a node's cache with an empty set
            self.publish_credentials()

    def open(self) -> "ConsoleServices":
        """Open the database only (no ingest).  Idempotent."""
        self.db.open()
        return self

    def start(self) -> "ConsoleServices":
        """Open the database and start the ingest (if a broker is configured).  Idempotent."""
        if self._started:
            return self
        self.db.open()
        if self.ingest is not None:
            self.ingest.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop the ingest (storing what it received), close the live feed and the database.
        Idempotent."""
        if self.ingest is not None:
            self.ingest.stop()
        self.live.close()
        self.db.close()
        self._started = False

    def __enter__(self) -> "ConsoleServices":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_services(cfg: ServicesConfig, *, clock: Callable[[], int] | None = None) -> ConsoleServices:
    """Build (not start) the data layer for ``cfg``; ``clock`` returns UTC ms (default: the
    wall clock)."""
    return ConsoleServices(cfg, clock=clock or utc_ms)
