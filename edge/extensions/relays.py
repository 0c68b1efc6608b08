"""Relay outputs: created in their declared safe state before anything else, pulsed by the
signed command ``relay.pulse`` ``{"relay": name, "seconds": s}`` (``0 < s <= max_pulse_s``),
which journals ``relay.pulsed`` ``{relay, seconds, cmd_id}``."""

from __future__ import annotations

import logging
import math
from typing import Any

from hardware.gpio import Relay
from mqtt_topics import CommandEnvelope

from ..config import RelaySettings
from ..counters import Counters
from ..errors import CommandArgumentError
from .base import Extension, NodeContext

log = logging.getLogger(__name__)

PULSE_ACTION = "relay.pulse"
PULSED_KIND = "relay.pulsed"


class RelaysExtension(Extension):
    """One :class:`hardware.gpio.Relay` per ``[[relays]]`` entry."""

    name = "relays"

    def __init__(self, settings: tuple[RelaySettings, ...]) -> None:
        self._settings = {s.name: s for s in settings}
        self.relays: dict[str, Relay] = {}
        self._ctx: NodeContext | None = None
        self._counters = Counters(["pulses"])

    def open_outputs(self, ctx: NodeContext) -> list[str]:
        out = []
        for s in self._settings.values():
            if s.name in self.relays:
                continue
            self.relays[s.name] = Relay(
                s.pin, name=s.name, pin_factory=ctx.gpio(), active_high=s.active_high,
                safe_state=s.safe_state)  # type: ignore[arg-type]
            out.append(f"relay {s.name}: {s.safe_state}")
            log.info("relay %s on pin %s in its safe state (%s)", s.name, s.pin, s.safe_state)
        return out

    def start(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        if self._settings:
            ctx.register_command(PULSE_ACTION, self.handle_pulse)

    def handle_pulse(self, cmd: CommandEnvelope) -> dict[str, Any]:
        """The ``relay.pulse`` handler."""
        assert self._ctx is not None
        name = cmd.args.get("relay")
        seconds = cmd.args.get("seconds")
        if not isinstance(name, str) or name not in self.relays:
            raise CommandArgumentError(f"unknown relay {name!r}; this node has {sorted(self.relays)}")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not math.isfinite(seconds) or seconds <= 0:
            raise CommandArgumentError(f"seconds must be a number > 0, got {seconds!r}")
        limit = self._settings[name].max_pulse_s
        if seconds > limit:
            raise CommandArgumentError(f"relay {name}: {seconds} s is longer than max_pulse_s ({limit:g} s)")
        self.relays[name].pulse(float(seconds))
        self._counters.incr("pulses")
        self._ctx.emit(PULSED_KIND, {"relay": name, "seconds": seconds, "cmd_id": cmd.cmd_id})
        return {"relay": name, "seconds": seconds}

    def stop(self) -> None:
        for relay in self.relays.values():
            try:
                relay.close()  # back to the safe state, then the pin is released
            except Exception:  # noqa: BLE001
                log.exception("relay %s: close failed", relay.name)

    def counters(self) -> Counters:
        return self._counters
