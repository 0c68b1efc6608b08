"""``lobbygate demo``: a whole site on one machine, and its self-check.

It starts, for real: a Mosquitto broker (generated config with passwords and an ACL by user
name, on a free loopback port), the console (``lobbygate console`` as a child process served by
waitress), and two nodes — a lobby door and a compound gate — whose wires are simulated at the
lowest layer (pty pairs carrying RDM6300 frames, gpiozero mock pins) so the production reader,
journal and MQTT code runs above them. It prints the console's address and the admin log-in it
created (a fresh random password; there is no default one). Ctrl-C (or SIGTERM) stops
everything it started, by PID.

``lobbygate demo --check`` does the same headless, drives one scripted scenario through every
device kind the nodes have (card readers, inputs, relays via a signed command, a refused unsigned
command), then exits 0 only if every event the nodes journaled is in the console's store exactly
once, and prints one summary line.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from edge.config import NodeConfig, parse_config
from edge.node import Node
from firmware.mosquitto import MosquittoBroker, free_port
from firmware.probe import MqttProbe, wait_until
from mqtt_topics import CommandEnvelope, CommandResult
from mqtt_topics import topics as T

log = logging.getLogger("lobbygate.demo")

SITE = "demo"
ADMIN = "admin"


@dataclass(frozen=True)
class DemoNode:
    """One simulated node: its reader, inputs (name, BCM pin) and relays (name, BCM pin)."""

    node_id: str
    reader: str
    inputs: tuple[tuple[str, int], ...]
    relays: tuple[tuple[str, int], ...]
    cards: tuple[str, ...]


NODES: tuple[DemoNode, ...] = (
    DemoNode("lobby", "lobby-in", (("door-contact", 17), ("exit-button", 27)), (("strike", 22),),
             ("0A00B1C2D3", "0A00B1C2D4", "0A00B1C2E7", "1F00000001")),
    DemoNode("gate", "gate-in", (("gate-contact", 17),), (("barrier", 22),),
             ("0A00B1C2D3", "2B00C0FFEE", "2B00C0FFEF")),
)


def _write_secret(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


class DemoSite:
    """Everything the demo runs, under ``directory``.

    ``http_port``: the console's port (0 = a free one); ``activity``: the simulated people —
    ``"random"`` (a card now and then, default) or ``"idle"`` (only what :meth:`run_check`
    does); ``interval_ms``: mean time between random card reads (default 4000).
    The constructor does no I/O; :meth:`start` does it all, :meth:`stop` undoes it (idempotent).
    """

    def __init__(self, directory: Path, *, http_port: int = 0, activity: str = "random",
                 interval_ms: int = 4000) -> None:
        self.directory = Path(directory)
        self.http_port = http_port
        self.activity = activity
        self.interval_ms = interval_ms
        self.admin_password = secrets.token_urlsafe(12)
        self.node_keys = {n.node_id: secrets.token_bytes(32) for n in NODES}
        self.broker = MosquittoBroker(directory=self.directory / "broker", site=SITE,
                                      nodes=[n.node_id for n in NODES])
        self.console: subprocess.Popen[bytes] | None = None
        self.nodes: dict[str, Node] = {}
        self._stopped = False

    # -- configuration ---------------------------------------------------------------------
    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def _console_toml(self) -> Path:
        d = self.directory
        _write_secret(d / "console" / "secret.key", secrets.token_hex(32))
        _write_secret(d / "console" / "mqtt.password", self.broker.accounts["console"].password)
        nodes = ""
        for n in NODES:
            key_file = _write_secret(d / "console" / "keys" / f"{n.node_id}.key",
                                     self.node_keys[n.node_id].hex())
            nodes += f'\n[nodes.{n.node_id}]\ncommand_key_file = "{key_file}"\n'
        text = (f'[console]\nsite = "{SITE}"\ndb = "{d / "console" / "console.sqlite"}"\n'
                f'users_db = "{d / "console" / "users.json"}"\n'
                f'secret_key_file = "{d / "console" / "secret.key"}"\n'
                f'listen_host = "127.0.0.1"\nlisten_port = {self.http_port}\n\n'
                f'[mqtt]\nhost = "{self.broker.host}"\nport = {self.broker.port}\n'
                f'username = "console"\npassword_file = "{d / "console" / "mqtt.password"}"\n'
                + nodes)
        path = d / "console" / "console.toml"
        path.write_text(text)
        return path

    def node_config(self, spec: DemoNode) -> NodeConfig:
        """The validated config of a simulated node (the same schema as ``node.toml``)."""
        acct = self.broker.accounts[spec.node_id]
        data: dict[str, Any] = {
            "node": {"id": spec.node_id, "site": SITE, "health_interval_s": 5,
                     "journal": str(self.directory / "nodes" / spec.node_id / "journal.db")},
            "mqtt": {"host": self.broker.host, "port": self.broker.port,
                     "username": spec.node_id, "password": acct.password},
            "commands": {"key": self.node_keys[spec.node_id].hex()},
            "gpio": {"pin_factory": "mock"},
            "readers": [{"name": spec.reader, "kind": "rdm6300", "port": "sim"}],
            "inputs": [{"name": n, "pin": p} for n, p in spec.inputs],
            "relays": [{"name": n, "pin": p} for n, p in spec.relays],
            "simulation": {"enabled": True, "activity": self.activity,
                           "interval_ms": self.interval_ms, "cards": list(spec.cards)},
        }
        (self.directory / "nodes" / spec.node_id).mkdir(parents=True, exist_ok=True)
        return parse_config(data, base_dir=self.directory)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, *, timeout_s: float = 30.0) -> "DemoSite":
        """Broker, then the console (and its admin user), then the nodes."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.broker.start()
        if not self.http_port:
            self.http_port = free_port()
        conf = self._console_toml()
        cli = [sys.executable, "-m", "lobbygate.cli"]
        subprocess.run(cli + ["user", "--config", str(conf), "add", ADMIN, "--role", "admin",
                              "--password-stdin"],
                       input=(self.admin_password + "\n").encode(), check=True,
                       stdout=subprocess.DEVNULL)
        self._console_conf = conf
        self.start_console(timeout_s=timeout_s)
        for spec in NODES:
            self.nodes[spec.node_id] = Node(self.node_config(spec)).start()
        return self

    def start_console(self, *, timeout_s: float = 30.0) -> None:
        """Start ``lobbygate console`` as a child process; return once it serves HTTP."""
        log_file = open(self.directory / "console" / "console.log", "ab")
        self.console = subprocess.Popen(
            [sys.executable, "-m", "lobbygate.cli", "console", "--config", str(self._console_conf)],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True)
        log_file.close()
        if not wait_until(self._console_listening, timeout_s=timeout_s):
            raise RuntimeError(f"the console did not start; see {self.directory}/console/console.log")

    def kill_console(self) -> None:
        """SIGKILL the console by its PID (a crash); :meth:`start_console` brings it back."""
        proc, self.console = self.console, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    def _console_listening(self) -> bool:
        if self.console is None or self.console.poll() is not None:
            raise RuntimeError(f"the console exited; see {self.directory}/console/console.log")
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Nodes, console, broker — each stopped by its own handle/PID. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        for node in self.nodes.values():
            try:
                node.stop()
            except Exception:  # noqa: BLE001 - stopping the rest matters more
                log.exception("stopping a node")
        proc, self.console = self.console, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.broker.stop()

    def __enter__(self) -> "DemoSite":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the self-check --------------------------------------------------------------------
    def run_check(self, *, timeout_s: float = 60.0) -> tuple[bool, str]:
        """Drive the scripted scenario, then compare every node's journal with the console's
        store. Returns (ok, one summary line)."""
        creds = self.broker.credentials("console")
        caused: dict[str, dict[str, int]] = {}
        with MqttProbe(host=creds["host"], port=creds["port"], username="console",
                       password=creds["password"], topic_filter=T.site_filter(SITE) ,
                       client_id="demo-check") as probe:
            for spec in NODES:
                caused[spec.node_id] = self._scenario(spec, probe, timeout_s=timeout_s)
        expected: dict[str, set[str]] = {}
        for spec in NODES:
            node = self.nodes[spec.node_id]
            assert node.journal is not None and node.pump is not None
            if not wait_until(lambda: node.journal.stats().unsent == 0, timeout_s=timeout_s):
                return False, f"FAIL: node {spec.node_id} still has unsent events"
            last = node.journal.stats().next_seq - 1
            expected[spec.node_id] = {f"{spec.node_id}:{node.boot_id}:{s}" for s in range(1, last + 1)}
        from web.db import Database
        from web.stores.events import EventStore
        db = Database(self.directory / "console" / "console.sqlite").open()
        try:
            store = EventStore(db)
            want = set().union(*expected.values())
            found = lambda: {e for e in want if store.get(e) is not None}  # noqa: E731
            wait_until(lambda: found() == want, timeout_s=timeout_s, interval_s=0.1)
            missing = want - found()
            per_node = {n: db.conn().execute("SELECT COUNT(*) FROM events WHERE node = ?",
                                             (n,)).fetchone()[0] for n in expected}
            kinds = {n: dict(db.conn().execute(
                "SELECT kind, COUNT(*) FROM events WHERE node = ? GROUP BY kind", (n,)).fetchall())
                for n in expected}
        finally:
            db.close()
        problems = []
        if missing:
            problems.append(f"{len(missing)} event(s) missing from the console, e.g. {sorted(missing)[:3]}")
        for n, ids in expected.items():
            if per_node[n] != len(ids):
                problems.append(f"{n}: console holds {per_node[n]} events, node journaled {len(ids)}")
            for kind, count in caused[n].items():
                if kinds[n].get(kind, 0) != count:
                    problems.append(f"{n}: {kind} stored {kinds[n].get(kind, 0)}, caused {count}")
        total = sum(len(v) for v in expected.values())
        if problems:
            return False, "demo check FAILED: " + "; ".join(problems)
        detail = ", ".join(f"{n} {len(v)}" for n, v in expected.items())
        return True, (f"demo check OK: {total} events journaled by {len(expected)} nodes ({detail}) "
                      f"stored exactly once by the console; card reads, inputs, a signed relay "
                      f"command and a refused unsigned command all round-tripped")

    def _scenario(self, spec: DemoNode, probe: MqttProbe, *, timeout_s: float) -> dict[str, int]:
        """One node's script; returns the event kinds (and counts) it caused."""
        node = self.nodes[spec.node_id]
        sim = node.simulation
        assert sim is not None
        sim.wait_port_open(timeout_s=timeout_s)
        reads_before = node.journal.stats().next_seq if node.journal else 0
        del reads_before
        for card in spec.cards:  # distinct cards: each is one card.read
            sim.present(card)
        for name, _pin in spec.inputs:  # each press and release is one input.changed
            sim.press(name)
            sim.release(name)
        relay = spec.relays[0][0]
        now = int(time.time() * 1000)
        key = self.node_keys[spec.node_id]
        signed = CommandEnvelope.create(node=spec.node_id, action="relay.pulse", issued_by="demo-check",
                                        now_ms=now, args={"relay": relay, "seconds": 1}).signed(key)
        unsigned = CommandEnvelope.create(node=spec.node_id, action="relay.pulse",
                                          issued_by="demo-check", now_ms=now,
                                          args={"relay": relay, "seconds": 1})
        for cmd in (signed, unsigned):
            probe.publish(T.command(SITE, spec.node_id, "relay.pulse"), cmd.to_json())
        result_topic = T.command_result(SITE, spec.node_id)

        def results() -> dict[str, CommandResult]:
            out = {}
            for m in probe.messages:
                if m.topic == result_topic:
                    r = CommandResult.from_json(m.payload)
                    out[r.cmd_id] = r
            return out

        probe.wait_for(lambda _ms: {signed.cmd_id, unsigned.cmd_id} <= set(results()),
                       timeout_s=timeout_s)
        got = results()
        if not (signed.cmd_id in got and got[signed.cmd_id].ok):
            raise RuntimeError(f"{spec.node_id}: the signed relay command was not carried out")
        if not (unsigned.cmd_id in got and got[unsigned.cmd_id].reason == "unsigned"):
            raise RuntimeError(f"{spec.node_id}: the unsigned command was not refused")
        # Wait until the node has journaled what the script caused.
        want = {"card.read": len(spec.cards), "input.changed": 2 * len(spec.inputs),
                "relay.pulsed": 1, "command.refused": 1}
        probe.wait_for(lambda ms: all(
            sum(1 for m in ms if m.topic == T.event(SITE, spec.node_id, k)) >= c
            for k, c in want.items()), timeout_s=timeout_s)
        return want


