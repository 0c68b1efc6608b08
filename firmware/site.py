"""A site on the console host: its keys, its CA, its broker accounts and its nodes.

One directory holds everything ``lobbygate provision`` makes, split by who reads it::

    SITE_DIR/site.toml              registry: site id, broker hosts, nodes and their state
    SITE_DIR/site-signing.pub       Ed25519 public key (passes, invites, update bundles)
    SITE_DIR/private/               root only: CA key, node passwords or client keys/certs,
                                    hardware fragments
    SITE_DIR/broker/                Mosquitto: CA and server cert/key, passwd, acl, CRL, conf
    SITE_DIR/console/               the console: signing key, its MQTT password, node HMAC keys
    SITE_DIR/bundles/<node>/ + .tar.gz   what goes onto the node's card

Every operation is idempotent: keys, certificates and passwords are created once and reused;
generated files are rewritten only when their content changes.  Secrets are 0600 in 0700
directories.  ``broker_owner`` / ``console_owner`` (user names, applied when given; needs root)
hand the broker and console directories to the services that read them.

A node authenticates to the broker with a password (the default) or, with ``auth="cert"``, with
a client certificate the site CA issues (CN = node id, :data:`~firmware.pki.CLIENT_DAYS` days) on
the broker's second TLS listener (``cert_port``).  Revoking such a node, rotating or renewing
its certificate, or switching it back to a password puts the old serial in ``broker/crl.pem``."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import shutil
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from cryptography.exceptions import InvalidSignature

from firmware import node_config as NC
from firmware import pki
from firmware.bundle import BundleFile, write_bundle
from firmware.errors import FirmwareError, ProvisionError
from firmware.files import SECRET_MODE, make_dir, write_file
from firmware.mosquitto import password_line, render_acl
from firmware.toml_out import dumps
from mqtt_topics import ContractError
from mqtt_topics import topics as T

#: The broker's TLS port.  Default 8883 (IANA "secure-mqtt").
TLS_PORT = 8883
#: The broker's TLS port for client-certificate nodes (``require_certificate``).  Default 8884.
CERT_PORT = 8884
#: The console's broker user name.
CONSOLE_USER = "console"
#: Host names every server certificate covers (the console connects over loopback).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
#: The console's state directory (its unit's only writable path).
CONSOLE_STATE = "/var/lib/lobbygate"
_UNITS = Path(__file__).with_name("systemd")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _stamp(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def broker_hash(username: str, password: str) -> str:
    """The ``passwd`` line for an account; its salt is derived from the account so the file is
    the same on every run (a new password gives a new salt)."""
    salt = hashlib.sha256(f"lobbygate-passwd:{username}:{password}".encode()).digest()[:12]
    return password_line(username, password, salt=salt)


@dataclass
class NodeRecord:
    """A node in the registry.  ``state``: "active" or "revoked"; ``auth``: "password" or
    "cert"; ``cert_serial`` (hex) / ``cert_expires``: its current client certificate; times are
    UTC ISO strings."""

    id: str
    host: str
    state: str = "active"
    created: str = ""
    credentials_issued: str = ""
    revoked: str = ""
    auth: str = "password"
    cert_serial: str = ""
    cert_expires: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"host": self.host, "state": self.state, "created": self.created,
             "credentials_issued": self.credentials_issued, "auth": self.auth}
        for k in ("revoked", "cert_serial", "cert_expires"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        return d


@dataclass
class RevokedCert:
    """A client certificate in the CRL: its serial (hex), its node and when (UTC ISO)."""

    serial: str
    node: str
    revoked: str

    def to_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "node": self.node, "revoked": self.revoked}


@dataclass
class SiteRecord:
    """The registry (``site.toml``)."""

    id: str
    created: str
    broker_hosts: list[str]
    tls_port: int = TLS_PORT
    broker_owner: str = ""
    console_owner: str = ""
    broker_pid_file: str = ""
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    cert_port: int = CERT_PORT
    revoked_certs: list[RevokedCert] = field(default_factory=list)

    def to_toml(self) -> str:
        site: dict[str, Any] = {"id": self.id, "created": self.created,
                                "broker_hosts": list(self.broker_hosts), "tls_port": self.tls_port,
                                "cert_port": self.cert_port}
        for k in ("broker_owner", "console_owner", "broker_pid_file"):
            if getattr(self, k):
                site[k] = getattr(self, k)
        data: dict[str, Any] = {"site": site}
        if self.nodes:
            data["nodes"] = {n: r.to_dict() for n, r in sorted(self.nodes.items())}
        if self.revoked_certs:
            data["revoked_certs"] = [r.to_dict() for r in self.revoked_certs]
        return dumps(data, header="lobbygate site registry, written by `lobbygate provision`.\n"
                                  "Change it with that command, not by hand.")

    @classmethod
    def from_toml(cls, text: str) -> "SiteRecord":
        data = tomllib.loads(text)
        s = data["site"]
        nodes = {n: NodeRecord(id=n, **r) for n, r in data.get("nodes", {}).items()}
        return cls(id=s["id"], created=s["created"], broker_hosts=list(s["broker_hosts"]),
                   tls_port=int(s.get("tls_port", TLS_PORT)),
                   broker_owner=s.get("broker_owner", ""), console_owner=s.get("console_owner", ""),
                   broker_pid_file=s.get("broker_pid_file", ""), nodes=nodes,
                   cert_port=int(s.get("cert_port", CERT_PORT)),
                   revoked_certs=[RevokedCert(**r) for r in data.get("revoked_certs", [])])

    @property
    def active_nodes(self) -> list[str]:
        return sorted(n for n, r in self.nodes.items() if r.state == "active")

    def active_with(self, auth: str) -> list[str]:
        """Active nodes authenticating with ``auth`` ("password" or "cert")."""
        return [n for n in self.active_nodes if self.nodes[n].auth == auth]


@dataclass(frozen=True)
class ProvisionedNode:
    """What :meth:`Site.add_node` did: the bundle directory and archive, whether the node is new
    and whether its credentials were (re)issued."""

    id: str
    bundle_dir: Path
    archive: Path
    created: bool
    credentials_issued: bool


class Site:
    """The site directory ``root`` (see the module note).

    ``clock``: returns the current UTC time (registry stamps, certificate validity);
    ``broker_owner`` / ``console_owner``: users to own ``broker/`` and ``console/`` (None, the
    default, leaves ownership alone; given to :meth:`init`, they are remembered in the registry
    for later runs).  The constructor does no I/O."""

    def __init__(self, root: Path, *, clock: Callable[[], dt.datetime] = utc_now,
                 broker_owner: str | None = None, console_owner: str | None = None) -> None:
        self.root = Path(root)
        self._clock = clock
        self.broker_owner = broker_owner
        self.console_owner = console_owner

    # -- paths -------------------------------------------------------------------------------
    @property
    def registry_file(self) -> Path:
        return self.root / "site.toml"

    @property
    def signing_public_key(self) -> Path:
        return self.root / "site-signing.pub"

    @property
    def signing_key(self) -> Path:
        """The Ed25519 private key (the console signs passes with it)."""
        return self.root / "console" / "site-signing.key"

    @property
    def ca_key(self) -> Path:
        return self.root / "private" / "ca.key"

    @property
    def ca_cert(self) -> Path:
        return self.root / "broker" / "ca.crt"

    @property
    def broker_dir(self) -> Path:
        return self.root / "broker"

    @property
    def console_dir(self) -> Path:
        return self.root / "console"

    def node_password_file(self, node: str) -> Path:
        return self.root / "private" / "nodes" / f"{node}.password"

    def node_client_key_file(self, node: str) -> Path:
        """A client-certificate node's private key (PEM, 0600)."""
        return self.root / "private" / "nodes" / f"{node}.client.key"

    def node_client_cert_file(self, node: str) -> Path:
        """A client-certificate node's certificate (PEM)."""
        return self.root / "private" / "nodes" / f"{node}.client.crt"

    @property
    def crl_file(self) -> Path:
        """The CRL of revoked node certificates (the broker's ``crlfile``)."""
        return self.broker_dir / "crl.pem"

    def node_hardware_file(self, node: str) -> Path:
        return self.root / "private" / "nodes" / f"{node}.hardware.toml"

    def command_key_file(self, node: str) -> Path:
        """The node's HMAC command key (hex), read by the console to sign commands."""
        return self.console_dir / "keys" / f"{node}.key"

    @property
    def console_password_file(self) -> Path:
        return self.console_dir / "console.password"

    def bundle_dir(self, node: str) -> Path:
        return self.root / "bundles" / node

    # -- registry ----------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.registry_file.exists()

    def load(self) -> SiteRecord:
        """The registry; :class:`ProvisionError` if the site was not initialised.  Adopts the
        owners it records unless this object was given its own."""
        try:
            record = SiteRecord.from_toml(self.registry_file.read_text())
            self.broker_owner = self.broker_owner or record.broker_owner or None
            self.console_owner = self.console_owner or record.console_owner or None
            return record
        except FileNotFoundError as exc:
            raise ProvisionError(f"no site in {self.root}: run `lobbygate provision init` first") from exc
        except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
            raise ProvisionError(f"{self.registry_file} is damaged: {exc}") from exc

    def _save(self, record: SiteRecord) -> None:
        write_file(self.registry_file, record.to_toml(), mode=0o644)

    # -- site --------------------------------------------------------------------------------
    def init(self, *, site_id: str, broker_hosts: Sequence[str] = (),
             tls_port: int | None = None, cert_port: int | None = None) -> SiteRecord:
        """Create the site, or complete/extend an existing one with the same id.

        ``broker_hosts``: names/addresses nodes use to reach the broker (the first is written
        into node configs); default this machine's host name and ``<hostname>.local``;
        ``tls_port``: the broker's TLS port (default :data:`TLS_PORT`, or as recorded);
        ``cert_port``: its TLS port for client-certificate nodes (default :data:`CERT_PORT`,
        or as recorded).  The
        server certificate always covers them plus localhost; adding a host re-issues it with
        the same key.  Raises :class:`ProvisionError` for a bad id or a different existing site."""
        try:
            T.check_id(site_id, "site id")
        except ContractError as exc:
            raise ProvisionError(str(exc)) from exc
        now = self._clock()
        if self.exists:
            record = self.load()
            if record.id != site_id:
                raise ProvisionError(f"{self.root} already holds site {record.id!r}, not {site_id!r}")
            record.broker_hosts += [h for h in broker_hosts if h not in record.broker_hosts]
            record.tls_port = tls_port or record.tls_port
            record.cert_port = cert_port or record.cert_port
        else:
            hosts = list(dict.fromkeys(broker_hosts)) or _default_hosts()
            record = SiteRecord(id=site_id, created=_stamp(now), broker_hosts=hosts,
                                tls_port=tls_port or TLS_PORT, cert_port=cert_port or CERT_PORT)
        if record.cert_port == record.tls_port:
            raise ProvisionError(f"the client-certificate port must differ from the TLS port "
                                 f"({record.tls_port})")
        record.broker_owner = self.broker_owner or ""
        record.console_owner = self.console_owner or ""
        self._make_dirs()
        self._ensure_signing_key()
        self._ensure_ca(site_id, now)
        self._ensure_server_cert(record, now)
        self._ensure_secret(self.console_password_file, owner=self.console_owner)
        self._ensure_secret(self.console_dir / "session.key", owner=self.console_owner,
                            make=lambda: secrets.token_urlsafe(48))
        self._save(record)
        self._write_shared(record)
        self._write_console_config(record)
        return record

    @property
    def console_config(self) -> Path:
        """The console's ``console.toml`` (written once by :meth:`init`, then the operator's)."""
        return self.console_dir / "console.toml"

    def _write_console_config(self, record: SiteRecord) -> None:
        if self.console_config.exists():
            return
        data = {"include": ["nodes.toml"],
                "console": {"site": record.id, "db": f"{CONSOLE_STATE}/console.sqlite",
                            "users_db": f"{CONSOLE_STATE}/users.json",
                            "secret_key_file": "session.key",
                            "signing_key_file": "site-signing.key",
                            "listen_host": "0.0.0.0", "listen_port": 8080}}
        write_file(self.console_config,
                   dumps(data, header=f"lobbygate console of site {record.id}, first written by "
                                      "`lobbygate provision init`; yours to edit.\n"
                                      "[mqtt] and [nodes.*] come from nodes.toml, which provisioning "
                                      "rewrites."),
                   mode=0o644, owner=self.console_owner)

    def _make_dirs(self) -> None:
        make_dir(self.root, mode=0o755)
        make_dir(self.root / "private", mode=0o700)
        make_dir(self.root / "private" / "nodes", mode=0o700)
        make_dir(self.root / "bundles", mode=0o700)
        make_dir(self.broker_dir, mode=0o700, owner=self.broker_owner)
        make_dir(self.console_dir, mode=0o700, owner=self.console_owner)
        make_dir(self.console_dir / "keys", mode=0o700, owner=self.console_owner)

    def _ensure_signing_key(self) -> None:
        if self.signing_key.exists():
            key = pki.load_signing_key(self.signing_key)
        else:
            key = pki.new_signing_key()
            write_file(self.signing_key, pki.private_pem(key), mode=SECRET_MODE, owner=self.console_owner)
        write_file(self.signing_public_key, pki.public_pem(key))
        write_file(self.console_dir / "site-signing.pub", pki.public_pem(key), owner=self.console_owner)

    def _ensure_ca(self, site_id: str, now: dt.datetime) -> None:
        have_key, have_cert = self.ca_key.exists(), self.ca_cert.exists()
        if have_key and have_cert:
            return
        if have_cert and not have_key:
            raise ProvisionError(f"{self.ca_cert} exists but its key {self.ca_key} is gone: "
                                 "restore it, or start a new site directory")
        key, cert = pki.new_ca(site_id, now=now)
        write_file(self.ca_key, pki.private_pem(key), mode=SECRET_MODE)
        write_file(self.ca_cert, pki.cert_pem(cert), owner=self.broker_owner)

    def _ensure_server_cert(self, record: SiteRecord, now: dt.datetime) -> None:
        key_file, cert_file = self.broker_dir / "server.key", self.broker_dir / "server.crt"
        want = set(record.broker_hosts) | set(LOOPBACK_HOSTS)
        if cert_file.exists() and key_file.exists() and want <= pki.cert_hosts(pki.load_cert(cert_file)):
            return
        key = pki.load_ec_key(key_file) if key_file.exists() else None
        key, cert = pki.new_server_cert(pki.load_ec_key(self.ca_key), pki.load_cert(self.ca_cert),
                                        want, now=now, key=key)
        write_file(key_file, pki.private_pem(key), mode=SECRET_MODE, owner=self.broker_owner)
        write_file(cert_file, pki.cert_pem(cert), owner=self.broker_owner)

    def _ensure_secret(self, path: Path, *, owner: str | None = None, rotate: bool = False,
                       make: Callable[[], str] = lambda: secrets.token_urlsafe(24)) -> tuple[str, bool]:
        """Read a one-line secret, creating (or with ``rotate`` replacing) it; returns
        (secret, whether it was created)."""
        if path.exists() and not rotate:
            value = path.read_text().strip()
            if value:
                write_file(path, value + "\n", mode=SECRET_MODE, owner=owner)  # re-assert mode
                return value, False
        value = make()
        write_file(path, value + "\n", mode=SECRET_MODE, owner=owner)
        return value, True

    # -- nodes -------------------------------------------------------------------------------
    def add_node(self, node_id: str, *, host: str | None = None, rotate: bool = False,
                 hardware: Path | None = None, auth: str | None = None) -> ProvisionedNode:
        """Provision ``node_id`` (idempotent): broker account, HMAC command key, ACL, bundle.

        ``host``: the broker address written into the node's config (default: the site's first
        broker host; it must be covered by the server certificate, see :meth:`init`);
        ``rotate``: issue a new password (or client certificate) and command key; ``hardware``:
        a TOML fragment with the node's devices, remembered for later runs; ``auth``:
        "password" or "cert" (None, the default: as recorded, "password" for a new node); a
        change switches the node over (its old certificate goes into the CRL).  A client
        certificate is renewed when less than :data:`~firmware.pki.CLIENT_RENEW_DAYS` remain.
        A revoked node is re-activated with new credentials."""
        try:
            T.check_node_id(node_id)
        except ContractError as exc:
            raise ProvisionError(str(exc)) from exc
        if auth is not None and auth not in NC.AUTH_MODES:
            raise ProvisionError(f"auth must be one of {', '.join(NC.AUTH_MODES)}, got {auth!r}")
        record = self.load()
        self._make_dirs()
        now_dt = self._clock()
        now = _stamp(now_dt)
        if host is not None:
            self._check_host(record, host)
        if hardware is not None:
            NC.load_hardware(hardware)  # validate before issuing anything
        prev = record.nodes.get(node_id)
        created = prev is None
        rotate = rotate or (prev is not None and prev.state == "revoked")
        node = prev or NodeRecord(id=node_id, host=host or record.broker_hosts[0], created=now)
        node.host = host or node.host
        if node.state == "revoked":
            node.state, node.revoked = "active", ""
        auth = auth or node.auth
        if auth != node.auth:
            self._drop_broker_credentials(record, node, now_dt)
            node.auth = auth
        password: str | None = None
        client: tuple[bytes, bytes] | None = None
        if auth == "password":
            password, new_cred = self._ensure_secret(self.node_password_file(node_id), rotate=rotate)
        else:
            client, new_cred = self._ensure_client_cert(record, node, rotate=rotate, now=now_dt)
        cmd_key, new_key = self._ensure_secret(self.command_key_file(node_id), rotate=rotate,
                                               owner=self.console_owner,
                                               make=lambda: secrets.token_hex(32))
        issued = new_cred or new_key
        if issued or not node.credentials_issued:
            node.credentials_issued = now
        if hardware is not None:
            write_file(self.node_hardware_file(node_id), Path(hardware).read_bytes(), mode=SECRET_MODE)
        record.nodes[node_id] = node
        self._save(record)
        self._write_shared(record)
        archive = self._write_bundle(record, node, password=password, client=client,
                                     command_key=cmd_key)
        return ProvisionedNode(node_id, self.bundle_dir(node_id), archive, created, issued)

    def revoke_node(self, node_id: str) -> bool:
        """Remove the node's broker account (password, or client certificate: its serial goes
        into the CRL), its ACL entries, command key and bundle; keep it in the registry as
        revoked.  Returns False if it was already revoked; :class:`ProvisionError` if unknown.
        The running broker needs a reload (SIGHUP) to refuse new connections (connections
        already open stay until they drop)."""
        record = self.load()
        node = record.nodes.get(node_id)
        if node is None:
            raise ProvisionError(f"no node {node_id!r} in site {record.id}")
        if node.state == "revoked":
            return False
        now = self._clock()
        node.state, node.revoked = "revoked", _stamp(now)
        self._drop_broker_credentials(record, node, now)
        for path in (self.command_key_file(node_id),
                     self.bundle_dir(node_id).with_name(node_id + ".tar.gz")):
            path.unlink(missing_ok=True)
        shutil.rmtree(self.bundle_dir(node_id), ignore_errors=True)
        self._save(record)
        self._write_shared(record)
        return True

    def _drop_broker_credentials(self, record: SiteRecord, node: NodeRecord,
                                 now: dt.datetime) -> None:
        """Delete the node's password or client key/certificate; a certificate's serial goes
        into the registry's revoked list (the CRL is rewritten by :meth:`_write_shared`)."""
        if node.cert_serial:
            self._revoke_serial(record, node, now)
        for path in (self.node_password_file(node.id), self.node_client_key_file(node.id),
                     self.node_client_cert_file(node.id)):
            path.unlink(missing_ok=True)

    @staticmethod
    def _revoke_serial(record: SiteRecord, node: NodeRecord, now: dt.datetime) -> None:
        if node.cert_serial not in {r.serial for r in record.revoked_certs}:
            record.revoked_certs.append(RevokedCert(node.cert_serial, node.id, _stamp(now)))
        node.cert_serial = node.cert_expires = ""

    def _ensure_client_cert(self, record: SiteRecord, node: NodeRecord, *, rotate: bool,
                            now: dt.datetime) -> tuple[tuple[bytes, bytes], bool]:
        """The node's client (key PEM, certificate PEM), issuing them when missing, rotated,
        not this CA's, or within :data:`~firmware.pki.CLIENT_RENEW_DAYS` of expiry; returns
        them and whether they are new.  A superseded certificate's serial is revoked."""
        key_file, cert_file = self.node_client_key_file(node.id), self.node_client_cert_file(node.id)
        ca_cert = pki.load_cert(self.ca_cert)
        if not rotate and key_file.exists() and cert_file.exists():
            cert = pki.load_cert(cert_file)
            try:
                cert.verify_directly_issued_by(ca_cert)
                ours = (pki.cert_common_name(cert) == node.id
                        and format(cert.serial_number, "x") == node.cert_serial
                        and pki.load_ec_key(key_file).public_key() == cert.public_key())
            except (ValueError, TypeError, InvalidSignature, FirmwareError):
                ours = False
            fresh = pki.cert_expires(cert) - now > dt.timedelta(days=pki.CLIENT_RENEW_DAYS)
            if ours and fresh:
                key_pem = key_file.read_bytes()
                write_file(key_file, key_pem, mode=SECRET_MODE)  # re-assert the mode
                return (key_pem, cert_file.read_bytes()), False
        if node.cert_serial:  # superseded: rotated, renewed, damaged or replaced
            self._revoke_serial(record, node, now)
        key, cert = pki.new_client_cert(pki.load_ec_key(self.ca_key), ca_cert, node.id, now=now)
        key_pem, cert_pem = pki.private_pem(key), pki.cert_pem(cert)
        write_file(key_file, key_pem, mode=SECRET_MODE)
        write_file(cert_file, cert_pem, mode=SECRET_MODE)
        node.cert_serial = format(cert.serial_number, "x")
        node.cert_expires = _stamp(pki.cert_expires(cert))
        return (key_pem, cert_pem), True

    def ensure_crl(self, record: SiteRecord | None = None) -> bool:
        """Write ``broker/crl.pem`` listing the registry's revoked certificates, unless the one
        there already lists exactly them, is signed by this CA and has more than half its
        lifetime left (so re-runs change no byte).  Returns True if it was (re)written."""
        record = record or self.load()
        now = self._clock()
        want = {int(r.serial, 16): _parse_stamp(r.revoked) for r in record.revoked_certs}
        ca_cert = pki.load_cert(self.ca_cert)
        number = 0
        if self.crl_file.exists():
            try:
                crl = pki.load_crl(self.crl_file)
                number = pki.crl_number(crl)
                fresh = (pki.crl_serials(crl) == set(want) and crl.issuer == ca_cert.subject
                         and crl.is_signature_valid(ca_cert.public_key())
                         and crl.next_update_utc is not None
                         and crl.next_update_utc - now > dt.timedelta(days=pki.CRL_DAYS / 2))
            except FirmwareError:
                fresh = False
            if fresh:
                write_file(self.crl_file, self.crl_file.read_bytes(), owner=self.broker_owner)
                return False
        crl = pki.new_crl(pki.load_ec_key(self.ca_key), ca_cert, want.items(), now=now,
                          number=number + 1)
        write_file(self.crl_file, pki.crl_pem(crl), owner=self.broker_owner)
        return True

    def set_broker_pid_file(self, pid_file: Path | None) -> None:
        """Remember where the broker writes its PID (``lobbygate broker-config`` does this) so
        node changes can reload it."""
        record = self.load()
        record.broker_pid_file = str(pid_file) if pid_file else ""
        self._save(record)

    def _check_host(self, record: SiteRecord, host: str) -> None:
        if host not in set(record.broker_hosts) | set(LOOPBACK_HOSTS):
            raise ProvisionError(
                f"broker host {host!r} is not in the server certificate; add it with "
                f"`lobbygate provision init --dir {self.root} --site {record.id} --broker-host {host}`")

    # -- generated files ---------------------------------------------------------------------
    def _write_shared(self, record: SiteRecord) -> None:
        """passwd and acl for the broker (from every active node), the console's node key list."""
        console_pw = self.console_password_file.read_text().strip()
        lines = [broker_hash(CONSOLE_USER, console_pw)]
        for node in record.active_with("password"):
            pw_file = self.node_password_file(node)
            if not pw_file.exists():
                raise ProvisionError(f"node {node} is active but {pw_file} is missing: "
                                     f"run `lobbygate provision node add {node} --rotate`")
            lines.append(broker_hash(node, pw_file.read_text().strip()))
        for node in record.active_with("cert"):
            if not self.node_client_cert_file(node).exists():
                raise ProvisionError(f"node {node} is active but its client certificate is "
                                     f"missing: run `lobbygate provision node add {node} --rotate`")
        write_file(self.broker_dir / "passwd", "\n".join(lines) + "\n", mode=SECRET_MODE,
                   owner=self.broker_owner)
        acl = render_acl(record.id, console_user=CONSOLE_USER, nodes=record.active_nodes)
        acl += "# provisioned nodes: " + (", ".join(record.active_nodes) or "none") + "\n"
        write_file(self.broker_dir / "acl", acl, mode=SECRET_MODE, owner=self.broker_owner)
        self.ensure_crl(record)
        write_file(self.console_dir / "ca.crt", self.ca_cert.read_bytes(), owner=self.console_owner)
        write_file(self.console_dir / "nodes.toml", self.render_console_nodes(record),
                   owner=self.console_owner)

    def render_console_nodes(self, record: SiteRecord) -> str:
        """The console's ``[mqtt]`` and ``[nodes.<id>]`` sections for this site."""
        data: dict[str, Any] = {
            "mqtt": {"host": "localhost", "port": record.tls_port, "username": CONSOLE_USER,
                     "password_file": str(self.console_password_file.resolve()), "tls": True,
                     "ca_file": str((self.console_dir / "ca.crt").resolve())},
            "nodes": {n: {"command_key_file": str(self.command_key_file(n).resolve())}
                      for n in record.active_nodes},
        }
        return dumps(data, header=f"lobbygate console settings for site {record.id}, rewritten by "
                                  "`lobbygate provision` on every node change;\n"
                                  "console.toml includes it (include = [\"nodes.toml\"]).")

    def _write_bundle(self, record: SiteRecord, node: NodeRecord, *, password: str | None,
                      client: tuple[bytes, bytes] | None, command_key: str) -> Path:
        """The bundle: ``password`` for a password node, or ``client`` (key PEM, certificate
        PEM) for a client-certificate node (both 0600 in the bundle)."""
        hw_file = self.node_hardware_file(node.id)
        hardware = NC.load_hardware(hw_file) if hw_file.exists() else None
        port = record.cert_port if node.auth == "cert" else record.tls_port
        conf = NC.render_node_config(site=record.id, node=node.id, host=node.host,
                                     port=port, hardware=hardware, auth=node.auth)
        header = (f"lobbygate node {node.id} of site {record.id}, written by `lobbygate provision`.\n"
                  f"Install: sudo firmware/install-node.sh --bundle {node.id}.tar.gz")
        files = {
            NC.CONFIG_FILE: BundleFile.public(dumps(conf, header=header)),
            NC.COMMAND_KEY_FILE: BundleFile.secret(command_key + "\n"),
            NC.CA_FILE: BundleFile.public(self.ca_cert.read_bytes()),
            NC.SIGNING_PUBLIC_KEY_FILE: BundleFile.public(self.signing_public_key.read_bytes()),
            NC.UNIT_FILE: BundleFile.public((_UNITS / NC.UNIT_FILE).read_bytes()),
        }
        if client is not None:
            files[NC.CLIENT_KEY_FILE] = BundleFile.secret(client[0])
            files[NC.CLIENT_CERT_FILE] = BundleFile.secret(client[1])
        else:
            files[NC.PASSWORD_FILE] = BundleFile.secret((password or "") + "\n")
        return write_bundle(self.bundle_dir(node.id), files)

    # -- reading credentials (tests, the console installer) ----------------------------------
    def node_password(self, node: str) -> str:
        try:
            return self.node_password_file(node).read_text().strip()
        except FileNotFoundError as exc:
            raise ProvisionError(f"node {node} has no broker password (revoked or unknown)") from exc

    def console_password(self) -> str:
        return self.console_password_file.read_text().strip()


def _default_hosts() -> list[str]:
    name = socket.gethostname().split(".")[0] or "lobbygate-hub"
    return [f"{name}.local", name]

