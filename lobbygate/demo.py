"""``lobbygate demo``: a whole site on one machine, and its self-check.

It starts, for real: a Mosquitto broker (generated config with passwords and an ACL by user
name, on a free loopback port), the console (``lobbygate console`` as a child process served by
waitress, with a site signing key and a database seeded through the console's own stores, see
:mod:`lobbygate.demo_seed`: units, residents, door credentials, the key register, meters with
demo history, the patrol plan, goods passes, a visitor invite, the watchlist) and four nodes
whose wires are simulated at the lowest layer only (see :mod:`lobbygate.demo_nodes` and
:mod:`lobbygate.demo_wiring`): ``lobby`` (door, intercom panel with a visitor-invite scanner,
patrol check-point), ``gate`` (door/barrier, goods-pass scanner with the guard's buttons,
check-point), ``desk`` (key cabinet) and ``plant`` (a real pymodbus server acting as three
meters, check-point). Simulated people use them
(:mod:`lobbygate.demo_activity`), with the passes and invites they show issued at the console
(:mod:`lobbygate.demo_desk`). It prints the console's address and the log-ins it created (admin,
desk, guard, patrol; fresh random passwords, there is no default one). Ctrl-C (or SIGTERM) stops
everything it started, by PID.

``lobbygate demo --check`` does the same headless, drives one scripted scenario (a door granted
and one denied once the credential snapshot has arrived, at both doors; an intercom call; a
visitor invite; a goods pass released; the patrol route tapped; keys taken from and returned to
the cabinet; meter totals; a signed door command carried out and an unsigned one refused), checks
what the console made of it (a key loan, a meter reading, a running then completed patrol round,
the pass released), then exits 0 only if every event the nodes journaled is in the console's
store exactly once, and prints one summary line.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from edge.config import parse_config
from edge.node import Node
from firmware.files import SECRET_MODE, write_file
from firmware.mosquitto import MosquittoBroker, free_port
from firmware.probe import wait_until

from .demo_activity import DemoActivity
from .demo_desk import DemoDesk
from .demo_nodes import METERS, NODE_IDS, node_data
from .demo_people import STAFF_USERS
from .demo_seed import SEEDED_BY, SeedResult, meter_register, seed_console
from .demo_wiring import NodeWiring, wait_serial_open

log = logging.getLogger("lobbygate.demo")

SITE = "demo"
ADMIN = "admin"


def _write_secret(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` readable by its owner only (0600)."""
    write_file(path, data, mode=SECRET_MODE)
    return path


