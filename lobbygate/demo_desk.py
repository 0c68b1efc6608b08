"""The demo's front desk while the demo runs: what a desk clerk does at the console, done
through the console's stores on its database (the console process serves the same file).

The simulated people ask it for the goods pass a mover shows at the gate (one the console issued
and signed, see :meth:`DemoDesk.pass_to_show`) and for a visitor invite (:meth:`DemoDesk.invite`);
``--check`` issues its own pass and invite the same way and reads the console's stores to see
what the nodes' events did there. Issuing is audit-logged as the console's pages do (user
``demo``). The constructor does no I/O; :meth:`open` opens the database, :meth:`close`
(idempotent) closes it.
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any

from .demo_people import UNITS
from .demo_seed import DAY_MS, MINUTE_MS, SEEDED_BY

__all__ = ["DemoDesk", "GOODS", "VISITORS"]

#: What movers carry out: (description, quantity, large).
GOODS: tuple[tuple[str, int, bool], ...] = (
    ("冰箱 refrigerator", 1, True), ("纸箱 cardboard boxes", 4, False),
    ("旧沙发 old sofa", 1, True), ("自行车 bicycle", 1, False), ("书架 bookshelf", 1, True))
#: Visitors the residents invite: (name, phone).
VISITORS: tuple[tuple[str, str], ...] = (("周女士", "136 0000 1202"), ("Mr. Smith", "+44 7700 900123"),
                                         ("快递 钱师傅", "131 0000 8888"))


class DemoDesk:
    """The desk's actions on the console database (see the module note). ``services``: a
    :class:`web.services.ConsoleServices` without ingest, with the site signing key."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self._lock = threading.Lock()
        self._shown: set[str] = set()
        self._closed = False

    def open(self) -> "DemoDesk":
        self.services.open()
        return self

    def close(self) -> None:
        """Close the database handle. Idempotent."""
        if not self._closed:
            self._closed = True
            self.services.stop()

    def _audit(self, action: str, target: str, detail: str) -> None:
        from web.audit import AuditLog
        AuditLog(self.services.db).open().record(action, user=SEEDED_BY, target=target,
                                                 detail=detail)

    # -- goods passes ---------------------------------------------------------------------------
    def issue_pass(self, *, unit: str, items: list[tuple[str, int, bool]] | tuple[Any, ...],
                   days: int = 1) -> Any:
        """Issue a goods pass for ``unit`` carried by its owner in person, valid from the last
        minute for ``days``; the stored :class:`~web.passes.GoodsPass` (its ``qr_text`` signed
        with the site key). ValueError if the demo's data breaks the desk's rules."""
        from web.passes import PassDraft, PassLine, check_draft
        services = self.services
        now = services.clock()
        record = services.units.require(unit)
        owner = next(r for r in record.residents if r.relation == "owner")
        start = now - now % MINUTE_MS - MINUTE_MS
        draft = PassDraft(unit=unit, carrier_name=owner.name, carrier_relation="owner",
                          carrier_id_last4=record.number[-4:].rjust(4, "0"),
                          items=tuple(PassLine(d, q, large=big) for d, q, big in items),
                          valid_from_ms=start, valid_until_ms=start + days * DAY_MS,
                          note="demo")
        problems = check_draft(draft, unit=record, now_ms=now)
        if problems:
            raise ValueError(f"demo goods pass for {unit} breaks the desk's rules: {problems}")
        gp = services.passes.issue(draft, sign=services.signer().sign, by=SEEDED_BY)
        self._audit("goods_pass.issue", gp.pass_id, json.dumps(
            {"unit": unit, "items": gp.item_count, "valid_until": gp.valid_until}))
        return gp

    def pass_to_show(self, rng: random.Random) -> Any:
        """A goods pass a mover shows at the gate: one the console issued that is valid now and
        was not shown by this desk before (goods passes before tool passes, the soonest to end
        first), else a new one for a unit with an owner."""
        with self._lock:
            now = self.services.clock()
            ready = sorted((gp for gp in self.services.passes.valid_between(now, now)
                            if gp.pass_id not in self._shown and gp.valid_from <= now),
                           key=lambda gp: (gp.kind != "goods", gp.valid_until))
            if ready:
                gp = ready[0]
            else:
                units = [u.code for u in UNITS
                         if any(r[2] == "owner" for r in u.residents) and not u.vacant]
                gp = self.issue_pass(unit=rng.choice(units),
                                     items=rng.sample(GOODS, k=rng.randint(1, 2)))
            self._shown.add(gp.pass_id)
            return gp

    # -- visitor invites ------------------------------------------------------------------------
    def invite(self, *, unit: str, name: str, phone: str, uses: int = 1) -> Any:
        """Issue a visitor invite for ``unit`` valid from the last minute for a day; the stored
        :class:`~web.visitors.Invite` (its ``qr_text`` signed with the site key)."""
        services = self.services
        now = services.clock()
        inv = services.visitors.create_invite(
            signer=services.signer(), by=SEEDED_BY, name=name, phone=phone, unit=unit,
            purpose="访客 visit", valid_from=now - MINUTE_MS, valid_until=now + DAY_MS, uses=uses)
        self._audit("invite.create", inv.invite_id, f"unit {unit}, {uses} use(s)")
        return inv
