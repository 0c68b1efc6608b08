"""`lobbygate provision node add --auth cert`: the client certificate the site CA issues, the
bundle that carries it, the CRL revocation and renewal maintain, and the broker configuration
that uses them.  (The broker itself is exercised in test_broker_client_cert.py.)"""

from __future__ import annotations

import datetime as dt
import stat
import tarfile
import tomllib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from firmware import broker_config, pki, provision
from firmware.errors import ProvisionError
from firmware.site import CERT_PORT, Site
from fw_helpers import FIXED_NOW, SITE_ID


class Clock:
    """A settable UTC clock."""

    def __init__(self, now: dt.datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _site(site_dir: Path, clock) -> Site:
    site = Site(site_dir, clock=clock)
    site.init(site_id=SITE_ID, broker_hosts=["hub.local"])
    return site


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _bundle_cert(site: Site, node: str) -> x509.Certificate:
    return pki.load_cert(site.bundle_dir(node) / "mqtt-client.crt")


def _crl_serials(site: Site) -> set[int]:
    crl = pki.load_crl(site.crl_file)
    assert crl.is_signature_valid(pki.load_cert(site.ca_cert).public_key())
    return pki.crl_serials(crl)


def test_cert_node_gets_a_client_certificate_from_the_site_ca_named_after_it(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("door-1", auth="cert")
    cert = _bundle_cert(site, "door-1")
    cert.verify_directly_issued_by(pki.load_cert(site.ca_cert))
    assert pki.cert_common_name(cert) == "door-1"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.not_valid_after_utc - FIXED_NOW == dt.timedelta(days=pki.CLIENT_DAYS)
    key = pki.load_ec_key(site.bundle_dir("door-1") / "mqtt-client.key")
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()


def test_cert_bundle_holds_cert_and_key_0600_and_no_password(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    res = site.add_node("door-1", auth="cert")
    with tarfile.open(res.archive) as tar:
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert modes["door-1/mqtt-client.crt"] == 0o600 and modes["door-1/mqtt-client.key"] == 0o600
    assert "door-1/mqtt.password" not in modes
    on_disk = [site.bundle_dir("door-1") / f for f in ("mqtt-client.crt", "mqtt-client.key")]
    on_disk += [site.node_client_key_file("door-1")]
    assert {stat.S_IMODE(p.stat().st_mode) for p in on_disk} == {0o600}


def test_cert_bundle_config_uses_the_cert_listener_and_no_password(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("door-1", auth="cert")
    mqtt = tomllib.loads((site.bundle_dir("door-1") / "node.toml").read_text())["mqtt"]
    assert mqtt["port"] == CERT_PORT and mqtt["tls"] is True
    assert (mqtt["certfile"], mqtt["keyfile"]) == ("mqtt-client.crt", "mqtt-client.key")
    assert "password_file" not in mqtt and "password" not in mqtt


def test_cert_bundle_config_is_valid_for_the_node_runtime(site_dir, fixed_clock, tmp_path):
    edge_config = pytest.importorskip("edge.config")
    hw = tmp_path / "hw.toml"
    hw.write_text('[gpio]\npin_factory = "mock"\n')
    site = _site(site_dir, fixed_clock)
    site.add_node("door-1", auth="cert", hardware=hw)
    conf = edge_config.load_config(site.bundle_dir("door-1") / "node.toml")
    bundle = site.bundle_dir("door-1").resolve()
    assert conf.mqtt.certfile == bundle / "mqtt-client.crt"
    assert conf.mqtt.keyfile == bundle / "mqtt-client.key"
    assert conf.mqtt.password == ""


def test_cert_node_has_no_password_account_but_its_own_acl_entries(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("door-1", auth="cert")
    assert "door-1:" not in (site.broker_dir / "passwd").read_text()
    acl = (site.broker_dir / "acl").read_text()
    assert f"user door-1\ntopic write lobbygate/v1/{SITE_ID}/door-1/status\n" in acl
    assert f"topic read lobbygate/v1/{SITE_ID}/door-1/cmd/#" in acl
    assert "pattern" not in acl  # rights only for provisioned nodes, none by pattern


def test_cert_provisioning_run_twice_changes_no_byte(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("door-1", auth="cert")
    site.revoke_node("door-1")
    site.add_node("door-2", auth="cert")
    first = _snapshot(site_dir)
    site.init(site_id=SITE_ID, broker_hosts=["hub.local"])
    again = site.add_node("door-2")  # the recorded auth is kept
    assert _snapshot(site_dir) == first
    assert not again.created and not again.credentials_issued


def test_cli_auth_cert_then_list_shows_it(site_dir, capsys):
    args = ["--dir", str(site_dir)]
    assert provision.main(["init", *args, "--site", SITE_ID, "--broker-host", "hub.local"]) == 0
    assert provision.main(["node", "add", "door-1", *args, "--auth", "cert", "--no-reload"]) == 0
    assert provision.main(["node", "add", "lobby", *args, "--no-reload"]) == 0
    capsys.readouterr()
    assert provision.main(["node", "list", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines] == [["door-1", "active", "auth=cert"],
                                                    ["lobby", "active", "auth=password"]]


def test_revoke_puts_the_serial_in_the_crl_and_removes_key_and_acl(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("door-1", auth="cert")
    serial = _bundle_cert(site, "door-1").serial_number
    assert _crl_serials(site) == set()
    site.revoke_node("door-1")
    assert _crl_serials(site) == {serial}
    assert not site.node_client_key_file("door-1").exists()
    assert not site.bundle_dir("door-1").exists()
    assert "door-1" not in (site.broker_dir / "acl").read_text().split("# provisioned nodes")[0]


def test_rotate_issues_a_new_certificate_and_revokes_the_old(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("door-1", auth="cert")
    old = _bundle_cert(site, "door-1").serial_number
    res = site.add_node("door-1", rotate=True)
    new = _bundle_cert(site, "door-1").serial_number
    assert res.credentials_issued and new != old
    assert _crl_serials(site) == {old}


def test_certificate_is_renewed_near_expiry_and_the_old_one_revoked(site_dir):
    clock = Clock()
    site = _site(site_dir, clock)
    site.add_node("door-1", auth="cert")
    old = _bundle_cert(site, "door-1")
    clock.now = FIXED_NOW + dt.timedelta(days=pki.CLIENT_DAYS - pki.CLIENT_RENEW_DAYS - 1)
    assert not site.add_node("door-1").credentials_issued  # not yet due
    clock.now += dt.timedelta(days=2)
    assert site.add_node("door-1").credentials_issued
    new = _bundle_cert(site, "door-1")
    assert new.not_valid_after_utc > old.not_valid_after_utc
    assert _crl_serials(site) == {old.serial_number}


def test_switching_between_password_and_cert(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("gate")
    site.add_node("gate", auth="cert")
    assert "gate:" not in (site.broker_dir / "passwd").read_text()
    assert not site.node_password_file("gate").exists()
    serial = _bundle_cert(site, "gate").serial_number
    site.add_node("gate", auth="password")
    assert "gate:" in (site.broker_dir / "passwd").read_text()
    assert not (site.bundle_dir("gate") / "mqtt-client.key").exists()
    assert _crl_serials(site) == {serial}


def test_unknown_auth_mode_is_refused(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    with pytest.raises(ProvisionError, match="auth must be one of"):
        site.add_node("door-1", auth="psk")


def test_cert_port_must_differ_from_the_tls_port(site_dir, fixed_clock):
    with pytest.raises(ProvisionError, match="must differ"):
        Site(site_dir, clock=fixed_clock).init(site_id=SITE_ID, tls_port=9000, cert_port=9000)


def test_crl_is_re_signed_when_half_its_lifetime_has_gone(site_dir):
    clock = Clock()
    site = _site(site_dir, clock)
    first = pki.load_crl(site.crl_file)
    clock.now = FIXED_NOW + dt.timedelta(days=pki.CRL_DAYS // 2 + 1)
    assert site.ensure_crl()
    again = pki.load_crl(site.crl_file)
    assert again.next_update_utc > first.next_update_utc
    assert pki.crl_number(again) == pki.crl_number(first) + 1


def test_broker_config_renders_a_client_certificate_listener_with_the_crl(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.crl_file.unlink()  # a site provisioned before the CRL existed gets one
    text = broker_config.render_site_conf(site, run_as=None, pid_file=None)
    block = text.split(f"listener {CERT_PORT}")[1]
    assert "require_certificate true" in block
    assert "use_identity_as_username true" in block
    assert f"crlfile {site.crl_file.resolve()}" in block
    assert site.crl_file.exists()
    password_block = text.split("listener 8883")[1].split("listener")[0]
    assert "require_certificate false" in password_block and "crlfile" not in password_block


def test_a_key_not_matching_the_certificate_is_replaced_and_the_old_cert_revoked(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("door-1", auth="cert")
    old = _bundle_cert(site, "door-1").serial_number
    site.node_client_key_file("door-1").write_bytes(pki.private_pem(pki.new_ca("x", now=FIXED_NOW)[0]))
    assert site.add_node("door-1").credentials_issued
    cert = _bundle_cert(site, "door-1")
    key = pki.load_ec_key(site.bundle_dir("door-1") / "mqtt-client.key")
    assert key.public_key() == cert.public_key() and cert.serial_number != old
    assert _crl_serials(site) == {old}
