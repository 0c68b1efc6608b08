"""The ``goods_gate`` extension: a gate guard scans a goods pass (物品持出证), the node verifies
it offline and shows the verdict at once, the guard looks at the goods and presses "release" or
"deny".

A scan (the scanner's thread) is checked, in this order:

1. :class:`~edge.passes.PassVerifier`: the QR text parses (``unreadable``), names this site and
   carries the site's Ed25519 signature (``forged``: tampered, another key, or another site);
2. :class:`~edge.passes.PassLedger`: not cancelled per the last ``sync/pass-revocations``
   snapshot (``revoked``), not released before at this gate or, per that snapshot, at another
   (``already_used``);
3. the validity window on the node clock (``not_yet_valid``, ``expired``).

A pass that fails lights red with a long beep and is journalled at once as
``goods_pass.rejected`` {reason}; a ``forged`` one also raises the ``goods_pass.forged`` alarm
(the console raises alarms by kind). A pass that passes lights green (held) with a short beep and
waits for the guard (:class:`~edge.passes.pending.PendingPass`), at most ``decision_timeout_s``
(default 60 s):

- "release" (``release_pin``): the pass is recorded in the ledger as used here (durable, SQLite
  ``synchronous=FULL``) *then* ``goods_pass.released`` is journalled; green stays lit ``show_s``.
  A pass revoked by a snapshot that arrived while it waited is rejected (``revoked``) instead;
- "deny" (``deny_pin``): ``goods_pass.denied`` reason ``guard``; red;
- neither in time: ``goods_pass.denied`` reason ``timeout``; red. Nothing is recorded as used;
- another pass scanned meanwhile: the waiting one is ``goods_pass.denied`` reason ``superseded``
  (the same pass scanned again only shows green again);
- the ledger cannot be written at release: ``goods_pass.denied`` reason ``ledger_error``, red
  (a node fault: the pass was not marked used, so it is not let out). A ledger that cannot be read
  at the scan rejects the pass with reason ``ledger_error`` for the same reason.

Events reach the console whenever the broker is reachable (journal + outbox); the decision never
waits for it. Each gate keeps its own ledger, so two gates offline can each release a pass once;
the console sees both ``goods_pass.released`` events and flags the double use, and lists
released ids as ``used`` in the next revocations snapshot so every gate then refuses them.

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
from hardware.gpio import DigitalInput, Relay
from hardware.readers.scanner import ScannerReader, ScanRead
from mqtt_topics import ContractError, SyncSnapshot
from mqtt_topics.passes import REVOCATIONS_DATASET, GoodsPassToken, parse_revocations

from ..config import GoodsGateSettings, ReaderSettings
from ..counters import Counters, LatencyWindow
from ..passes import PassError, PassLedger, PassVerifier
from ..passes.pending import Pending, PendingPass
from .base import Extension, NodeContext

log = logging.getLogger(__name__)

RELEASED_KIND = "goods_pass.released"
DENIED_KIND = "goods_pass.denied"
REJECTED_KIND = "goods_pass.rejected"
#: The alarm raised alongside ``goods_pass.rejected`` when the reason is ``forged``.
FORGED_KIND = "goods_pass.forged"
#: The verdict of a scan that passed every check (green, waiting for the guard).
VALID = "valid"
#: Released passes whose validity ended more than this long ago are pruned at start (ms).
PRUNE_AFTER_MS = 24 * 3600 * 1000
_SHORT_BEEP_S = 0.1
_LONG_BEEP_S = 0.6


class GoodsGateExtension(Extension):
    """A goods-pass gate (see the module docstring).

    ``on_verdict(verdict, event_data)``: optional hook called in the scanner thread after each
    scan's verdict is shown (``"valid"`` or a rejection reason) and journalled (benches, demos).
    Attributes after :meth:`start`: ``ledger``, ``verifier``, ``scanner``, ``pending``,
    ``release_button``/``deny_button``, ``green``/``red``/``buzzer`` (or None),
    ``verdict_latency`` (line received -> verdict shown, ms)."""

    name = "goods_gate"

    def __init__(self, settings: GoodsGateSettings, *,
                 on_verdict: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.settings = settings
        self.on_verdict = on_verdict
        self.ledger = PassLedger(settings.ledger)
        self.verifier: PassVerifier | None = None
        self.scanner: ScannerReader | None = None
        self.pending: PendingPass | None = None
        self.release_button: DigitalInput | None = None
        self.deny_button: DigitalInput | None = None
        self.green: Relay | None = None
        self.red: Relay | None = None
        self.buzzer: Relay | None = None
        self.verdict_latency = LatencyWindow()
        self._ctx: NodeContext | None = None
        self._stopped = False
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._timer: threading.Thread | None = None
        self._counters = Counters(["scans", "valid", "released", "denied", "rejected", "forged",
                                   "timeouts", "rescans", "idle_presses", "scanner_errors",
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
            setattr(self, attr, Relay(pin, name=f"{s.name}-{attr}", pin_factory=ctx.gpio(),
                                      active_high=s.active_high, safe_state="off"))
            out.append(f"goods gate {s.name} {attr}: off")
        return out

    def start(self, ctx: NodeContext) -> None:
        s = self.settings
        self._ctx = ctx
        self.verifier = PassVerifier(s.public_key, site=ctx.site, clock=ctx.clock)
        self.pending = PendingPass(timeout_s=s.decision_timeout_s, monotonic=ctx.monotonic)
        self.ledger.open()
        try:
            pruned = self.ledger.prune(before_ms=ctx.clock() - PRUNE_AFTER_MS)
        except PassError:
            pruned = 0
            self._counters.incr("ledger_errors")
            log.exception("goods gate %s: could not prune the ledger", s.name)
        ctx.register_sync(REVOCATIONS_DATASET, self._on_revocations)
        for attr, pin, handler in (("release_button", s.release_pin, self.release),
                                   ("deny_button", s.deny_pin, self.deny)):
            if pin is not None:
                setattr(self, attr, DigitalInput(
                    pin, name=f"{s.name}-{attr.split('_')[0]}", pin_factory=ctx.gpio(),
                    pull_up=s.buttons_pull_up, bounce_s=0.02,
                    on_change=lambda _name, active, h=handler: h() if active else None))
        self._timer = threading.Thread(target=self._run_timer, name=f"goods-gate-{s.name}",
                                       daemon=True)
        self._timer.start()
        port = ReaderSettings(name=s.name, port=s.scanner_port, kind="scanner", baud=s.scanner_baud)
        self.scanner = ScannerReader(None, name=s.name, on_scan=self._scan, on_error=self._scanner_error,
                                     terminator=s.terminator, max_line=s.max_line,  # type: ignore[arg-type]
                                     clock=ctx.monotonic, repeat_window_s=s.repeat_window_s,
                                     reopen=lambda: ctx.open_serial(port)).start()
        counts = self.ledger.counts()
        log.info("goods gate %s: scanner on %s, buttons release=%s deny=%s (timeout %.0f s), "
                 "revocations v%s (%d revoked), %d released here (%d pruned)", s.name,
                 s.scanner_port, s.release_pin, s.deny_pin, s.decision_timeout_s,
                 self.ledger.revocations_version, counts["revoked"], counts["released"], pruned)

    def stop(self) -> None:
        """Scanner and buttons off, outputs off, ledger closed. A pass still waiting for the guard
        is left undecided (nothing is journalled for it; it was not marked used). Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._wake.notify_all()
        if self.scanner is not None:
            _quietly("scanner", self.scanner.close)
        for button in (self.release_button, self.deny_button):
            if button is not None:
                _quietly(f"button {button.name}", button.close)
        if self._timer is not None:
            self._timer.join(timeout=5)
        for relay in (self.green, self.red, self.buzzer):
            if relay is not None:
                _quietly(f"output {relay.name}", relay.close)
        _quietly("ledger", self.ledger.close)

    def alive(self) -> bool:
        timer_ok = self._timer is None or self._timer.is_alive() or self._stopped
        return timer_ok and (self.scanner is None or self.scanner.alive)

    def counters(self) -> Counters:
        return self._counters

    # -- scans (scanner thread) ------------------------------------------------------------------

    def decide(self, code: str) -> tuple[str, GoodsPassToken | None, dict[str, Any]]:
        """The verdict on ``code``: ``(verdict, token, event data)``, where ``verdict`` is
        ``"valid"`` or a rejection reason. Shows, records and journals nothing."""
        assert self._ctx is not None and self.verifier is not None
        now = self._ctx.clock()
        check = self.verifier.parse(code)
        reason, token, detail = check.reason, check.token, check.detail
        if check.ok and token is not None:
            try:
                used = self.ledger.status(token.pass_id)
            except PassError as exc:
                self._counters.incr("ledger_errors")
                log.error("goods gate %s: ledger failed, pass %s rejected: %s", self.settings.name,
                          token.pass_id, exc)
                reason, detail = "ledger_error", str(exc)[:200]
            else:
                if used is not None:
                    reason, detail = used, ""
                else:
                    window = self.verifier.window(token, now)
                    reason, detail = window.reason, window.detail
        verdict = VALID if reason == "ok" else reason
        data: dict[str, Any] = {"gate": self.settings.name, "pass_id": None, "unit": None,
                                "items": None, "valid_from": None, "valid_until": None}
        if token is not None:
            fields = token.to_dict()
            data.update({k: fields[k] for k in ("pass_id", "unit", "items", "valid_from", "valid_until")})
            if verdict == VALID:
                data["items_digest"] = fields["items_digest"]
        if verdict != VALID:
            data["reason"] = verdict
            data["detail"] = detail[:200]
        return verdict, token, data

    def _scan(self, read: ScanRead) -> None:
        started = time.perf_counter()
        self._counters.incr("scans")
        verdict, token, data = self.decide(read.code)
        superseded: Pending | None = None
        with self._lock:
            assert self.pending is not None
            waiting = self.pending.current
            if verdict == VALID and token is not None and waiting is not None \
                    and waiting.pass_id == token.pass_id:
                self._show_waiting()                  # the same pass again: keep waiting
                self.verdict_latency.add((time.perf_counter() - started) * 1000)
                self._counters.incr("rescans")
                return
            if verdict == VALID and token is not None:
                superseded = self.pending.offer(token, data)
                self._show_waiting()
                self._wake.notify_all()
            else:
                superseded = self.pending.take()
                self._show_refused()
        self.verdict_latency.add((time.perf_counter() - started) * 1000)
        if superseded is not None:
            self._deny(superseded, "superseded")
        if verdict == VALID:
            self._counters.incr("valid")
            log.info("goods gate %s: pass %s valid, waiting for the guard", self.settings.name,
                     data["pass_id"])
        else:
            self._reject(data)
        if self.on_verdict is not None:
            self.on_verdict(verdict, data)

    # -- the guard's buttons (pin thread) and the timeout (timer thread) --------------------------

    def release(self) -> None:
        """The guard's "release": mark the waiting pass used in the ledger, then journal
        ``goods_pass.released``. Nothing waiting: counted (``idle_presses``) and ignored."""
        with self._lock:
            assert self.pending is not None
            waiting = self.pending.take()
            if waiting is None:
                self._counters.incr("idle_presses")
                log.info("goods gate %s: release pressed with no pass waiting", self.settings.name)
                return
            outcome = self._claim(waiting)
            if outcome == "released":
                self._show_released()
            else:
                self._show_refused()
        if outcome == "released":
            self._counters.incr("released")
            log.info("goods gate %s: pass %s released", self.settings.name, waiting.pass_id)
            self._emit(RELEASED_KIND, dict(waiting.data))
        elif outcome == "ledger_error":
            self._deny(waiting, "ledger_error")
        else:
            self._reject({**waiting.data, "reason": outcome, "detail": "at release"})

    def deny(self) -> None:
        """The guard's "deny": ``goods_pass.denied`` reason ``guard`` for the waiting pass."""
        with self._lock:
            assert self.pending is not None
            waiting = self.pending.take()
            if waiting is None:
                self._counters.incr("idle_presses")
                log.info("goods gate %s: deny pressed with no pass waiting", self.settings.name)
                return
            self._show_refused()
        self._deny(waiting, "guard")

    def _claim(self, waiting: Pending) -> str:
        """Under the lock: ``released`` (recorded), ``revoked`` / ``already_used`` (since the
        scan) or ``ledger_error``."""
        assert self._ctx is not None
        token = waiting.token
        try:
            status = self.ledger.status(token.pass_id)
            if status is not None:
                return status
            claimed = self.ledger.claim(token.pass_id, at_ms=self._ctx.clock(),
                                        valid_until_ms=token.valid_until_ms)
        except PassError as exc:
            self._counters.incr("ledger_errors")
            log.error("goods gate %s: ledger failed, pass %s not released: %s", self.settings.name,
                      token.pass_id, exc)
            return "ledger_error"
        return "released" if claimed else "already_used"

    def _run_timer(self) -> None:
        while True:
            with self._lock:
                if self._stopped:
                    return
                assert self.pending is not None
                left = self.pending.seconds_left()
                if left is None or left > 0:
                    self._wake.wait(left)
                if self._stopped:
                    return
                expired = self.pending.expire()
                if expired is not None:
                    self._show_refused()
            if expired is not None:
                self._counters.incr("timeouts")
                self._deny(expired, "timeout")

    # -- verdicts ---------------------------------------------------------------------------------

    def _deny(self, waiting: Pending, reason: str) -> None:
        self._counters.incr("denied")
        log.info("goods gate %s: pass %s denied (%s)", self.settings.name, waiting.pass_id, reason)
        data = {k: v for k, v in waiting.data.items() if k != "items_digest"}
        self._emit(DENIED_KIND, {**data, "reason": reason})

    def _reject(self, data: dict[str, Any]) -> None:
        self._counters.incr("rejected")
        forged = data["reason"] == "forged"
        log.log(logging.WARNING if forged else logging.INFO, "goods gate %s: pass %s rejected: %s%s",
                self.settings.name, data["pass_id"], data["reason"],
                f" ({data['detail']})" if data.get("detail") else "")
        self._emit(REJECTED_KIND, data)
        if forged:
            self._counters.incr("forged")
            self._emit(FORGED_KIND, data)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        try:
            assert self._ctx is not None
            self._ctx.emit(kind, data)
        except Exception:  # noqa: BLE001 - logged loudly and counted; the gate keeps working
            self._counters.incr("emit_errors")
            log.exception("goods gate %s: could not journal %s %s", self.settings.name, kind, data)

    def _show_waiting(self) -> None:
        """Green held (until the guard decides), red off, a short beep."""
        self._outputs(lambda: (self.red and self.red.release(), self.green and self.green.energise(),
                               self.buzzer and self.buzzer.pulse(_SHORT_BEEP_S)))

    def _show_released(self) -> None:
        """Green for ``show_s`` (the hold ends: a pulse on a held relay would be absorbed), a
        short beep."""
        self._outputs(lambda: (self.red and self.red.release(), self.green and self.green.release(),
                               self.green and self.green.pulse(self.settings.show_s),
                               self.buzzer and self.buzzer.pulse(_SHORT_BEEP_S)))

    def _show_refused(self) -> None:
        """Red for ``show_s``, green off, a long beep."""
        self._outputs(lambda: (self.green and self.green.release(),
                               self.red and self.red.pulse(self.settings.show_s),
                               self.buzzer and self.buzzer.pulse(_LONG_BEEP_S)))

    def _outputs(self, apply: Callable[[], object]) -> None:
        try:
            apply()
        except HardwareError:  # closed while stopping, or a pin fault: never blocks a decision
            log.exception("goods gate %s: verdict outputs failed", self.settings.name)

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
