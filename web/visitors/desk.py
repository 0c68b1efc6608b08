"""The visitor desk: intercom calls, visits, invites and the watchlist working together.

:class:`VisitorDesk` is built by :class:`~web.services.ConsoleServices` (no I/O in the
constructor). It

- takes the panels' ``intercom.*`` events inside the ingest's transaction (:meth:`on_event`),
- registers visits (warning on watchlist hits, never blocking), records the resident's answer,
- opens the door with a signed ``intercom.open`` command naming the operator, only for a
  registered visit whose resident confirmed, unless an administrator overrides with a reason,
- signs and revokes invites (``invite-revocations`` published through the sync publisher),
- runs three jobs: call time-outs, automatic check-out at the configured hour, anonymisation of
  old visits (each job's result goes into the audit log as user ``system``).

Desk-side changes are announced on the live feed as ``("desk", {"call": key})`` or
``("desk", {"visit": id})`` after they are committed; the desk page's stream re-renders them.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from mqtt_topics import CommandEnvelope
from mqtt_topics.invites import REVOCATIONS_DATASET

from ..audit import AuditLog
from ..commands import CommandSender
from ..db import Database
from ..errors import ConsoleError, NotFound
from ..live import LiveFeed
from ..signing import SiteSigner
from ..sync import SyncPublisher
from ..units import UnitStore
from . import actions
from .calls import Call, CallStore
from .invite_links import InviteLinkStore
from .invites import Invite, InviteStore
from .model import CONFIRM_VIA, VisitError, VisitInput, parse_visit
from .panels import PanelBuildings
from .settings import SettingsStore
from .visits import Visit, VisitStore
from .watchlist import WatchEntry, Watchlist

if TYPE_CHECKING:  # pragma: no cover
    from ..stores.events import StoredEvent

__all__ = ["VisitorDesk", "UnlockRefused", "Registration", "UNLOCK_ACTION", "DAY_MS"]

log = logging.getLogger(__name__)

#: The node command that opens the lobby door at an intercom panel.
UNLOCK_ACTION = "intercom.open"
DAY_MS = 86_400_000
_CALL_UPDATES = ("intercom.answered", "intercom.no_answer", "intercom.refused", "intercom.timeout",
                 "intercom.door_opened")


class UnlockRefused(ConsoleError):
    """The door may not be opened for this visit; ``code``: ``not_confirmed``, ``refused``,
    ``left``, ``needs_admin``, ``needs_reason``, ``no_node``, ``no_key``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Registration:
    """A saved registration and the watchlist entries it matched (shown to the desk)."""

    visit: Visit
    hits: list[WatchEntry]


@dataclass(frozen=True)
class Unlock:
    """What :meth:`VisitorDesk.unlock` did: the visit after, the command sent and whether it
    reached the broker (``sent``), the administrator's ``override`` reason (None: the
    resident confirmed)."""

    visit: Visit
    command: CommandEnvelope
    node: str
    sent: bool
    override: str | None = None


