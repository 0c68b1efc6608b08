"""Helpers for the firmware tests (imported by conftest and the tests): constants, an MQTT
session over TLS that keeps acknowledgement reason codes, another site's CA."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

SITE_ID = "oak-court"
NODES = ("lobby", "gate", "cabinet")
#: Nodes the tls_site fixture provisions with client certificates (``--auth cert``).
CERT_NODES = ("door-1", "door-2")
FIXED_NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


class Session:
    """One MQTT client over TLS: connect and wait for CONNACK, publish/subscribe and wait for the
    acknowledgement, keeping the reason codes (MQTT 5 carries "not authorized" in them)."""

    def __init__(self, port: int, *, username: str, password: str | None, ca_file: Path,
                 protocol: int = mqtt.MQTTv311, host: str = "localhost",
                 certfile: Path | None = None, keyfile: Path | None = None) -> None:
        self.port, self.host = port, host
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
        self.client.username_pw_set(username, password)
        self.client.tls_set(ca_certs=str(ca_file), certfile=str(certfile) if certfile else None,
                            keyfile=str(keyfile) if keyfile else None)
        self._cond = threading.Condition()
        self.connack: object = None
        self.pubacks: dict[int, object] = {}
        self.subacks: dict[int, list] = {}
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, c, u, flags, rc, props=None):
        with self._cond:
            self.connack = rc
            self._cond.notify_all()

    def _on_publish(self, c, u, mid, rc, props=None):
        with self._cond:
            self.pubacks[mid] = rc
            self._cond.notify_all()

    def _on_subscribe(self, c, u, mid, rcs, props=None):
        with self._cond:
            self.subacks[mid] = list(rcs)
            self._cond.notify_all()

    def connect(self, timeout_s: float = 5.0):
        """CONNACK reason code, or None if the broker closed the connection without one."""
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self.connack is not None, timeout_s)
        return self.connack

    def publish(self, topic: str, payload: bytes = b"x", timeout_s: float = 5.0):
        """PUBACK reason code of a QoS 1 publish."""
        info = self.client.publish(topic, payload, qos=1)
        with self._cond:
            assert self._cond.wait_for(lambda: info.mid in self.pubacks, timeout_s), "no PUBACK"
            return self.pubacks[info.mid]

    def subscribe(self, topic: str, timeout_s: float = 5.0) -> list:
        """SUBACK reason codes."""
        _, mid = self.client.subscribe(topic, qos=1)
        with self._cond:
            assert self._cond.wait_for(lambda: mid in self.subacks, timeout_s), "no SUBACK"
            return self.subacks[mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def foreign_client_cert(tmp_path: Path, node: str) -> tuple[Path, Path]:
    """A client certificate for ``node`` (same CN) issued by another site's CA: (cert, key)."""
    from firmware import pki
    ca_key, ca_cert = pki.new_ca("elsewhere", now=FIXED_NOW)
    key, cert = pki.new_client_cert(ca_key, ca_cert, node, now=dt.datetime.now(dt.timezone.utc))
    cert_file, key_file = tmp_path / f"foreign-{node}.crt", tmp_path / f"foreign-{node}.key"
    cert_file.write_bytes(pki.cert_pem(cert))
    key_file.write_bytes(pki.private_pem(key))
    return cert_file, key_file


def other_ca(tmp_path: Path) -> Path:
    """A CA of another site (same kind of certificate, different key)."""
    from firmware import pki
    _, cert = pki.new_ca("elsewhere", now=FIXED_NOW)
    path = tmp_path / "other-ca.crt"
    path.write_bytes(pki.cert_pem(cert))
    return path


TLS_ERRORS = (ssl.SSLError, ssl.SSLCertVerificationError, ConnectionError, OSError)


def make_wheel(directory: Path, *, name: str = "lobbygate", version: str = "0.2.0") -> Path:
    """A minimal pure-Python wheel (module ``<name>_probe_mod`` with ``VERSION``), built by hand
    so the test needs neither setuptools nor a network."""
    import base64
    import hashlib
    import zipfile

    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {f"{name}_probe_mod.py": f"VERSION = {version!r}\n".encode(),
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: lobbygate-tests\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},"
              f"{len(b)}" for n, b in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(wheel, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    return wheel
