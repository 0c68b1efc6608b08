"""Simulated wires, so the *real* reader and input code runs without hardware.

With ``[simulation] enabled = true`` the node asks this extension for its wiring before anything
else: a gpiozero ``MockFactory`` replaces the pin factory, and each ``[[readers]]`` port becomes
the slave side of a pty pair whose master side an :class:`~hardware.sim.Rdm6300Simulator` writes
real RDM6300 frames into. Then, once started, the simulated people do what ``activity`` says:

- ``idle``: nothing (tests drive :meth:`SimulationExtension.present` / :meth:`press` themselves);
- ``random``: a card from ``cards`` (random ones if empty) at a random reader every
  ``interval_ms`` +- 25 %, and now and then the first input toggles;
- ``burst``: ``count`` reads of *distinct* cards as fast as the reader takes them (the pty
  back-pressures the writer; distinct cards are never suppressed as repeats), then idle.

``seed`` (0 = random) makes the activity repeatable. Lifecycle: :meth:`open` (wiring) before the
node creates outputs, :meth:`start` / :meth:`stop` (activity) like any extension, :meth:`close`
(wiring) after every other extension has stopped.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import TYPE_CHECKING, Callable

from hardware.gpio import make_pin_factory
from hardware.serial_port import SerialLike, open_serial
from hardware.sim import PtyPair, Rdm6300Simulator
from hardware.sim import pins as sim_pins

from ..config import InputSettings, ReaderSettings, SimulationSettings
from ..counters import Counters
from ..errors import NodeError
from .base import Extension, NodeContext

if TYPE_CHECKING:  # pragma: no cover
    from gpiozero.pins import Factory

log = logging.getLogger(__name__)

_BURST_FRAMES_PER_WRITE = 32
_CARD_SPACE = 1 << 40


class SimulationExtension(Extension):
    """Simulated readers and pins for one node (see the module note)."""

    name = "simulation"

    def __init__(self, settings: SimulationSettings, *, readers: tuple[ReaderSettings, ...],
                 inputs: tuple[InputSettings, ...], pin_factory: "Factory | None" = None) -> None:
        self.settings = settings
        self._readers = readers
        self._inputs = inputs
        seed = settings.seed or random.SystemRandom().randrange(1, 2**31)
        self.seed = seed
        self._rng = random.Random(seed)
        self._given_factory = pin_factory
        self._factory: "Factory | None" = pin_factory
        self._ptys: dict[str, PtyPair] = {}
        # readers that have opened their side: pyserial flushes the tty's input buffer on open,
        # so frames written before that would be lost
        self._opened: set[str] = set()
        self._opened_cond = threading.Condition()
        self._sims: dict[str, Rdm6300Simulator] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._counters = Counters(["presented", "toggles"])
        self._pressed = False
        self.burst_done = threading.Event()

    # -- wiring ---------------------------------------------------------------------------------

    def open(self) -> "SimulationExtension":
        """Create the mock pin factory (unless one was given) and a pty pair per reader."""
        if self._factory is None:
            self._factory = make_pin_factory("mock")
        for r in self._readers:
            if r.name not in self._ptys:
                pty = PtyPair().open()
                self._ptys[r.name] = pty
                self._sims[r.name] = Rdm6300Simulator(pty.write)
                log.info("simulation: reader %s wired to %s", r.name, pty.device_path)
        return self

    @property
    def pin_factory(self) -> "Factory":
        if self._factory is None:
            raise NodeError("simulation wiring is not open")
        return self._factory

    def open_serial(self, reader: ReaderSettings) -> SerialLike:
        """The simulated port of ``reader`` (the pty's slave side), opened like a real one."""
        pty = self._ptys.get(reader.name)
        if pty is None:
            raise NodeError(f"simulation: no simulated port for reader {reader.name!r}")
        port = open_serial(pty.device_path, baudrate=reader.baud)
        with self._opened_cond:
            self._opened.add(reader.name)
            self._opened_cond.notify_all()
        return port

    def wait_port_open(self, reader: str | None = None, *, timeout_s: float = 5.0) -> bool:
        """Block until ``reader`` (default: every reader) has opened its simulated port; False
        on timeout or when the simulation stops."""
        names = {reader} if reader is not None else set(self._ptys)
        with self._opened_cond:
            return self._opened_cond.wait_for(
                lambda: names <= self._opened or self._stop.is_set(), timeout_s) \
                and names <= self._opened

    def close(self) -> None:
        """Close the pty pairs and the mock factory we made. Idempotent."""
        self.stop()
        for pty in self._ptys.values():
            pty.close()
        self._ptys.clear()
        self._sims.clear()
        if self._factory is not None and self._given_factory is None:
            self._factory.close()
        self._factory = self._given_factory

    # -- what people do ---------------------------------------------------------------------------

    def present(self, card_hex: str, *, reader: str | None = None, repeats: int = 1) -> None:
        """Hold ``card_hex`` (10 hex digits) to ``reader`` (default: the first one)."""
        sim = self._sim(reader)
        with self._write_lock:
            sim.present(card_hex, repeats=repeats)
        self._counters.incr("presented")

    def simulator(self, reader: str | None = None) -> Rdm6300Simulator:
        """The RDM6300 simulator wired to ``reader`` (default: the first), for frames beyond
        :meth:`present` (bad checksums, truncated frames)."""
        return self._sim(reader)

    def write_raw(self, data: bytes, *, reader: str | None = None) -> None:
        """Put raw bytes on a reader's line (noise, broken frames)."""
        sim = self._sim(reader)
        with self._write_lock:
            sim.garbage(data)

    def press(self, name: str | None = None) -> None:
        """Make an input (default: the first) active."""
        s = self._input(name)
        sim_pins.press(self.pin_factory, s.pin, pull_up=s.pull_up)

    def release(self, name: str | None = None) -> None:
        """Make an input (default: the first) inactive."""
        s = self._input(name)
        sim_pins.release(self.pin_factory, s.pin, pull_up=s.pull_up)

    def _sim(self, reader: str | None) -> Rdm6300Simulator:
        if not self._sims:
            raise NodeError("simulation: no simulated reader")
        name = reader if reader is not None else next(iter(self._sims))
        if not self.wait_port_open(name):
            raise NodeError(f"simulation: reader {name!r} never opened its port")
        return self._sims[name]

    def _input(self, name: str | None) -> InputSettings:
        for s in self._inputs:
            if name is None or s.name == name:
                return s
        raise NodeError(f"simulation: no input {name!r}")

    # -- activity ---------------------------------------------------------------------------------

    def start(self, ctx: NodeContext) -> None:
        activity = self.settings.activity
        if activity == "idle":
            return
        target = self._random if activity == "random" else self._burst
        self._thread = threading.Thread(target=self._guarded, args=(target,),
                                        name=f"simulation-{activity}", daemon=True)
        self._thread.start()
        log.info("simulation: %s activity, seed %d", activity, self.seed)

    def _guarded(self, target: Callable[[], None]) -> None:
        try:
            target()
        except Exception:  # noqa: BLE001 - e.g. the pty closed under us during shutdown
            if not self._stop.is_set():
                log.exception("simulation: activity stopped")

    def _random(self) -> None:
        s = self.settings
        names = list(self._sims)
        if not self.wait_port_open(timeout_s=30):
            return
        while True:
            wait = s.interval_ms / 1000.0 * self._rng.uniform(0.75, 1.25)
            if self._stop.wait(wait):
                return
            card = (self._rng.choice(s.cards) if s.cards
                    else f"{self._rng.randrange(_CARD_SPACE):010X}")
            self.present(card, reader=self._rng.choice(names))
            if self._inputs and self._rng.random() < 0.25:
                (self.release if self._pressed else self.press)(None)
                self._pressed = not self._pressed
                self._counters.incr("toggles")

    def _burst(self) -> None:
        from hardware.readers import encode_frame
        s = self.settings
        base = self._rng.randrange(_CARD_SPACE)
        sim_name = next(iter(self._sims))
        pty = self._ptys[sim_name]
        if not self.wait_port_open(sim_name, timeout_s=30):
            return
        i = 0
        while i < s.count and not self._stop.is_set():
            n = min(_BURST_FRAMES_PER_WRITE, s.count - i)
            chunk = b"".join(encode_frame(f"{(base + i + k) % _CARD_SPACE:010X}") for k in range(n))
            with self._write_lock:
                pty.write(chunk)  # blocks while the reader is behind: the pty back-pressures
            i += n
            self._counters.incr("presented", n)
        log.info("simulation: burst of %d distinct cards written", i)
        self.burst_done.set()

    def alive(self) -> bool:
        return self._thread is None or self._thread.is_alive() or self._stop.is_set() \
            or self.burst_done.is_set()

    def stop(self) -> None:
        self._stop.set()
        with self._opened_cond:
            self._opened_cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def counters(self) -> Counters:
        return self._counters
