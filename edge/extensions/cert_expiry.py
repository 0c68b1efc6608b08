"""Client-certificate expiry: warn before the broker starts refusing the node.

A node provisioned with ``--auth cert`` logs in with a TLS client certificate (``[mqtt]
certfile``) that expires (2 years by default).  This extension reads the certificate's notAfter
when the node starts and then every ``interval_s`` (default one day) and:

- adds ``cert_expires`` (UTC ms), ``cert_days_left`` (whole days, negative once expired) and
  ``cert_warn_days`` to the health telemetry (days left are worked out from the node's clock at
  each health message);
- journals ``node.cert_expiring`` ``{expires, days_left, cn, serial}`` when fewer than
  ``warn_days`` days are left, and ``node.cert_expired`` (same fields) once notAfter has passed,
  each at most once a day (node clock), however often :meth:`check` runs and however often the
  node restarts: the node-clock time (UTC ms) of the last warning of each kind is kept in a small
  JSON file next to the node's journal (``cert-warnings.json``, written atomically after each
  warning); an unreadable or malformed file is logged, counted (``state_errors``), moved aside
  to ``<name>.corrupt`` and treated as "no warning sent yet", as is a failed write (the warning
  may then repeat after a restart);
- a certificate file that cannot be read or parsed is logged and counted (``cert_read_errors``)
  and the figures are dropped; the node keeps running.

The days and the once-a-day rule use the node's injected clock (``ctx.clock``, UTC ms); tests
call :meth:`CertExpiryExtension.check` directly after moving that clock.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..files import write_atomic
from ..counters import Counters
from .base import Extension, NodeContext

__all__ = ["CertExpiryExtension", "CertInfo", "read_cert_info", "EXPIRING_KIND", "EXPIRED_KIND",
           "DAY_MS"]

log = logging.getLogger(__name__)

EXPIRING_KIND = "node.cert_expiring"
EXPIRED_KIND = "node.cert_expired"
#: One day in ms: the unit of ``days_left`` and the least time between two warnings of a kind.
DAY_MS = 86_400_000
#: The state file's name, in the node's journal directory.
STATE_NAME = "cert-warnings.json"


@dataclass(frozen=True)
class CertInfo:
    """What the node reports about its certificate: ``expires`` (notAfter, UTC ms), ``cn``
    (subject common name, "" if none), ``serial`` (lower-case hex, as ``provision`` records it)."""

    expires: int
    cn: str
    serial: str

    def days_left(self, now_ms: int) -> int:
        """Whole days until expiry at ``now_ms`` (UTC ms), rounded down: 29.9 days -> 29,
        half a day after expiry -> -1."""
        return math.floor((self.expires - now_ms) / DAY_MS)


def read_cert_info(path: Path) -> CertInfo:
    """Read a PEM certificate's expiry, CN and serial.

    :raises OSError: the file cannot be read.
    :raises ValueError: it is not a PEM X.509 certificate."""
    cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    expires = int(cert.not_valid_after_utc.timestamp() * 1000)
    return CertInfo(expires=expires, cn=cn, serial=format(cert.serial_number, "x"))


class CertExpiryExtension(Extension):
    """Watch the node's MQTT client certificate for expiry.

    :param certfile: the PEM certificate (``[mqtt] certfile``).
    :param warn_days: warn when fewer than this many days remain (``[mqtt] cert_warn_days``, > 0).
    :param interval_s: seconds between checks after the one at start (default 86,400: daily).
    :param state: the file keeping the time of the last warning of each kind across restarts
        (default: ``cert-warnings.json`` in the directory of the node's journal).
    """

    name = "cert"

    def __init__(self, certfile: Path, *, warn_days: int, interval_s: float = 86_400.0,
                 state: Path | None = None) -> None:
        if warn_days <= 0:
            raise ValueError("warn_days must be > 0")
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.certfile = Path(certfile)
        self.warn_days = warn_days
        self.interval_s = interval_s
        self.state = Path(state) if state is not None else None
        self._ctx: NodeContext | None = None
        self._lock = threading.Lock()
        self._info: CertInfo | None = None
        self._last_sent: dict[str, int] = {}      # kind -> node clock (UTC ms) of the last one
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counters = Counters(["checks", "read_errors", "emit_errors", "warnings",
                                   "state_errors"])

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, ctx: NodeContext) -> None:
        """Check once now (before the network starts, so a warning is journalled first), then
        every ``interval_s`` on a daemon thread."""
        self._ctx = ctx
        if self.state is None:
            self.state = Path(ctx.config.journal).parent / STATE_NAME
        self._last_sent = self._load_state()
        self.check()
        self._thread = threading.Thread(target=self._run, name="cert-expiry", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def alive(self) -> bool:
        return self._thread is None or self._thread.is_alive() or self._stop.is_set()

    def counters(self) -> Counters:
        return self._counters

    # -- the last warnings, across restarts -------------------------------------------------

    def _load_state(self) -> dict[str, int]:
        """``{kind: UTC ms}`` from the state file; ``{}`` when there is none, and when it is
        unusable (logged, counted, moved aside to ``<name>.corrupt``)."""
        assert self.state is not None
        try:
            raw = json.loads(self.state.read_bytes())
            if not isinstance(raw, dict) or not all(
                    isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                    for k, v in raw.items()):
                raise ValueError("expected {kind: UTC ms}")
            return {k: v for k, v in raw.items() if k in (EXPIRING_KIND, EXPIRED_KIND)}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            self._counters.incr("state_errors")
            aside = self.state.with_name(self.state.name + ".corrupt")
            log.error("certificate warning state %s unusable (%s); moved to %s, warnings may "
                      "repeat today", self.state, exc, aside)
            try:
                os.replace(self.state, aside)
            except OSError:
                pass
            return {}

    def _save_state(self) -> None:
        """Write the last warnings (atomically); a failure is logged and counted."""
        assert self.state is not None
        with self._lock:
            data = json.dumps(self._last_sent, sort_keys=True).encode()
        try:
            write_atomic(self.state, data)
        except OSError as exc:
            self._counters.incr("state_errors")
            log.error("certificate warning state %s not saved (%s); the warning may repeat after "
                      "a restart", self.state, exc)

    # -- the check -----------------------------------------------------------------------------

    @property
    def info(self) -> CertInfo | None:
        """The certificate as last read (None if it could not be read)."""
        with self._lock:
            return self._info

    def check(self) -> str | None:
        """Read the certificate and journal a warning if one is due; returns the kind journalled
        (or None).  Never raises: a read, parse or journal failure is logged and counted."""
        ctx = self._ctx
        assert ctx is not None, "check() before start()"
        self._counters.incr("checks")
        try:
            info = read_cert_info(self.certfile)
        except (OSError, ValueError) as exc:
            with self._lock:
                self._info = None
            self._counters.incr("read_errors")
            log.error("client certificate %s cannot be read: %s", self.certfile, exc)
            return None
        now = ctx.clock()
        with self._lock:
            self._info = info
            days_left = info.days_left(now)
            if now > info.expires:
                kind = EXPIRED_KIND
            elif info.expires - now < self.warn_days * DAY_MS:
                kind = EXPIRING_KIND
            else:
                return None
            last = self._last_sent.get(kind)
            if last is not None and now - last < DAY_MS:
                return None
            self._last_sent[kind] = now
        data = {"expires": info.expires, "days_left": days_left, "cn": info.cn, "serial": info.serial}
        try:
            ctx.emit(kind, data)
        except Exception:  # noqa: BLE001 - a journal problem must not stop the node
            with self._lock:
                self._last_sent.pop(kind, None)   # try again at the next check
            self._counters.incr("emit_errors")
            log.exception("client certificate: journalling %s failed", kind)
            return None
        self._counters.incr("warnings")
        self._save_state()
        if kind == EXPIRED_KIND:
            log.error("client certificate %s (CN %s, serial %s) EXPIRED %d day(s) ago: the broker "
                      "will refuse this node; renew it (provision node add) and reinstall the bundle",
                      self.certfile, info.cn, info.serial, -days_left)
        else:
            log.warning("client certificate %s (CN %s, serial %s) expires in %d day(s): renew it "
                        "(provision node add) and reinstall the bundle", self.certfile, info.cn,
                        info.serial, days_left)
        return kind

    def figures(self) -> Mapping[str, Any]:
        """``cert_expires`` (UTC ms), ``cert_days_left`` (at the node's clock now) and
        ``cert_warn_days`` for health telemetry; empty while the certificate is unreadable."""
        info = self.info
        if info is None or self._ctx is None:
            return {}
        return {"cert_expires": info.expires, "cert_days_left": info.days_left(self._ctx.clock()),
                "cert_warn_days": self.warn_days}
