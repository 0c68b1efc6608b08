"""Supervised digital inputs: every change journals ``input.changed`` ``{input, active}``."""

from __future__ import annotations

import logging

from hardware.gpio import DigitalInput

from ..config import InputSettings
from ..counters import Counters
from .base import Extension, NodeContext

log = logging.getLogger(__name__)

CHANGED_KIND = "input.changed"


class InputsExtension(Extension):
    """One :class:`hardware.gpio.DigitalInput` per ``[[inputs]]`` entry."""

    name = "inputs"

    def __init__(self, settings: tuple[InputSettings, ...]) -> None:
        self._settings = settings
        self.inputs: dict[str, DigitalInput] = {}
        self._ctx: NodeContext | None = None
        self._counters = Counters(["changes", "emit_errors"])

    def start(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        for s in self._settings:
            self.inputs[s.name] = DigitalInput(
                s.pin, name=s.name, pin_factory=ctx.gpio(), pull_up=s.pull_up,
                bounce_s=(s.bounce_ms / 1000.0) if s.bounce_ms else None, on_change=self._changed)

    def _changed(self, name: str, active: bool) -> None:
        assert self._ctx is not None
        self._counters.incr("changes")
        try:
            self._ctx.emit(CHANGED_KIND, {"input": name, "active": active})
        except Exception:  # noqa: BLE001 - logged and counted; the input keeps working
            self._counters.incr("emit_errors")
            log.exception("input %s: could not journal the change", name)

    def stop(self) -> None:
        for device in self.inputs.values():
            device.close()

    def counters(self) -> Counters:
        return self._counters
