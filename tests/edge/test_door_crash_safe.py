"""A crash of the node process never leaves a door unlocked: a door node (a child process, the
real Node from a node.toml with a [door] table) is unlocked by a signed ``door.unlock``, killed
with SIGKILL while the strike is energised, and restarted: the lock pin is back in its safe
(locked) level before any network thread exists, ``node.started`` lists the lock's safe state
first thing in the new boot's journal, and the door reports itself locked.

What this proves, and what protects a real Pi: under MockFactory the pins die with the process,
so this test shows the *software* half: the very first thing a (re)started node does, before
the journal replays, before MQTT, is drive the lock to its locked level (``open_outputs``), so a
crash-and-restart (systemd ``Restart=always``) can only ever re-lock. What the pin does in the
window between the kill and the restart is hardware and kernel: when the process dies the kernel
releases its lgpio/gpiochip line handles. Upstream pinctrl drivers return a released line to an
input, and then the relay board's input resistor (pull-down on an active-high board, pull-up on an
active-low one) holds the relay de-energised: a fail-secure strike (unpowered = locked) stays
locked. Raspberry Pi OS kernels by default keep a released output driving its last level
(raspberrypi/linux#6117, #6150: the ``strict_gpiod`` option), so on a Pi that must be turned on,
or the strike driven through a watchdog/keep-alive relay, or the restart window accepted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from edge_helpers import REPO, SITE, config_dict, command, events, to_toml
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe
from mqtt_topics import topics as T

LOCK = 22
#: An active-low relay board (common): the strike is energised by a LOW pin, so "locked" is a HIGH
#: pin, which a fresh mock pin (low) is not: the boot checks below can only pass if the node
#: drove the pin to its safe level itself.
LOCKED, ENERGISED = True, False
CHILD = Path(__file__).with_name("door_crash_node.py")
DOOR_TOML = """
[door]
id = "lobby"
fail_mode = "fail_secure"
unlock_s = 5
cache = "credentials.json"
lock = {pin = %d, active_high = false}
inputs = {contact = {pin = 17}}
readers = [{name = "lobby-in", kind = "wiegand", d0 = 5, d1 = 6, direction = "in"}]
""" % LOCK


class DoorChild:
    """door_crash_node.py as a child process; its JSON stdout lines collected by a thread.
    Stopped only by its own PID."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.lines: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self.proc: subprocess.Popen | None = None
        self.stderr = config.with_suffix(".stderr")

    def start(self) -> "DoorChild":
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(CHILD.parent)]))
        with self.stderr.open("ab") as err:
            self.proc = subprocess.Popen([sys.executable, str(CHILD), str(self.config), str(LOCK)],
                                         cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        return self

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            with self._cond:
                self.lines.append(json.loads(raw))
                self._cond.notify_all()
        proc.stdout.close()

    def wait_line(self, key: str, timeout_s: float = 20.0, *, value: Any = None) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((x for x in self.lines if key in x and (value is None or x[key] == value)),
                        None)
        with self._cond:
            ok = self._cond.wait_for(lambda: found() is not None, timeout_s)
            assert ok, (key, self.lines, self.stderr.read_text(errors="replace")[-3000:])
            line = found()
            assert line is not None
            return line

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def children() -> Iterator[list[DoorChild]]:
    procs: list[DoorChild] = []
    yield procs
    for p in procs:
        p.kill()


def test_sigkill_while_unlocked_restarts_locked_before_any_network(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        children: list[DoorChild]) -> None:
    config = tmp_path / "node.toml"
    config.write_text(to_toml(config_dict(broker, tmp_path)) + DOOR_TOML)

    first = DoorChild(config).start()
    children.append(first)
    boot1 = first.wait_line("boot")["boot"]
    assert boot1["lock_level"] is LOCKED                      # fail-secure strike: unpowered
    first.wait_line("ready", value=boot1["boot_id"])
    cmd = command("lobby", "door.unlock", int(time.time() * 1000), args={"seconds": 60})
    assert console.publish(T.command(SITE, "lobby", "door.unlock"), cmd.to_json())
    first.wait_line("lock_level", value=ENERGISED)                 # the strike is energised ...
    first.kill()                                              # ... and the node dies: SIGKILL
    assert first.proc is not None and first.proc.returncode == -signal.SIGKILL

    second = DoorChild(config).start()
    children.append(second)
    boot2 = second.wait_line("boot")["boot"]
    assert boot2["boot_id"] != boot1["boot_id"]
    assert boot2["lock_level"] is LOCKED                      # locked again ...
    assert boot2["network_threads"] == []                     # ... before any network activity

    def boot2_events(ms: list) -> list:
        return [e for e in events(ms) if e.boot_id == boot2["boot_id"]]
    assert probe.wait_for(lambda ms: any(e.kind == "door.state" for e in boot2_events(ms)),
                          timeout_s=20)
    new = sorted(boot2_events(probe.messages), key=lambda e: e.seq)
    assert new[0].kind == "node.started"                      # first in the new boot's journal
    assert new[0].data["safe_outputs"] == ["door lobby lock (fail_secure): off"]
    state = next(e for e in new if e.kind == "door.state")
    assert (state.data["state"], state.data["locked"]) == ("locked", True)
    assert not [x for x in second.lines if x.get("lock_level") is ENERGISED]
    second.terminate()
