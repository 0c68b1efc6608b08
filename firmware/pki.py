"""Keys and certificates for a site, with the ``cryptography`` package.

- the site's **signing key** (Ed25519): signs goods passes, invites and update bundles; nodes
  hold only the public key, so they verify offline;
- the site's **CA** (ECDSA P-256, self-signed) and the **broker server certificate** it issues
  for the host names nodes connect to (TLS 1.2+; P-256 works with every OpenSSL a Pi ships);
- **node client certificates** (``provision node add --auth cert``): CN = node id, issued by the
  same CA, and the **CRL** listing the serials of revoked ones (the broker's ``crlfile``).

Keys are PEM (PKCS#8, unencrypted: the files are 0600 and owned by the service that uses them).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from firmware.errors import FirmwareError

#: CA lifetime, days (20 years: a compound's hub outlives many nodes).  Default 7300.
CA_DAYS = 7300
#: Broker server certificate lifetime, days.  Default 3650.
SERVER_DAYS = 3650
#: Node client certificate lifetime, days (2 years; ``provision node add`` renews it when less
#: than :data:`CLIENT_RENEW_DAYS` remain).  Default 730.
CLIENT_DAYS = 730
#: Re-running ``provision node add`` re-issues a client certificate this close to expiry, days.
CLIENT_RENEW_DAYS = 60
#: CRL lifetime, days: the broker refuses EVERY client certificate once the CRL's nextUpdate has
#: passed, so it is long, and any provisioning run re-signs it when half of it has gone.
CRL_DAYS = 3650


# -- Ed25519 signing key -------------------------------------------------------------------
def new_signing_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM of a private key, unencrypted."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of an Ed25519 key (the public half if given a private key)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key PEM; raises :class:`FirmwareError` if it is not one."""
    key = _load(path, serialization.load_pem_private_key, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise FirmwareError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key PEM; raises :class:`FirmwareError` if it is not one."""
    key = _load(path, serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise FirmwareError(f"{path}: not an Ed25519 public key")
    return key


def load_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Read the CA's (or server's) EC private key PEM."""
    key = _load(path, serialization.load_pem_private_key, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise FirmwareError(f"{path}: not an EC private key")
    return key


def load_cert(path: Path) -> x509.Certificate:
    """Read a PEM certificate."""
    return _load(path, x509.load_pem_x509_certificate)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _load(path: Path, loader, **kw):
    try:
        return loader(Path(path).read_bytes(), **kw)
    except FileNotFoundError as exc:
        raise FirmwareError(f"{path}: missing") from exc
    except ValueError as exc:
        raise FirmwareError(f"{path}: unreadable key or certificate: {exc}") from exc


# -- CA and server certificate ---------------------------------------------------------------
def new_ca(site: str, *, now: dt.datetime, days: int = CA_DAYS
           ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA for ``site``'s broker TLS, valid from ``now`` (UTC) for ``days``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lobbygate"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"lobbygate {site} CA")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _issue(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
           key: ec.EllipticCurvePrivateKey, common_name: str, *, now: dt.datetime, days: int,
           usage: x509.ObjectIdentifier, key_agreement: bool,
           sans: "list[x509.GeneralName] | None" = None) -> x509.Certificate:
    """A leaf certificate (not a CA) for ``key`` with CN ``common_name``, issued by the CA,
    valid from an hour before ``now`` (UTC) for ``days``, for the extended key ``usage``
    (server or client auth), with ``sans`` (subject alternative names) if given."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lobbygate"),
                                  x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
         .issuer_name(ca_cert.subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(hours=1))
         .not_valid_after(now + dt.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                      content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=key_agreement,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if sans is not None:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return (b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))


def new_server_cert(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
                    hosts: Iterable[str], *, now: dt.datetime, days: int = SERVER_DAYS,
                    key: ec.EllipticCurvePrivateKey | None = None,
                    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The broker's TLS certificate for ``hosts`` (DNS names and/or IP addresses), issued by
    the CA.  ``key``: reuse an existing server key (re-issue with more host names)."""
    hosts = sorted(set(hosts))
    if not hosts:
        raise FirmwareError("a server certificate needs at least one host name")
    key = key or ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = _issue(ca_key, ca_cert, key, hosts[0], now=now, days=days,
                  usage=ExtendedKeyUsageOID.SERVER_AUTH, key_agreement=True, sans=sans)
    return key, cert


def cert_hosts(cert: x509.Certificate) -> set[str]:
    """The DNS names and IP addresses a certificate is valid for."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return set(san.get_values_for_type(x509.DNSName)) | {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


# -- node client certificates and the CRL ----------------------------------------------------
def new_client_cert(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, node: str, *,
                    now: dt.datetime, days: int = CLIENT_DAYS,
                    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A fresh P-256 key and a TLS client certificate for ``node`` (CN = the node id, which the
    broker uses as the user name), issued by the CA, valid from ``now`` (UTC) for ``days``
    (default :data:`CLIENT_DAYS`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(ca_key, ca_cert, key, node, now=now, days=days,
                  usage=ExtendedKeyUsageOID.CLIENT_AUTH, key_agreement=False)
    return key, cert


def cert_common_name(cert: x509.Certificate) -> str:
    """The subject's CN ("" if none)."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def cert_expires(cert: x509.Certificate) -> dt.datetime:
    """The certificate's notAfter, UTC."""
    return cert.not_valid_after_utc


def new_crl(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
            revoked: Iterable[tuple[int, dt.datetime]], *, now: dt.datetime, number: int = 1,
            days: int = CRL_DAYS) -> x509.CertificateRevocationList:
    """A CRL signed by the CA listing ``revoked`` (serial, revocation time UTC), valid from
    ``now`` for ``days`` (default :data:`CRL_DAYS`); ``number``: its CRLNumber."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(ca_cert.subject)
         .last_update(now - dt.timedelta(hours=1))
         .next_update(now + dt.timedelta(days=days))
         .add_extension(x509.CRLNumber(number), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                        critical=False))
    for serial, when in sorted(revoked):
        b = b.add_revoked_certificate(x509.RevokedCertificateBuilder()
                                      .serial_number(serial).revocation_date(when).build())
    return b.sign(ca_key, hashes.SHA256())


def load_crl(path: Path) -> x509.CertificateRevocationList:
    """Read a PEM CRL."""
    return _load(path, x509.load_pem_x509_crl)


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def crl_serials(crl: x509.CertificateRevocationList) -> set[int]:
    """The serial numbers a CRL revokes."""
    return {r.serial_number for r in crl}


def crl_number(crl: x509.CertificateRevocationList) -> int:
    """The CRL's CRLNumber (0 if it has none)."""
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return 0
