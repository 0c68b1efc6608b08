"""Run ``mosquitto -c CONF`` for a configuration rendered elsewhere (``lobbygate
broker-config``), stopping it by its own PID.

:class:`~firmware.mosquitto.MosquittoBroker` generates its own configuration for tests;
:class:`MosquittoProcess` runs exactly the production file, so tests prove what a technician
deploys (TLS listener, password file, ACL) rather than a look-alike."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from firmware.mosquitto import BrokerError


class MosquittoProcess:
    """``mosquitto -c conf``; ready once ``host:port`` accepts TCP connections.

    ``conf``: the configuration file; ``host``/``port``: a listener it opens (checked for
    readiness); ``executable``: default the ``mosquitto`` on PATH or ``/usr/sbin/mosquitto``.
    The constructor does no I/O; :meth:`start` runs it, :meth:`stop` (idempotent) ends it."""

    def __init__(self, *, conf: Path, host: str, port: int, executable: str | None = None) -> None:
        self.conf = Path(conf)
        self.host = host
        self.port = port
        self.executable = executable or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
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
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self._proc = None
                raise BrokerError(f"mosquitto exited at start: {err.strip()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.01)  # readiness poll of a child process, bounded by timeout_s
        self.stop()
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout_s}s")

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads its password file, ACL and certificates."""
        if self.pid is not None:
            self._proc.send_signal(signal.SIGHUP)

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