class VisitorDesk:
    """See the module docstring.  ``clock``: UTC ms; ``timezone``: the site's zone (the
    check-out hour is local)."""

    def __init__(self, db: Database, *, site: str, units: UnitStore, commands: CommandSender,
                 sync: SyncPublisher, live: LiveFeed, clock: Callable[[], int],
                 timezone: str = "UTC", node_keys: Any = ()) -> None:
        self._db = db
        self._units = units
        self._commands = commands
        self._sync = sync
        self._live = live
        self._clock = clock
        self._tz = zoneinfo.ZoneInfo(timezone)
        self._node_keys = tuple(node_keys)
        self.panels = PanelBuildings(db, units=units, clock=clock)
        self.calls = CallStore(db, units=units, clock=clock,
                               panel_building=self.panels.building_for)
        self.visits = VisitStore(db, clock=clock)
        self.invites = InviteStore(db, site=site, clock=clock)
        self.links = InviteLinkStore(db, clock=clock)
        self.watchlist = Watchlist(db, clock=clock)
        self.settings = SettingsStore(db)
        self.audit = AuditLog(db, clock=clock)
        sync.register(REVOCATIONS_DATASET, snapshot=self.invites.revocations_snapshot,
                      version=self.invites.revocations_version)

    def register_jobs(self, jobs: Any) -> None:
        """Add the desk's periodic jobs to a :class:`~web.jobs.JobRunner`."""
        jobs.add("intercom.call_timeouts", self.expire_calls, every_ms=5_000)
        jobs.add("visits.auto_checkout", self.auto_check_out, every_ms=60_000)
        jobs.add("visits.anonymise", self.anonymise, every_ms=DAY_MS)

    def _announce(self, **what: Any) -> None:
        # once committed: a caller (the ingest's batch, a page) may still roll back
        self._db.after_commit(lambda: self._live.publish("desk", what))

    # -- ingest ---------------------------------------------------------------------------------

    def on_event(self, ev: "StoredEvent") -> None:
        """An event the ingest stored (inside its transaction): calls and invite admissions."""
        if ev.kind == "intercom.call":
            self.calls.on_call(ev.node, ev.data, ts=ev.ts, received_at=ev.received_at)
        elif ev.kind in _CALL_UPDATES:
            self.calls.on_node_update(ev.node, ev.kind, ev.data, ts=ev.ts)
        elif ev.kind == "intercom.invite_admitted":
            self._invite_admitted(ev)

    def _invite_admitted(self, ev: "StoredEvent") -> None:
        invite_id = str(ev.data.get("invite_id") or "")
        inv = self.invites.admitted(invite_id) if invite_id else None
        if inv is None:
            log.warning("invite %r admitted at %s is not known to the console", invite_id, ev.node)
            return
        if any(v.arrived_at is not None and v.left_at is None
               for v in self.visits.for_invite(invite_id)):
            return                                  # another use while they are still here
        visit = VisitInput(name=inv.name, id_type="other", id_tail="", phone=inv.phone,
                           unit=inv.unit, purpose=inv.purpose, plate="", people=1)
        self.visits.add(visit, by="invite", confirmed_via="invite", invite_id=invite_id,
                        arrived_at=ev.ts)

    # -- calls ----------------------------------------------------------------------------------

    def _send(self, node: str, action: str, args: dict[str, Any], by: str) -> bool:
        """Best-effort panel command (LED/buzzer feedback); True if handed to the broker."""
        try:
            env = self._commands.send(node, action, args, issued_by=by)
        except NotFound:
            log.warning("no command key for intercom node %s: %s not sent", node, action)
            return False
        return self._commands.status(env.cmd_id).state != "failed"

    def answer_call(self, key: str, *, by: str) -> Call:
        call = self.calls.require(key)
        if call.state == "ringing":
            self._send(call.node, "intercom.answer", {"call_id": call.call_id}, by)
        call = self.calls.answer(key, by=by)
        self._announce(call=key)
        return call

    def confirm_call(self, key: str, *, via: str, by: str) -> Call:
        if via not in ("phone", "in_person"):
            raise ValueError(f"confirmed via {via!r}")
        call = self.calls.confirm(key, via=via, by=by)
        for vid in self.visits.link_call_confirmation(key, via=via, by=by):
            self._announce(visit=vid)
        self._announce(call=key)
        return call

    def end_call(self, key: str, *, outcome: str, by: str) -> Call:
        """``refused`` (the resident said no: the panel shows ``intercom.refused``) or
        ``no_answer`` (nobody picked up: ``intercom.no_answer``)."""
        call = self.calls.require(key)
        if call.active:
            action = "intercom.refused" if outcome == "refused" else "intercom.no_answer"
            self._send(call.node, action, {"call_id": call.call_id}, by)
        call = self.calls.end(key, outcome=outcome, by=by)
        if outcome == "refused":
            for vid in self.visits.link_call_confirmation(key, via=None, by=by):
                self._announce(visit=vid)
        self._announce(call=key)
        return call

    # -- visits ---------------------------------------------------------------------------------

    def register(self, values: dict[str, Any], *, by: str) -> Registration:
        """Validate and save a registration (:class:`~web.visitors.model.VisitError`); an
        unknown unit is ``unknown_unit``. Watchlist hits are saved on the visit and returned."""
        v = parse_visit(values)
        if not self._units.exists(v.unit):
            raise VisitError({"unit": ["unknown_unit"]})
        confirmed = None
        call = None
        if v.call_id:
            call = self.calls.get(v.call_id)
            if call is None:
                raise VisitError({"call_id": ["bad_call"]})
            confirmed = call.confirmed_via if call.outcome != "refused" else None
        hits = self.watchlist.matches(v)
        hit_text = "; ".join(f"{h.kind}:{h.shown}" + (f" ({h.note})" if h.note else "")
                             for h in hits)
        visit = self.visits.add(v, by=by, confirmed_via=confirmed, watch_hits=hit_text)
        if call is not None and call.outcome == "refused":
            visit = self.visits.refuse(visit.id, by=call.ended_by or by)
        self._announce(visit=visit.id)
        return Registration(visit=visit, hits=hits)

    def confirm_visit(self, visit_id: int, *, via: str, by: str) -> Visit:
        if via not in CONFIRM_VIA:
            raise ValueError(f"confirmed via {via!r}")
        visit = self.visits.confirm(visit_id, via=via, by=by)
        if visit.call_key and self.calls.get(visit.call_key) and via in ("phone", "in_person"):
            self.calls.confirm(visit.call_key, via=via, by=by)
            self._announce(call=visit.call_key)
        self._announce(visit=visit_id)
        return visit

    def refuse_visit(self, visit_id: int, *, by: str) -> Visit:
        visit = self.visits.refuse(visit_id, by=by)
        self._announce(visit=visit_id)
        return visit

    def unlock_nodes(self) -> list[str]:
        """Nodes the desk may open a door at: intercom nodes the console holds a key for."""
        keyed = set(self._node_keys)
        seen = self.calls.nodes()
        return [n for n in seen if n in keyed] or sorted(keyed)

    def unlock(self, visit_id: int, *, by: str, role: str, node: str | None = None,
               override_reason: str | None = None) -> Unlock:
        """Open the lobby door for the visit: a signed ``intercom.open`` to the node of its call
        (or ``node``), naming ``by``. Allowed once the visit is registered and confirmed; an
        ``admin`` may override with a reason. Raises :class:`UnlockRefused`."""
        visit = self.visits.require(visit_id)
        reason = (override_reason or "").strip() or None
        if visit.left_at is not None:
            raise UnlockRefused("left", "the visitor has already left")
        if not visit.confirmed:
            if reason is None:
                code = "refused" if visit.refused_at is not None else "not_confirmed"
                if role == "admin":
                    raise UnlockRefused("needs_reason", "an override needs a reason")
                raise UnlockRefused(code, "the resident has not confirmed this visit")
            if role != "admin":
                raise UnlockRefused("needs_admin", "only an administrator may override")
        else:
            reason = None
        call = self.calls.get(visit.call_key) if visit.call_key else None
        target = call.node if call is not None else node
        if call is None and target not in self.unlock_nodes():
            target = None
        if not target:
            raise UnlockRefused("no_node", "choose the door (intercom node) to open")
        args: dict[str, Any] = {"call_id": call.call_id} if call is not None else {}
        try:
            env = self._commands.send(target, "intercom.open", args, issued_by=by)
        except NotFound:
            raise UnlockRefused("no_key", f"the console has no command key for {target}") from None
        sent = self._commands.status(env.cmd_id).state != "failed"
        if sent:
            visit = self.visits.unlocked(visit_id, by=by, override_reason=reason)
            self._announce(visit=visit_id)
        return Unlock(visit=visit, command=env, node=target, sent=sent, override=reason)

    def check_in(self, visit_id: int, *, by: str, role: str) -> Visit:
        """The desk let the visitor in by hand: only once the resident confirmed (an
        administrator who overrides does it with :meth:`unlock` and a reason)."""
        visit = self.visits.require(visit_id)
        if not visit.confirmed:
            code = "refused" if visit.refused_at is not None else "not_confirmed"
            raise UnlockRefused(code, "the resident has not confirmed this visit")
        visit = self.visits.check_in(visit_id)
        self._announce(visit=visit_id)
        return visit

    def check_out(self, visit_id: int, *, by: str) -> Visit:
        visit = self.visits.check_out(visit_id, by=by)
        self._announce(visit=visit_id)
        return visit

    # -- invites --------------------------------------------------------------------------------

    def create_invite(self, *, signer: SiteSigner, by: str, **fields: Any) -> Invite:
        if not self._units.exists(fields["unit"]):
            raise VisitError({"unit": ["unknown_unit"]})
        return self.invites.create(signer=signer, by=by, **fields)

    def phone_invite(self, token: str) -> Invite | None:
        """The invite a phone link's token opens while it is valid or not yet valid; None for
        an unknown token and for a revoked, used-up or expired invite."""
        invite_id = self.links.invite_for(token)
        inv = self.invites.get(invite_id) if invite_id else None
        if inv is None or inv.state(self._clock()) not in ("valid", "not_yet_valid"):
            return None
        return inv

    def revoke_invite(self, invite_id: str, *, by: str) -> tuple[int, bool]:
        """Revoke; ``(version, published)`` of ``sync/invite-revocations``."""
        version = self.invites.revoke(invite_id, by=by)
        return version, self._sync.publish(REVOCATIONS_DATASET)

    # -- jobs -----------------------------------------------------------------------------------

    def expire_calls(self, now_ms: int) -> list[Call]:
        """End calls ringing longer than the call time-out; logged and audited."""
        timeout_ms = self.settings.get().call_timeout_s * 1000
        ended = self.calls.expire(now_ms, timeout_ms=timeout_ms)
        for call in ended:
            log.info("intercom call %s to unit %s not answered in %d s", call.key,
                     call.unit_label, timeout_ms // 1000)
            self.audit.record(actions.CALL_TIMEOUT, user=actions.SYSTEM_USER, target=call.key,
                              detail=f"unit {call.unit_label}, not answered in "
                                     f"{timeout_ms // 1000} s", ts=now_ms)
            self._announce(call=call.key)
        return ended

    def checkout_instant(self, now_ms: int) -> int | None:
        """The latest automatic check-out time at or before ``now_ms`` (UTC ms), None when
        automatic check-out is off."""
        hour = self.settings.get().checkout_hour
        if hour < 0:
            return None
        local = datetime.fromtimestamp(now_ms / 1000, self._tz)
        at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        if at > local:
            at -= timedelta(days=1)
        return int(at.timestamp() * 1000)

    def auto_check_out(self, now_ms: int) -> list[int]:
        """Check out visitors who arrived before the last check-out time; audited."""
        at = self.checkout_instant(now_ms)
        if at is None:
            return []
        ids = self.visits.auto_check_out(at)
        if ids:
            log.info("auto check-out: %d visit(s) still on site at %s", len(ids), at)
            self.audit.record(actions.VISIT_AUTO_CHECKOUT, user=actions.SYSTEM_USER,
                              target="visits", detail=f"{len(ids)} visit(s): "
                              + ",".join(map(str, ids[:50])), ts=now_ms)
            for vid in ids:
                self._announce(visit=vid)
        return ids

    def anonymise(self, now_ms: int) -> int:
        """Anonymise visits older than the configured age; the count goes to the audit log
        (also when it is 0, so the log shows the job ran)."""
        days = self.settings.get().anonymise_days
        n = self.visits.anonymise(now_ms - days * DAY_MS, now_ms=now_ms)
        self.audit.record(actions.VISIT_ANONYMISE, user=actions.SYSTEM_USER, target="visits",
                          detail=f"{n} visit(s) older than {days} days anonymised", ts=now_ms)
        if n:
            log.info("anonymised %d visit(s) older than %d days", n, days)
        return n
