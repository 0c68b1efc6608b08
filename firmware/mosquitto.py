"""Mosquitto configuration for a site, and a harness that runs a real broker.

:func:`render_acl` derives the ACL from the topic contract (by user name, never ``%c``):
a node may publish only under its own node path and read only its own ``cmd/`` and the
site's ``sync/``; the console reads and writes the whole site.  A provisioned site lists its
nodes explicitly (a revoked node has no entries); the test harness uses ``%u`` patterns.
:func:`password_line` writes Mosquitto 2's PBKDF2-SHA512 (``$7$``) hashes with the standard
library, so no plaintext password is ever on disk.  :func:`render_conf` writes
``mosquitto.conf`` with a plain listener, :class:`TlsListener` s (password or client
certificate), or both (``lobbygate broker-config`` renders the production one).  :class:`MosquittoBroker` starts ``mosquitto`` on a free loopback port with a
plain-listener configuration for tests and stops it by its own PID.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from mqtt_topics import LobbygateError
from mqtt_topics import topics as T

#: PBKDF2 iterations Mosquitto 2 uses by default for ``$7$`` hashes.
PBKDF2_ITERATIONS = 101


class BrokerError(LobbygateError):
    """The broker could not be configured, started or stopped."""


def password_line(username: str, password: str, *, salt: bytes | None = None,
                  iterations: int = PBKDF2_ITERATIONS) -> str:
    """One ``password_file`` line in Mosquitto 2's ``$7$`` (PBKDF2-SHA512) format."""
    if ":" in username or not username:
        raise BrokerError(f"bad broker username {username!r}")
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return (f"{username}:$7${iterations}${base64.b64encode(salt).decode()}"
            f"${base64.b64encode(digest).decode()}")


def render_acl(site: str, *, console_user: str = "console",
               observers: Iterable[str] = (), nodes: Iterable[str] | None = None) -> str:
    """The ``acl_file`` text for one site.

    Node users are named after their node id (a password account, or the CN of a client
    certificate).  ``nodes``: None (default) gives every user the node rights through ``pattern``
    lines with ``%u``; a list writes explicit ``user`` blocks for exactly those nodes, so a node
    left out (revoked) has no rights at all even if it still authenticates.  ``observers`` get
    read-only access to the whole site (monitoring, tests)."""
    prefix = T.site_filter(site)[:-2]  # lobbygate/v1/{site}
    lines = [
        "# lobbygate broker ACL, generated from mqtt_topics; do not edit by hand.",
        f"# site {site}: nodes by {'%u' if nodes is None else 'name'} (username = node id), "
        f"console {console_user}.",
        f"user {console_user}",
        f"topic readwrite {prefix}/#",
        "",
    ]
    for obs in observers:
        lines += [f"user {obs}", f"topic read {prefix}/#", ""]
    rights = [("write", "{u}/status"), ("write", "{u}/event/#"), ("write", "{u}/telemetry/#"),
              ("write", "{u}/cmd_result"), ("read", "{u}/cmd/#"), ("read", "sync/#")]
    if nodes is None:
        lines.append("# every node: its own path only")
        lines += [f"pattern {a} {prefix}/{t.format(u='%u')}" for a, t in rights]
        lines.append("")
    else:
        lines.append("# each provisioned node: its own path only")
        for node in nodes:
            T.check_node_id(node)
            lines.append(f"user {node}")
            lines += [f"topic {a} {prefix}/{t.format(u=node)}" for a, t in rights]
            lines.append("")
    return "\n".join(lines)


@dataclass(frozen=True)
class TlsListener:
    """A TLS listener for :func:`render_conf`.

    ``port``: TCP port, default 8883; ``bind``: address, "" (default) = every interface;
    ``cafile``/``certfile``/``keyfile``: the site CA, the broker's certificate and its key;
    ``tls_version``: the *minimum* protocol version (Mosquitto 2), default ``tlsv1.2``;
    ``require_certificate``: also demand a client certificate signed by the CA (default False:
    nodes log in with a password over TLS); ``use_identity_as_username``: the certificate's CN is
    the user name and the password file is not consulted (needs ``require_certificate``);
    ``crlfile``: the CA's revocation list, checked against client certificates (needs
    ``require_certificate``)."""

    cafile: Path
    certfile: Path
    keyfile: Path
    port: int = 8883
    bind: str = ""
    tls_version: str = "tlsv1.2"
    require_certificate: bool = False
    use_identity_as_username: bool = False
    crlfile: Path | None = None

    def lines(self) -> list[str]:
        if self.tls_version not in ("tlsv1.2", "tlsv1.3"):
            raise BrokerError(f"tls_version must be tlsv1.2 or tlsv1.3, got {self.tls_version!r}")
        if (self.use_identity_as_username or self.crlfile) and not self.require_certificate:
            raise BrokerError("use_identity_as_username and crlfile need require_certificate")
        out = [
            f"listener {self.port} {self.bind}".rstrip(),
            f"cafile {self.cafile}",
            f"certfile {self.certfile}",
            f"keyfile {self.keyfile}",
            f"tls_version {self.tls_version}",
            f"require_certificate {'true' if self.require_certificate else 'false'}",
        ]
        if self.require_certificate:
            out.append(f"use_identity_as_username {'true' if self.use_identity_as_username else 'false'}")
        if self.crlfile is not None:
            out.append(f"crlfile {self.crlfile}")
        return out


