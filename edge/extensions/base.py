"""What every extension is, and what the node gives it.

An extension is a small class with a ``name``, :meth:`Extension.start` (``ctx``) and an
idempotent :meth:`Extension.stop`. Extensions that own outputs also implement
:meth:`Extension.open_outputs`, which the node calls *before* ``node.started`` is journalled and
before any network activity, so outputs are in their declared safe state first.
:meth:`Extension.alive` reports whether its threads still run (for the systemd watchdog).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from mqtt_topics import EventEnvelope, SyncSnapshot

from ..counters import Counters, CounterRegistry

if TYPE_CHECKING:  # pragma: no cover
    from gpiozero.pins import Factory

    from hardware.serial_port import SerialLike

    from ..commands import CommandHandler
    from ..config import NodeConfig, ReaderSettings

__all__ = ["Extension", "NodeContext"]


@dataclass
class NodeContext:
    """What an extension may use. Built by :class:`edge.node.Node`.

    - ``emit(kind, data) -> EventEnvelope``: journal an event (durable on return) and wake the
      outbox pump. Raises ``ContractError`` for a bad kind/data, ``JournalError`` on disk errors.
    - ``publish_telemetry(device, values) -> bool``: QoS 0, not journalled; False if offline.
    - ``register_command(action, handler)``: run ``handler(envelope) -> dict | None`` for
      signed commands ``cmd/{action}``.
    - ``register_sync(dataset, handler)``: get each newer :class:`SyncSnapshot` of a dataset.
    - ``open_serial(reader) -> port``: opens a reader's port (the simulation replaces it).
    - ``gpio() -> Factory``: the node's one gpiozero pin factory, made the first time an
      extension asks (from ``pin_factory_source``); extensions never make or close their own.
    - ``clock``: UTC ms; ``monotonic``: seconds; ``pin_factory``: the gpiozero factory once made
      or given (``None`` until then; prefer :meth:`gpio`); ``config``: the :class:`NodeConfig`;
      ``counters``: per-extension counter groups; ``health_figures()``: the node's figures for
      health telemetry.
    """

    config: "NodeConfig"
    boot_id: str
    emit: Callable[[str, Mapping[str, Any]], EventEnvelope]
    publish_telemetry: Callable[[str, Mapping[str, Any]], bool]
    register_command: Callable[[str, "CommandHandler"], None]
    register_sync: Callable[[str, Callable[[SyncSnapshot], None]], None]
    open_serial: Callable[["ReaderSettings"], "SerialLike"]
    pin_factory: "Factory | None"
    counters: CounterRegistry
    health_figures: Callable[[], dict[str, Any]]
    clock: Callable[[], int]
    monotonic: Callable[[], float] = time.monotonic
    extras: dict[str, Any] = field(default_factory=dict)
    #: makes the node's pin factory on first use (the node owns and closes it); default: none.
    pin_factory_source: "Callable[[], Factory] | None" = None
    _gpio_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False,
                                       compare=False)

    def gpio(self) -> "Factory":
        """The node's gpiozero pin factory: ``pin_factory`` if given, else made once by
        ``pin_factory_source`` (the node closes it after every extension has stopped).

        :raises edge.errors.NodeError: neither was given."""
        with self._gpio_lock:
            if self.pin_factory is None:
                if self.pin_factory_source is None:
                    from ..errors import NodeError
                    raise NodeError("no pin factory: set [gpio] pin_factory")
                self.pin_factory = self.pin_factory_source()
            return self.pin_factory

    @property
    def node_id(self) -> str:
        return self.config.node_id

    @property
    def site(self) -> str:
        return self.config.site


class Extension:
    """Base class for node extensions (override what you need)."""

    #: Short name, used for logs and counter groups.
    name: str = "extension"

    def open_outputs(self, ctx: NodeContext) -> list[str]:
        """Create outputs in their declared safe state; return their descriptions for
        ``node.started`` (e.g. ``"relay strike: off"``). Called before :meth:`start` and before
        the network starts. Default: no outputs."""
        return []

    def start(self, ctx: NodeContext) -> None:
        """Start working (threads, callbacks). Called once."""

    def stop(self) -> None:
        """Stop working and release what was opened (outputs back to safe). Idempotent."""

    def alive(self) -> bool:
        """True while the extension's threads run (default: no threads, always True)."""
        return True

    def counters(self) -> Counters | None:
        """The extension's counters, if it keeps any."""
        return None

    def figures(self) -> Mapping[str, Any]:
        """Extra health figures (name -> number), merged into the node's health telemetry.
        Default: none."""
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
