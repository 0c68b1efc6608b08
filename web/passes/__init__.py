"""Goods passes (物品放行) on the console: the desk issues and signs them, the gate's verdicts
update them, cancelled ones go out in ``sync/pass-revocations``, the archive report.

:func:`install` wires the feature into :class:`~web.services.ConsoleServices`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import (AUTHORISATIONS, CARRIER_RELATIONS, KINDS, OWNER_RELATIONS, STATES,
                    GoodsPass, PassDraft, PassLine, PassProblems, check_draft)
from ..handlers import for_kinds
from .store import (DATASET, DOUBLE_USE, RELEASED_CANCELLED, VERDICT_KINDS, GateVerdict,
                    GoodsPassStore, PassNotCancellable, PassNotFound)
from .uploads import LetterScans, ScanRefused

__all__ = ["GoodsPass", "PassDraft", "PassLine", "PassProblems", "check_draft", "KINDS",
           "CARRIER_RELATIONS", "OWNER_RELATIONS", "AUTHORISATIONS", "STATES", "GoodsPassStore",
           "PassNotFound", "PassNotCancellable", "GateVerdict", "DATASET", "DOUBLE_USE",
           "RELEASED_CANCELLED", "LetterScans", "ScanRefused", "install", "EXPIRE_EVERY_MS",
           "SYNC_EVERY_MS"]

#: How often issued passes past their window are marked expired (ms of console clock).
EXPIRE_EVERY_MS = 60_000
#: How often a revocations version raised by a gate release is published (ms).
SYNC_EVERY_MS = 5_000


def install(services: Any) -> GoodsPassStore:
    """Add the goods-pass store to ``services`` (``services.passes``, ``services.pass_scans``),
    register the ``pass-revocations`` dataset, the ingest handler and the jobs. No I/O."""
    cfg = services.config
    store = GoodsPassStore(services.db, site=cfg.site, clock=services.clock,
                           timezone=cfg.timezone, alarms=services.alarms, live=services.live)
    services.passes = store
    services.pass_scans = LetterScans(Path(cfg.db_path).parent / "pass-letters")
    services.sync.register(DATASET, snapshot=store.revocations_snapshot,
                           version=store.revocations_version)
    services.event_handlers.append(for_kinds(store.on_event, VERDICT_KINDS))
    services.jobs.add("passes.expire", store.expire_due, every_ms=EXPIRE_EVERY_MS)
    services.jobs.add("passes.sync", lambda now: store.publish_if_changed(services.sync.publish),
                      every_ms=SYNC_EVERY_MS)
    return store
