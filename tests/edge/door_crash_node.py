"""A door node as a child process for the crash test (test_door_crash_safe.py).

    python door_crash_node.py NODE_TOML LOCK_PIN

Runs the real :class:`edge.node.Node` from the TOML file (with its ``[door]`` table) on a
``MockFactory`` whose pins report every level change of ``LOCK_PIN``, and prints JSON lines on
stdout (flushed) for the test to read:

- ``{"boot": {"boot_id", "lock_level", "network_threads"}}``: printed by an extension started
  after the door's, i.e. after the outputs were opened and before the node starts any network
  thread: the lock pin's level at that moment, and which network threads exist (none);
- ``{"lock_level": bool}``: every later change of the lock pin's level;
- ``{"ready": boot_id}``: the MQTT bridge is connected and subscribed (commands arrive).

SIGTERM stops the node cleanly; SIGKILL is what the test sends.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin

from edge.config import load_config
from edge.extensions import Extension, NodeContext
from edge.node import Node

_print_lock = threading.Lock()


def say(obj: dict[str, Any]) -> None:
    with _print_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def reporting_pin_class(lock_pin: int) -> type[MockPin]:
    class ReportingPin(MockPin):
        """A MockPin that prints the lock pin's level changes."""

        def _change_state(self, value: bool) -> bool:
            changed = super()._change_state(value)
            if changed and self.info.name == f"GPIO{lock_pin}" and getattr(self, "_reporting", False):
                say({"lock_level": bool(value)})
            return changed
    return ReportingPin


class BootWitness(Extension):
    """Reports the lock pin at extension start: before the outbox pump and the MQTT bridge run."""

    name = "boot-witness"

    def __init__(self, factory: MockFactory, lock_pin: int) -> None:
        self.factory = factory
        self.lock_pin = lock_pin

    def start(self, ctx: NodeContext) -> None:
        pin = self.factory.pin(self.lock_pin)
        network = [t.name for t in threading.enumerate()
                   if t.name.startswith("paho") or t.name == "outbox-pump"]
        say({"boot": {"boot_id": ctx.boot_id, "lock_level": bool(pin.state),
                      "network_threads": network}})
        pin._reporting = True          # from now on every change is printed


def main(argv: list[str]) -> int:
    config = load_config(argv[0])
    lock_pin = int(argv[1])
    factory = MockFactory(pin_class=reporting_pin_class(lock_pin))
    node = Node(config, pin_factory=factory, extensions=[BootWitness(factory, lock_pin)])
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    node.start()
    if node.bridge is not None and node.bridge.wait_ready(20):
        say({"ready": node.boot_id})
    while not done.wait(1.0):
        pass
    node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
