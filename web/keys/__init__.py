"""Key cabinet on the console (钥匙委托管理): the key register and its ``key-permissions``
snapshot (:mod:`.register`), loans from the cabinet's events with overdue alarms and the desk's
assisted loans (:mod:`.loans`), the live picture of the slots (:mod:`.cabinets`).

:class:`KeyCabinet` wires them into :class:`~web.services.ConsoleServices` (``services.keys``):
the sync dataset, the ingest handlers and two jobs (``keys.overdue``, ``keys.permissions``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..handlers import for_kinds
from .cabinets import BOARD_EVENT_KINDS, CabinetBoard
from .loans import KEY_OVERDUE, LOAN_EVENT_KINDS, KeyLoanStore
from .model import KEY_KINDS, KeyLoan, KeyRecord
from .register import DATASET, KeyRegister

if TYPE_CHECKING:  # pragma: no cover
    from ..services import ConsoleServices

__all__ = ["KeyCabinet", "KeyRegister", "KeyLoanStore", "CabinetBoard", "KeyRecord", "KeyLoan",
           "KEY_KINDS", "KEY_OVERDUE", "DATASET", "OVERDUE_EVERY_MS", "REFRESH_EVERY_MS"]

#: How often overdue loans are looked for, ms of the console clock.
OVERDUE_EVERY_MS = 60_000
#: How often the snapshot is checked for content that changed by itself (an authorisation or
#: a credential that ended), ms.
REFRESH_EVERY_MS = 60_000


class KeyCabinet:
    """The feature's parts: ``register``, ``loans``, ``board``. Registers itself with
    ``services`` (no I/O)."""

    def __init__(self, services: "ConsoleServices") -> None:
        self._services = services
        self.register = KeyRegister(services.db, clock=services.clock,
                                    credentials=services.credentials)
        self.loans = KeyLoanStore(services.db, clock=services.clock, register=self.register,
                                  alarms=services.alarms, live=services.live)
        self.board = CabinetBoard(services.db, register=self.register, clock=services.clock,
                                  live=services.live)
        services.sync.register(DATASET, snapshot=self.register.snapshot,
                               version=self.register.version)
        services.event_handlers.append(for_kinds(self.loans.on_event, LOAN_EVENT_KINDS))
        services.event_handlers.append(for_kinds(self.board.on_event, BOARD_EVENT_KINDS))
        services.jobs.add("keys.overdue", self.loans.check_overdue, every_ms=OVERDUE_EVERY_MS)
        services.jobs.add("keys.permissions", self.refresh, every_ms=REFRESH_EVERY_MS)

    def publish(self) -> bool:
        """Publish the ``key-permissions`` snapshot (after a register change) and announce the
        change as ``("keys", {"register": version})`` on the live feed (the cabinet board shows
        the register's slots); True if the snapshot was handed to the broker."""
        live, version = self._services.live, self.register.version()
        self._services.db.after_commit(lambda: live.publish("keys", {"register": version}))
        return self._services.sync.publish(DATASET)

    def refresh(self, now_ms: int) -> bool:
        """Job: bump and publish the snapshot if its content changed by itself."""
        if self.register.refresh(now_ms):
            self.publish()
            return True
        return False