class DemoSite:
    """Everything the demo runs, under ``directory``.

    ``http_port``: the console's port (0 = a free one); ``activity``: the simulated people —
    ``"random"`` (somebody does something every ``interval_ms`` +- 25 %, default 4000) or
    ``"idle"`` (only what :meth:`run_check` or a test does; the nodes then use the check's
    short timings). The constructor does no I/O; :meth:`start` does it all, :meth:`stop` undoes
    it (idempotent).

    After :meth:`start`: ``nodes`` (id -> :class:`~edge.node.Node`), ``wiring`` (id ->
    :class:`~lobbygate.demo_wiring.NodeWiring`), ``meters`` (the Modbus meter simulator),
    ``signer`` (the site key), ``seeded`` (:class:`~lobbygate.demo_seed.SeedResult`),
    ``credentials_version`` / ``keys_version`` (the snapshots the console seeded), ``desk``
    (:class:`~lobbygate.demo_desk.DemoDesk` on the console's database), ``passwords`` (console
    user -> the password set this run)."""

    def __init__(self, directory: Path, *, http_port: int = 0, activity: str = "random",
                 interval_ms: int = 4000) -> None:
        if activity not in ("random", "idle"):
            raise ValueError(f"activity must be random or idle, got {activity!r}")
        self.directory = Path(directory)
        self.site = SITE
        self.http_port = http_port
        self.activity = activity
        self.interval_ms = interval_ms
        self.passwords = {name: secrets.token_urlsafe(12)
                          for name in (ADMIN, *(u for u, _role in STAFF_USERS))}
        self.node_keys = {n: secrets.token_bytes(32) for n in NODE_IDS}
        self.broker = MosquittoBroker(directory=self.directory / "broker", site=SITE,
                                      nodes=list(NODE_IDS))
        self.console: subprocess.Popen[bytes] | None = None
        self.nodes: dict[str, Node] = {}
        self.wiring: dict[str, NodeWiring] = {n: NodeWiring(n) for n in NODE_IDS}
        self.meters: Any = None
        self.signer: Any = None
        self.people: DemoActivity | None = None
        self.desk: DemoDesk | None = None
        self.seeded: SeedResult | None = None
        self.credentials_version = 0
        self.keys_version = 0
        self.timezone = "UTC"
        self._console_conf: Path | None = None
        self._stopped = False

    # -- configuration ---------------------------------------------------------------------
    @property
    def admin_password(self) -> str:
        return self.passwords[ADMIN]

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    @property
    def signing_key_file(self) -> Path:
        return self.directory / "console" / "site-signing.key"

    @property
    def public_key_file(self) -> Path:
        return self.directory / "site-signing.pub"

    def _site_key(self) -> Any:
        """The site's Ed25519 signing key: kept from an earlier run in the same directory, else
        generated (private key 0600 for the console, public key for the nodes)."""
        from web.signing import SiteSigner, load_signer
        if self.signing_key_file.exists():
            signer = load_signer(self.signing_key_file)
        else:
            signer = SiteSigner.generate()
            _write_secret(self.signing_key_file, signer.private_key_pem())
        self.public_key_file.write_bytes(signer.public_key_pem())
        return signer

    def _console_toml(self) -> Path:
        d = self.directory
        _write_secret(d / "console" / "secret.key", secrets.token_hex(32))
        _write_secret(d / "console" / "mqtt.password", self.broker.accounts["console"].password)
        nodes = ""
        for n in NODE_IDS:
            key_file = _write_secret(d / "console" / "keys" / f"{n}.key", self.node_keys[n].hex())
            nodes += f'\n[nodes.{n}]\ncommand_key_file = "{key_file}"\n'
        text = (f'[console]\nsite = "{SITE}"\ndb = "{d / "console" / "console.sqlite"}"\n'
                f'users_db = "{d / "console" / "users.json"}"\n'
                f'secret_key_file = "{d / "console" / "secret.key"}"\n'
                f'signing_key_file = "{self.signing_key_file}"\n'
                f'listen_host = "127.0.0.1"\nlisten_port = {self.http_port}\n\n'
                f'[mqtt]\nhost = "{self.broker.host}"\nport = {self.broker.port}\n'
                f'username = "console"\npassword_file = "{d / "console" / "mqtt.password"}"\n'
                + nodes)
        path = d / "console" / "console.toml"
        path.write_text(text)
        return path

    def _seed(self, conf: Path) -> None:
        """Open the console's stores on its database (no ingest, before the console runs), seed
        them (:func:`~lobbygate.demo_seed.seed_console`; parts already there are left alone, so
        a kept ``--dir`` is seeded once) and keep them open as the demo's front desk
        (:class:`~lobbygate.demo_desk.DemoDesk`, closed by :meth:`stop`)."""
        from web.config import load_config
        from web.services import build_services
        cfg = dataclasses.replace(load_config(conf).services_config(), broker=None, run_jobs=False)
        self.timezone = cfg.timezone
        self.desk = DemoDesk(build_services(cfg, signer=self.signer)).open()
        self.seeded = seed_console(self.desk.services)
        self.credentials_version = self.seeded.credentials_version
        self.keys_version = self.seeded.keys_version

    def _console_users(self, conf: Path) -> None:
        """The admin (through ``lobbygate user``, as an installer does) and the staff users of
        :data:`~lobbygate.demo_people.STAFF_USERS` (through the users store), each with this
        run's password; a kept ``--dir``'s users get new passwords. Audit-logged."""
        from web.audit import USER_ADD, USER_PASSWORD, AuditLog
        from web.auth.users import UserStore
        cli = [sys.executable, "-m", "lobbygate.cli", "user", "--config", str(conf)]
        kept = (self.directory / "console" / "users.json").exists()   # a kept --dir: new password
        subprocess.run(cli + (["passwd", ADMIN] if kept else ["add", ADMIN, "--role", "admin"])
                       + ["--password-stdin"],
                       input=(self.admin_password + "\n").encode(), check=True,
                       stdout=subprocess.DEVNULL)
        assert self.desk is not None
        audit = AuditLog(self.desk.services.db).open()
        users = UserStore(self.directory / "console" / "users.json").open()
        try:
            for name, role in STAFF_USERS:
                if users.get(name) is None:
                    users.add(name, self.passwords[name], role=role)
                    audit.record(USER_ADD, user=SEEDED_BY, target=name, detail=f"role={role}")
                else:
                    users.set_password(name, self.passwords[name])
                    audit.record(USER_PASSWORD, user=SEEDED_BY, target=name)
        finally:
            users.close()

    def node_data(self, node_id: str) -> dict[str, Any]:
        """The config mapping of a node (the same schema as ``node.toml``)."""
        acct = self.broker.accounts[node_id]
        node_dir = self.directory / "nodes" / node_id
        node_dir.mkdir(parents=True, exist_ok=True)
        base = {"node": {"id": node_id, "site": SITE, "health_interval_s": 10,
                         "journal": str(node_dir / "journal.db")},
                "mqtt": {"host": self.broker.host, "port": self.broker.port,
                         "username": node_id, "password": acct.password},
                "commands": {"key": self.node_keys[node_id].hex()},
                "gpio": {"pin_factory": "mock"}}
        bus = (self.meters.host, self.meters.port) if self.meters is not None else None
        return node_data(node_id, base=base, node_dir=str(node_dir),
                         port=self.wiring[node_id].port, public_key_file=str(self.public_key_file),
                         meter_bus=bus, quick=self.activity == "idle")

    def _start_meters(self) -> None:
        """The meter bus, each meter's total where the console's journal left it (a kept
        ``--dir``), else at its starting total."""
        from hardware.meters import load_map
        from hardware.sim.modbus_meter import ModbusMeterSim
        self.meters = ModbusMeterSim(meters={slave: load_map(m) for _n, slave, m, _u, _t in METERS})
        self.meters.open()
        totals = self.seeded.meter_totals if self.seeded is not None else {}
        for name, slave, map_name, _unit, total in METERS:
            self.meters.set_value(slave, meter_register(map_name), totals.get(name, total))

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, *, timeout_s: float = 30.0) -> "DemoSite":
        """Broker, site key, console config and seed data, the console (and its admin user),
        the meter bus, the nodes, then the simulated people. On failure what was started is
        stopped again."""
        try:
            self._start(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout_s: float) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.broker.start()
        if not self.http_port:
            self.http_port = free_port()
        self.signer = self._site_key()
        conf = self._console_toml()
        self._console_conf = conf
        self._seed(conf)
        self._console_users(conf)
        self.start_console(timeout_s=timeout_s)
        self._start_meters()
        for node_id in NODE_IDS:
            config = parse_config(self.node_data(node_id), base_dir=self.directory)
            self.nodes[node_id] = Node(config, pin_factory=self.wiring[node_id].factory).start()
        if self.activity == "random":
            if not self.wait_ready(timeout_s=timeout_s):
                log.warning("demo: a reader did not open or a door has no credentials yet; "
                            "the simulated people start anyway")
            assert self.desk is not None
            self.people = DemoActivity(wiring=self.wiring, meters=self.meters, desk=self.desk,
                                       interval_ms=self.interval_ms,
                                       timezone=self.timezone).start()

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
        """People, nodes, wires, meters, console, broker — each stopped by its own handle/PID.
        Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        steps: list[tuple[str, Callable[[], None]]] = []
        if self.people is not None:
            steps.append(("the simulated people", self.people.stop))
        steps += [(f"node {n}", node.stop) for n, node in self.nodes.items()]
        steps += [(f"wiring {n}", w.close) for n, w in self.wiring.items()]
        if self.meters is not None:
            steps.append(("the meter simulator", self.meters.close))
        steps.append(("the console", self._stop_console))
        if self.desk is not None:
            steps.append(("the desk's database handle", self.desk.close))
        steps.append(("the broker", self.broker.stop))
        for what, step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001 - stopping the rest matters more
                log.exception("stopping %s", what)

    def _stop_console(self) -> None:
        proc, self.console = self.console, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def __enter__(self) -> "DemoSite":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a test or the check does -------------------------------------------------------
    def wait_ready(self, *, timeout_s: float = 30.0) -> bool:
        """Every serial reader has opened its port, both doors decide from the seeded
        credentials snapshot (or a newer one) and the key cabinet from the seeded key register."""
        deadline = time.monotonic() + timeout_s

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        if not all(wait_serial_open(node, timeout_s=left()) for node in self.nodes.values()):
            return False
        doors = [self.nodes[n].extensions["door"] for n in ("lobby", "gate")]
        cabinet = self.nodes["desk"].extensions["cabinet"]
        return wait_until(lambda: all(d.decider.credentials.version >= self.credentials_version
                                      for d in doors)
                          and cabinet.machine.permissions.version >= self.keys_version,
                          timeout_s=left())

    # -- the self-check --------------------------------------------------------------------
    def run_check(self, *, timeout_s: float = 45.0) -> tuple[bool, str]:
        """Drive the scripted scenario (:mod:`lobbygate.demo_check`), then compare every node's
        journal with the console's store. Returns (ok, one summary line)."""
        from .demo_check import run_check
        return run_check(self, timeout_s=timeout_s)