def main(argv: Sequence[str] | None = None) -> int:
    """``lobbygate demo [--check] [--dir DIR] [--port N]``."""
    p = argparse.ArgumentParser(prog="lobbygate demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true",
                   help="run the scripted scenario headless and exit 0 only if nothing was lost")
    p.add_argument("--dir", type=Path, help="keep the demo's files here (default: a temp dir, removed)")
    p.add_argument("--port", type=int, default=0, help="console HTTP port (default: a free one)")
    p.add_argument("--interval-ms", type=int, default=4000,
                   help="mean time between simulated card reads (default 4000)")
    args = p.parse_args(list(argv) if argv is not None else None)
    logging.getLogger().setLevel(logging.WARNING if args.check else logging.INFO)
    tmp = None if args.dir else Path(tempfile.mkdtemp(prefix="lobbygate-demo-"))
    site = DemoSite(args.dir or tmp, http_port=args.port,
                    activity="idle" if args.check else "random", interval_ms=args.interval_ms)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        site.start()
        if args.check:
            ok, line = site.run_check()
            print(line, flush=True)
            return 0 if ok else 1
        print(f"\nlobbygate demo is running (site {SITE!r}, nodes: "
              f"{', '.join(n.node_id for n in NODES)}; simulated card reads every ~"
              f"{args.interval_ms / 1000:.0f} s)\n"
              f"  console:  {site.console_url}\n"
              f"  log in:   {ADMIN} / {site.admin_password}\n"
              f"  broker:   mqtt://127.0.0.1:{site.broker.port} (passwords + ACL)\n"
              f"  files:    {site.directory}\n"
              f"Press Ctrl-C to stop.\n", flush=True)
        stop.wait()
        return 0
    except Exception as exc:  # noqa: BLE001 - one clear line for the user, details in the log
        log.exception("demo failed")
        print(f"lobbygate demo: {exc}", file=sys.stderr)
        return 1
    finally:
        site.stop()
        for s, h in old.items():
            signal.signal(s, h)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