def render_conf(*, port: int | None, password_file: Path, acl_file: Path, data_dir: Path,
                bind: str = "127.0.0.1", persistence: bool = True,
                log_file: Path | None = None,
                tls: TlsListener | Sequence[TlsListener] | None = None,
                run_as: str | None = None, pid_file: Path | None = None) -> str:
    """``mosquitto.conf`` text: ``allow_anonymous false``, passwords, ACL, TCP_NODELAY,
    persistence, and one or two listeners.

    ``port``/``bind``: a plain listener (the test harness; on the console host a loopback-only
    one for the console), None for none; ``tls``: a :class:`TlsListener` or several (production
    nodes: passwords on one, client certificates on another);
    ``run_as``: the user Mosquitto drops to when started as root (None = when run as root, the
    current user, as the test harness needs); ``pid_file``: where Mosquitto writes its PID (so
    provisioning can SIGHUP it)."""
    tls_listeners = [tls] if isinstance(tls, TlsListener) else list(tls or ())
    if port is None and not tls_listeners:
        raise BrokerError("render_conf needs a plain port, a TLS listener, or both")
    lines = [
        "# lobbygate mosquitto.conf, generated; do not edit by hand.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {password_file}",
        f"acl_file {acl_file}",
        "set_tcp_nodelay true",
        "max_queued_messages 1000000",  # per client: the console's persistent session while it is down
        f"persistence {'true' if persistence else 'false'}",
        f"persistence_location {data_dir}/",
        "autosave_interval 60",
        "log_type error",
        "log_type warning",
        "log_type notice",
        f"log_dest file {log_file}" if log_file else "log_dest stderr",
    ]
    if pid_file:
        lines.append(f"pid_file {pid_file}")
    if run_as:
        lines.append(f"user {run_as}")
    elif os.geteuid() == 0:  # mosquitto would otherwise drop to user 'mosquitto' and lose our files
        lines.append(f"user {getpass.getuser()}")
    if port is not None:
        lines += ["", f"listener {port} {bind}"]
    for listener in tls_listeners:
        lines += [""] + listener.lines()
    return "\n".join(lines) + "\n"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class MosquittoProcess:
    """``mosquitto -c conf``; ready once ``host:port`` (and every ``host:other_ports``) accepts TCP
    connections.

    ``conf``: the configuration file; ``host``/``port``: a listener it opens (checked for
    readiness); ``other_ports``: further listeners it opens, checked too (Mosquitto binds them
    one after another; default none); ``executable``: default the ``mosquitto`` on PATH or ``/usr/sbin/mosquitto``;
    ``log_file``: the broker's log, whose tail is quoted when it fails to start.
    The constructor does no I/O; :meth:`start` runs it, :meth:`stop` (idempotent) ends it —
    always by its own PID."""

    def __init__(self, *, conf: Path, host: str, port: int, executable: str | None = None,
                 log_file: Path | None = None, other_ports: Sequence[int] = ()) -> None:
        self.conf = Path(conf)
        self.host = host
        self.port = port
        self.other_ports = tuple(other_ports)
        self.executable = executable or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.log_file = log_file
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The broker's PID while it runs."""
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def start(self, *, timeout_s: float = 10.0) -> "MosquittoProcess":
        """Start and return once the listener accepts connections; :class:`BrokerError` if it
        exits or does not listen within ``timeout_s`` (default 10 s)."""
        if self.pid is not None:
            return self
        if not Path(self.executable).exists():
            raise BrokerError(f"mosquitto not found at {self.executable}: apt-get install mosquitto")
        self._proc = subprocess.Popen([self.executable, "-c", str(self.conf)],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        waiting = [self.port, *self.other_ports]
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                if self.log_file is not None and self.log_file.exists():
                    err += self.log_file.read_text(errors="replace")[-2000:]
                self._proc = None
                raise BrokerError(f"mosquitto exited at start: {err.strip()}")
            try:
                with socket.create_connection((self.host, waiting[0]), timeout=0.2):
                    waiting.pop(0)
                    if not waiting:
                        return self
                    continue
            except OSError:
                time.sleep(0.01)  # readiness poll of a child process, bounded by timeout_s
        self.stop()
        raise BrokerError(f"mosquitto did not listen on {self.host}:{waiting[0]} within {timeout_s}s")

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads its password file, ACL and certificates."""
        if self.pid is not None:
            self._proc.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """SIGKILL (a crash), then forget the process."""
        if self.pid is not None:
            self._proc.kill()
            self._proc.wait(timeout=5)
        self.stop()

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """SIGTERM (then SIGKILL) our own PID.  Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout_s)
        if proc.stderr:
            proc.stderr.close()

    def __enter__(self) -> "MosquittoProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class BrokerAccount:
    """A broker user name and password (the password is never written in clear)."""

    username: str
    password: str