def _banner(site: DemoSite, interval_ms: int) -> str:
    return (f"\nlobbygate demo is running (site {SITE!r}; nodes: lobby = door + intercom panel + "
            f"invite scanner + patrol point, gate = barrier + goods-pass scanner + patrol point, "
            f"desk = key cabinet, plant = {len(METERS)} Modbus meters + patrol point; something "
            f"happens every ~{interval_ms / 1000:g} s)\n"
            f"  console:  {site.console_url}\n"
            f"  log in:   {ADMIN} / {site.admin_password}\n"
            + "".join(f"            {name} / {site.passwords[name]}   ({role})\n"
                      for name, role in STAFF_USERS)
            + f"  broker:   mqtt://127.0.0.1:{site.broker.port} (passwords + ACL)\n"
            f"  files:    {site.directory}\n"
            f"Press Ctrl-C to stop.\n")


def main(argv: Sequence[str] | None = None) -> int:
    """``lobbygate demo [--check] [--dir DIR] [--port N] [--interval-ms MS]``."""
    p = argparse.ArgumentParser(prog="lobbygate demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true",
                   help="run the scripted scenario headless and exit 0 only if nothing was lost")
    p.add_argument("--dir", type=Path, help="keep the demo's files here (default: a temp dir, removed)")
    p.add_argument("--port", type=int, default=0, help="console HTTP port (default: a free one)")
    p.add_argument("--interval-ms", type=int, default=4000,
                   help="mean time between two things the simulated people do (default 4000)")
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
        print(_banner(site, args.interval_ms), flush=True)
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
