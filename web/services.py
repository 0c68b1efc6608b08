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

import logging
import os
from dataclasses import dataclass, field
from typing import Callable, Mapping


from .access.schedules import ScheduleStore
from .access.store import DATASET as CREDENTIALS, CredentialStore
from .commands import CommandSender
from .db import Database
from .ingest import BrokerSettings, Ingest, utc_ms
from .handlers import for_kinds
from .jobs import JobRunner
from .live import LiveFeed
from .signing import SigningUnavailable, SiteSigner, load_signer
from .stores.alarms import AlarmStore
from .stores.events import EventStore
from .stores.nodes import NodeStore
from .sync import SyncPublisher
from .units import UnitStore

__all__ = ["ServicesConfig", "ConsoleServices", "build_services"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServicesConfig:
    """What the data layer needs.  ``db_path``: the SQLite file; ``broker``: None runs without
    ingest (pages over an existing database, tests); ``node_keys``: each node's HMAC command
    key; ``timezone``: the site's IANA zone (written into sync snapshots); ``max_clock_skew_s``: node clock offset flagged beyond this (s, default 30);
    ``clock_settle_ms``: see :class:`~web.ingest.Ingest` (default 30,000);
    ``signing_key_file``: the site's Ed25519 key (goods passes, invites; None: those refuse);
    ``run_jobs``: start the periodic-job thread (:mod:`web.jobs`) with :meth:`start` (the
    console process does; tests call ``services.jobs.run_due(now)`` themselves)."""

    db_path: str | os.PathLike[str]
    site: str
    broker: BrokerSettings | None = None
    node_keys: Mapping[str, bytes] = field(default_factory=dict)
    max_clock_skew_s: float = 30.0
    clock_settle_ms: int = 30_000
    synchronous: str = "FULL"
    timezone: str = "UTC"
    signing_key_file: "str | os.PathLike[str] | None" = None
    run_jobs: bool = False


class ConsoleServices:
    """The console's data layer: ``db``, ``events``, ``nodes``, ``alarms``, ``live``,
    ``commands``, ``credentials`` (the door-access registry; ``schedules``: its schedules and
    holiday dates, in the same snapshot), ``units`` (the unit registry),
    ``sync`` (retained snapshots for the nodes), ``jobs`` (periodic jobs), ``ingest`` (None
    without a broker).  The constructor does no I/O.

    Features add themselves in :meth:`_build_features`: their stores, their ``sync`` datasets,
    their jobs and their ``event_handlers`` / ``telemetry_handlers`` (run by the ingest inside
    its batch transaction, see :class:`~web.ingest.Ingest`)."""

    def __init__(self, cfg: ServicesConfig, *, clock: Callable[[], int] = utc_ms,
                 signer: SiteSigner | None = None) -> None:
        self.config = cfg
        self.clock = clock
        self.db = Database(cfg.db_path, synchronous=cfg.synchronous)
        self.live = LiveFeed()
        self.events = EventStore(self.db)
        self.nodes = NodeStore(self.db, max_clock_skew_s=cfg.max_clock_skew_s)
        self.alarms = AlarmStore(self.db, live=self.live)
        self.credentials = CredentialStore(self.db, clock=clock, timezone=cfg.timezone)
        self.schedules = ScheduleStore(self.db, clock=clock)   # travel in the credentials snapshot
        self.units = UnitStore(self.db, clock=clock)
        self.ingest: Ingest | None = None
        self.commands = CommandSender(db=self.db, publish=self._publish, site=cfg.site,
                                      node_keys=cfg.node_keys, clock=clock)
        self.sync = SyncPublisher(site=cfg.site, publish=self._publish)
        self.sync.register(CREDENTIALS, snapshot=self.credentials.snapshot,
                           version=self.credentials.version)
        self.jobs = JobRunner(clock=clock)
        self._signer = signer
        self.event_handlers: list[Callable[..., None]] = []
        self.telemetry_handlers: list[Callable[..., None]] = []
        #: called (no arguments) by :meth:`publish_credentials` after every credential registry
        #: change: datasets derived from credentials republish at once (key-permissions)
        self.credential_listeners: list[Callable[[], object]] = []
        self._build_features()
        if cfg.broker is not None:
            self.ingest = Ingest(site=cfg.site, broker=cfg.broker, events=self.events,
                                 nodes=self.nodes, alarms=self.alarms, live=self.live,
                                 commands=self.commands, clock=clock,
                                 clock_settle_ms=cfg.clock_settle_ms,
                                 event_handlers=tuple(self.event_handlers),
                                 telemetry_handlers=tuple(self.telemetry_handlers),
                                 connect_handlers=(self.sync.republish_all,))
        self._started = False

    def _build_features(self) -> None:
        """Each feature's stores, sync datasets, jobs and ingest handlers (no I/O)."""
        # patrol rounds (issue 9): taps in, the round engine ticked, alarms raised
        from .patrol.service import TICK_MS, PatrolService
        self.patrol = PatrolService(self.db, alarms=self.alarms, live=self.live,
                                    clock=self.clock, tz=self.config.timezone)
        self.event_handlers.append(for_kinds(self.patrol.on_event, "patrol.tap"))
        self.jobs.add("patrol.tick", self.patrol.tick, every_ms=TICK_MS)
        # goods passes (issue 7): store, pass-revocations snapshot, gate verdicts, expiry
        from .passes import install as install_passes
        install_passes(self)
        # intercom desk and visitors (issue 6): calls, visits, invites (invite-revocations),
        # watchlist; call time-outs, auto check-out, anonymisation
        from .visitors import VisitorDesk
        self.visitors = VisitorDesk(self.db, site=self.config.site, units=self.units,
                                    commands=self.commands, sync=self.sync, live=self.live,
                                    clock=self.clock, timezone=self.config.timezone,
                                    node_keys=self.config.node_keys)
        self.event_handlers.append(for_kinds(self.visitors.on_event, "intercom."))
        self.visitors.register_jobs(self.jobs)
        # key cabinet (issue 8): key register + key-permissions snapshot, loans, overdue
        # alarms, the cabinet board
        from .keys import KeyCabinet
        self.keys = KeyCabinet(self)
        self.credential_listeners.append(lambda: self.keys.refresh(self.clock()))
        # meter reading (issue 10): registry, readings journal, live values, anomaly alarms
        from .meters import ANOMALY_EVERY_MS, MeterFeature
        self.meters = MeterFeature(self.db, clock=self.clock, units=self.units,
                                   alarms=self.alarms, live=self.live,
                                   timezone=self.config.timezone)
        self.event_handlers.append(for_kinds(self.meters.ingest.on_event, "meter."))
        self.telemetry_handlers.append(self.meters.ingest.on_telemetry)
        self.jobs.add("meters.anomalies", self.meters.watch.check, every_ms=ANOMALY_EVERY_MS)

    def signer(self) -> SiteSigner:
        """The site's signing key (loaded once from ``signing_key_file``);
        :class:`~web.signing.SigningUnavailable` when none is configured."""
        if self._signer is None:
            if self.config.signing_key_file is None:
                raise SigningUnavailable("no site signing key: set console.signing_key_file "
                                         "(made by `lobbygate provision`)")
            self._signer = load_signer(self.config.signing_key_file)
        return self._signer

    def _publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        return self.ingest.publish(topic, payload, qos, retain) if self.ingest else False

    def publish_credentials(self) -> bool:
        """Publish the ``credentials`` snapshot (retained, QoS 1) at its current version; True
        if handed to the broker. Called after every registry change and on each (re)connect.
        Then tells :attr:`credential_listeners` (a failing one is logged; the others still run)."""
        published = self.sync.publish(CREDENTIALS)
        for listener in self.credential_listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001 - the credentials are saved and published anyway
                log.exception("credential listener %r failed", listener)
        return published

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
        if self.config.run_jobs:
            self.jobs.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop the ingest (storing what it received), close the live feed and the database.
        Idempotent."""
        self.jobs.stop()
        if self.ingest is not None:
            self.ingest.stop()
        self.live.close()
        self.db.close()
        self._started = False

    def __enter__(self) -> "ConsoleServices":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_services(cfg: ServicesConfig, *, clock: Callable[[], int] | None = None,
                   signer: SiteSigner | None = None) -> ConsoleServices:
    """Build (not start) the data layer for ``cfg``; ``clock`` returns UTC ms (default: the
    wall clock); ``signer``: the site signing key (default: loaded from
    ``cfg.signing_key_file`` when first needed)."""
    return ConsoleServices(cfg, clock=clock or utc_ms, signer=signer)