@dataclass
class MosquittoBroker:
    """A real Mosquitto for one site, configured as lobbygate configures production.

    ``directory``: where config, password file, ACL, log and persistence live;
    ``site``: the site id; ``nodes``: node ids to create accounts for (random passwords);
    ``port``: 0 (default) picks a free port.  Use as a context manager or call
    :meth:`start` / :meth:`stop`; :meth:`stop` is idempotent and kills only our own PID."""

    directory: Path
    site: str
    nodes: Iterable[str] = ()
    console_user: str = "console"
    observers: Iterable[str] = ("observer",)
    port: int = 0
    host: str = "127.0.0.1"
    executable: str = field(default_factory=lambda: shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    accounts: dict[str, BrokerAccount] = field(default_factory=dict, init=False)
    _process: MosquittoProcess | None = field(default=None, init=False, repr=False)

    # -- configuration ---------------------------------------------------------------
    def add_account(self, username: str, password: str | None = None) -> BrokerAccount:
        """Create (or replace) an account; call :meth:`reload` if the broker runs."""
        acct = BrokerAccount(username, password or secrets.token_urlsafe(18))
        self.accounts[username] = acct
        return acct

    def write_config(self) -> Path:
        """Write passwd, ACL and conf into ``directory``; returns the conf path."""
        d = Path(self.directory)
        (d / "data").mkdir(parents=True, exist_ok=True)
        if not self.accounts:
            self.add_account(self.console_user)
            for obs in self.observers:
                self.add_account(obs)
            for node in self.nodes:
                T.check_node_id(node)
                self.add_account(node)
        if not self.port:
            self.port = free_port(self.host)
        pw = d / "passwd"
        pw.write_text("".join(password_line(a.username, a.password) + "\n"
                              for a in self.accounts.values()))
        acl = d / "acl"
        acl.write_text(render_acl(self.site, console_user=self.console_user, observers=self.observers))
        for p in (pw, acl):
            p.chmod(0o600)
        conf = d / "mosquitto.conf"
        conf.write_text(render_conf(port=self.port, password_file=pw, acl_file=acl,
                                    data_dir=d / "data", bind=self.host, log_file=d / "mosquitto.log"))
        return conf

    # -- process ---------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The broker's PID while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self, *, timeout_s: float = 10.0) -> "MosquittoBroker":
        """Start the broker and return once it accepts TCP connections (or raise)."""
        if self.running:
            return self
        conf = self.write_config()
        self._process = MosquittoProcess(conf=conf, host=self.host, port=self.port,
                                         executable=self.executable,
                                         log_file=Path(self.directory) / "mosquitto.log")
        self._process.start(timeout_s=timeout_s)
        return self

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop our broker by PID (SIGTERM, then SIGKILL).  Idempotent."""
        if self._process is not None:
            self._process.stop(timeout_s=timeout_s)

    def kill(self) -> None:
        """SIGKILL the broker (a crash), keeping its port for :meth:`start`."""
        if self._process is not None:
            self._process.kill()

    def reload(self) -> None:
        """Re-write config and SIGHUP the broker so new accounts take effect."""
        self.write_config()
        if self._process is not None:
            self._process.reload()

    def credentials(self, username: str) -> Mapping[str, object]:
        """``host``/``port``/``username``/``password`` for a client config."""
        a = self.accounts[username]
        return {"host": self.host, "port": self.port, "username": a.username, "password": a.password}

    def __enter__(self) -> "MosquittoBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
