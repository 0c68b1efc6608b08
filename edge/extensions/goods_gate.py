"""The ``goods_gate`` extension: a gate guard scans a goods pass (物品持出证) and the node decides,
offline, in milliseconds, whether the goods may go out.

Per scan (the scanner's thread), in this order:

1. :class:`~edge.passes.PassVerifier`: the QR text parses (``malformed``), names this site
   (``wrong_site``), carries the site's Ed25519 signature (``bad_signature``);
2. :class:`~edge.passes.PassLedger`: not cancelled per the last ``sync/pass-revocations`` snapshot
   (``revoked``), not released before here or, per that snapshot, at another gate
   (``already_used``);
3. the validity window on the node clock (``not_yet_valid``, ``expired``);
4. released: the pass is recorded in the ledger (durable) *before* the green LED lights, so it goes
   out at most once from this gate, even across a power cut. A ledger that cannot be read or
   written refuses the pass (``ledger_error``).

The verdict is shown at once (green LED + short beep = release, red LED + long beep = refuse),
then journalled: ``goods.released`` (access, with the item count and digest: the guard checks the
goods against the pass), ``goods.forged`` (alarm: ``bad_signature``) or ``goods.refused`` (access:
every other reason). Events reach the console whenever the broker is reachable (journal + outbox);
the decision never waits for it. Two gates offline can each release a pass once; the console sees
both ``goods.released`` events and flags the double use, and lists released ids as ``used`` in
the next revocations snapshot so every gate then refuses them.

Scanner noise (over-long or non-text lines) is logged and counted per reason
(``scanner_overlong``, ``scanner_garbage``, ``scanner_serial``) and never stops the gate.
Configured by ``[goods_gate]`` (:class:`~edge.config.GoodsGateSettings`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from hardware.errors import HardwareError
from hardware.gpio import Relay, make_pin_factory
from hardware.readers.scanner import ScannerReader, ScanRead
from mqtt_topics import ContractError, SyncSnapshot
from mqtt_topics.passes import REVOCATIONS_DATASET, parse_revocations

from ..config import GoodsGateSettings, ReaderSettings
from ..counters import Counters, LatencyWindow
from ..passes import PassError, PassLedger, PassVerifier
from .base import Extension, NodeContext

log = logging.getLogger(__name__)

RELEASED_KIND = "goods.released"
REFUSED_KIND = "goods.refused"
FORGED_KIND = "goods.forged"
#: Released passes whose validity ended more than this long ago are pruned at start (ms).
PRUNE_AFTER_MS = 24 * 3600 * 1000
_RELEASE_BEEP_S = 0.1
_REFUSE_BEEP_S = 0.6


def event_kind(reason: str) -> str:
    """The event kind journalled for a verdict ``reason``."""
    if reason == "released":
        return RELEASED_KIND
    return FORGED_KIND if reason == "bad_signature" else REFUSED_KIND


class GoodsGateExtension(Extension):
    """A goods-pass gate (see the module docstring).

    ``on_verdict(reason, event_data)``: optional hook called in the scanner thread after each
    verdict is shown and journalled (benches, demos). Attributes after :meth:`start`:
    ``ledger``, ``verifier``, ``scanner``, ``green``/``red``/``buzzer`` (or None),
    ``verdict_latency`` (line received -> verdict shown, ms)."""

    name = "goods_gate"

    def __init__(self, settings: GoodsGateSettings, *,
                 on_verdict: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.settings = settings
        self.on_verdict = on_verdict
        self.ledger = PassLedger(settings.ledger)
        self.verifier: PassVerifier | None = None
        self.scanner: ScannerReader | None = None
        self.green: Relay | None = None
        self.red: Relay | None = None
        self.buzzer: Relay | None = None
        self.verdict_latency = LatencyWindow()
        self._ctx: NodeContext | None = None
        self._factory: Any = None
        self._own_factory = False
        self._stopped = False
        self._lock = threading.Lock()
        self._counters = Counters(["scans", "released", "refused", "forged", "scanner_errors",
                                   "snapshots_applied", "snapshots_ignored", "snapshot_errors",
                                   "ledger_errors", "emit_errors"])

    # -- lifecycle ------------------------------------------------------------------------------

    def open_outputs(self, ctx: NodeContext) -> list[str]:
        """The verdict LEDs and the buzzer, off."""
        s = self.settings
        pins = {"green": s.green_pin, "red": s.red_pin, "buzzer": s.buzzer_pin}
        out = []
        for attr, pin in pins.items():
            if pin is None:
                continue
            if self._factory is None:
                self._factory = ctx.pin_factory
                if self._factory is None:       # the node made none: no [[relays]]/[[inputs]]
                    self._factory = make_pin_factory(ctx.config.gpio.pin_factory)
                    self._own_factory = True
            setattr(self, attr, Relay(pin, name=f"{s.name}-{attr}", pin_factory=self._factory,
                                      active_high=s.active_high, safe_state="off"))
            out.append(f"goods gate {s.name} {attr}: off")
        return out

    def start(self, ctx: NodeContext) -> None:
        s = self.settings
        self._ctx = ctx
        self.verifier = PassVerifier(s.public_key, site=ctx.site, clock=ctx.clock)
        self.ledger.open()
        try:
            pruned = self.ledger.prune(before_ms=ctx.clock() - PRUNE_AFTER_MS)
        except PassError:
            pruned = 0
            self._counters.incr("ledger_errors")
            log.exception("goods gate %s: could not prune the ledger", s.name)
        ctx.register_sync(REVOCATIONS_DATASET, self._on_revocations)
        port = ReaderSettings(name=s.name, port=s.scanner_port, kind="scanner", baud=s.scanner_baud)
        self.scanner = ScannerReader(None, name=s.name, on_scan=self._scan, on_error=self._scanner_error,
                                     terminator=s.terminator, max_line=s.max_line,  # type: ignore[arg-type]
                                     clock=ctx.monotonic, repeat_window_s=s.repeat_window_s,
                                     reopen=lambda: ctx.open_serial(port)).start()
        counts = self.ledger.counts()
        log.info("goods gate %s: scanner on %s, revocations v%s (%d revoked), %d released here "
                 "(%d pruned)", s.name, s.scanner_port, self.ledger.revocations_version,
                 counts["revoked"], counts["released"], pruned)

    def stop(self) -> None:
        """Scanner off, outputs off, ledger closed. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if self.scanner is not None:
            _quietly("scanner", self.scanner.close)
        for relay in (self.green, self.red, self.buzzer):
            if relay is not None:
                _quietly(f"output {relay.name}", relay.close)
        if self._own_factory and self._factory is not None:
            _quietly("pin factory", self._factory.close)
        _quietly("ledger", self.ledger.close)

    def alive(self) -> bool:
        return self.scanner is None or self.scanner.alive

    def counters(self) -> Counters:
        return self._counters

    # -- scans (scanner thread) ------------------------------------------------------------------

    def decide(self, code: str) -> tuple[str, dict[str, Any]]:
        """The verdict on ``code``: ``(reason, event data)``; records a release in the ledger.
        Shows nothing and journals nothing (see :meth:`_scan`)."""
        assert self._ctx is not None and self.verifier is not None
        now = self._ctx.clock()
        check = self.verifier.parse(code)
        reason, token, detail = check.reason, check.token, check.detail
        if check.ok and token is not None:
            try:
                used = self.ledger.status(token.pass_id)
                if used is not None:
                    reason, detail = used, ""
                else:
                    window = self.verifier.window(token, now)
                    reason, detail = window.reason, window.detail
                    if window.ok:
                        claimed = self.ledger.claim(token.pass_id, at_ms=now,
                                                    valid_until_ms=token.valid_until_ms)
                        reason = "released" if claimed else "already_used"
            except PassError as exc:
                self._counters.incr("ledger_errors")
                log.error("goods gate %s: ledger failed, pass %s refused: %s", self.settings.name,
                          token.pass_id, exc)
                reason, detail = "ledger_error", str(exc)[:200]
        data: dict[str, Any] = {"gate": self.settings.name, "reason": reason, "pass_id": None,
                                "unit": None, "items": None, "valid_from": None, "valid_until": None}
        if token is not None:
            fields = token.to_dict()
            data.update({k: fields[k] for k in ("pass_id", "unit", "items", "valid_from", "valid_until")})
            if reason == "released":
                data["items_digest"] = fields["items_digest"]
        if reason != "released":
            data["detail"] = detail[:200]
        return reason, data

    def _scan(self, read: ScanRead) -> None:
        started = time.perf_counter()
        self._counters.incr("scans")
        reason, data = self.decide(read.code)
        self._show(reason == "released")
        self.verdict_latency.add((time.perf_counter() - started) * 1000)
        kind = event_kind(reason)
        self._counters.incr({RELEASED_KIND: "released", FORGED_KIND: "forged"}.get(kind, "refused"))
        level = logging.WARNING if kind == FORGED_KIND else logging.INFO
        log.log(level, "goods gate %s: pass %s %s%s", self.settings.name, data["pass_id"], reason,
                f" ({data['detail']})" if data.get("detail") else "")
        try:
            assert self._ctx is not None
            self._ctx.emit(kind, data)
        except Exception:  # noqa: BLE001 - logged loudly and counted; the gate keeps working
            self._counters.incr("emit_errors")
            log.exception("goods gate %s: could not journal %s %s", self.settings.name, kind, data)
        if self.on_verdict is not None:
            self.on_verdict(reason, data)

    def _show(self, released: bool) -> None:
        s = self.settings
        on, off = (self.green, self.red) if released else (self.red, self.green)
        try:
            if off is not None:
                off.release()
            if on is not None:
                on.pulse(s.show_s)
            if self.buzzer is not None:
                self.buzzer.pulse(_RELEASE_BEEP_S if released else _REFUSE_BEEP_S)
        except HardwareError:  # closed while stopping, or a pin fault: never blocks a decision
            log.exception("goods gate %s: verdict outputs failed", s.name)

    def _scanner_error(self, error: HardwareError) -> None:
        self._counters.incr("scanner_errors")
        self._counters.incr(f"scanner_{getattr(error, 'reason', 'serial')}")

    # -- revocations (bridge thread) ---------------------------------------------------------------

    def _on_revocations(self, snapshot: SyncSnapshot) -> None:
        name = self.settings.name
        try:
            revocations = parse_revocations(snapshot)
        except ContractError as exc:
            self._counters.incr("snapshot_errors")
            log.error("goods gate %s: revocations v%d refused, keeping v%s: %s", name,
                      snapshot.version, self.ledger.revocations_version, exc)
            return
        try:
            applied = self.ledger.apply(revocations)
        except PassError:
            self._counters.incr("ledger_errors")
            log.exception("goods gate %s: revocations v%d not stored", name, snapshot.version)
            return
        if not applied:
            self._counters.incr("snapshots_ignored")
            log.info("goods gate %s: revocations v%d ignored, v%s in use", name, snapshot.version,
                     self.ledger.revocations_version)
            return
        self._counters.incr("snapshots_applied")
        log.info("goods gate %s: revocations v%d in use: %d revoked, %d used elsewhere", name,
                 revocations.version, len(revocations.revoked), len(revocations.used))


def _quietly(what: str, fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - stop() must get through every step
        log.exception("goods gate: stopping %s failed", what)
