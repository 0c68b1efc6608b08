"""`lobbygate provision`: the site and its nodes, idempotent, secrets 0600, revocation."""

from __future__ import annotations

import stat
import tarfile
import tomllib
from pathlib import Path

import pytest

from firmware import pki, provision
from firmware.errors import FirmwareError, ProvisionError
from firmware.site import Site
from fw_helpers import SITE_ID


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _site(site_dir: Path, clock) -> Site:
    site = Site(site_dir, clock=clock)
    site.init(site_id=SITE_ID, broker_hosts=["hub.local"])
    return site


def test_init_then_node_add_run_twice_changes_no_byte(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby")
    first = _snapshot(site_dir)
    site.init(site_id=SITE_ID, broker_hosts=["hub.local"])
    again = site.add_node("lobby")
    assert _snapshot(site_dir) == first
    assert not again.created and not again.credentials_issued


def test_cli_rerun_keeps_the_node_password_and_command_key(site_dir):
    args = ["--dir", str(site_dir)]
    assert provision.main(["init", *args, "--site", SITE_ID, "--broker-host", "hub.local"]) == 0
    assert provision.main(["node", "add", "gate", *args]) == 0
    bundle = site_dir / "bundles" / "gate"
    before = {f: (bundle / f).read_bytes() for f in ("mqtt.password", "command.key")}
    assert provision.main(["node", "add", "gate", *args]) == 0
    assert {f: (bundle / f).read_bytes() for f in before} == before


def test_rotate_issues_a_new_password_and_command_key(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby")
    old_pw, old_key = site.node_password("lobby"), site.command_key_file("lobby").read_text()
    res = site.add_node("lobby", rotate=True)
    assert res.credentials_issued
    assert site.node_password("lobby") != old_pw
    assert site.command_key_file("lobby").read_text() != old_key


def test_every_secret_file_is_0600(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby")
    secrets = [site.ca_key, site.signing_key, site.broker_dir / "server.key", site.broker_dir / "passwd",
               site.console_password_file, site.command_key_file("lobby"),
               site.node_password_file("lobby"), site.bundle_dir("lobby") / "mqtt.password",
               site.bundle_dir("lobby") / "command.key", site_dir / "bundles" / "lobby.tar.gz"]
    assert {str(p): stat.S_IMODE(p.stat().st_mode) for p in secrets} == {str(p): 0o600 for p in secrets}


def test_broker_password_file_holds_hashes_not_passwords(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby")
    passwd = (site.broker_dir / "passwd").read_text()
    assert site.node_password("lobby") not in passwd and site.console_password() not in passwd
    assert [line.split(":")[0] for line in passwd.split()] == ["console", "lobby"]


def test_bundle_config_points_at_the_tls_listener_with_the_bundled_files(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby")
    conf = tomllib.loads((site.bundle_dir("lobby") / "node.toml").read_text())
    assert conf["node"]["id"] == "lobby" and conf["node"]["site"] == SITE_ID
    want = {"host": "hub.local", "port": 8883, "username": "lobby", "tls": True,
            "ca_file": "ca.crt", "password_file": "mqtt.password"}
    assert {k: conf["mqtt"][k] for k in want} == want
    assert conf["commands"] == {"key_file": "command.key"}


def test_bundle_config_is_valid_for_the_node_runtime(site_dir, fixed_clock, tmp_path):
    edge_config = pytest.importorskip("edge.config")
    hw = tmp_path / "hw.toml"
    hw.write_text('[gpio]\npin_factory = "mock"\n\n[[relays]]\nname = "strike"\npin = 17\n')
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby", hardware=hw)
    conf = edge_config.load_config(site.bundle_dir("lobby") / "node.toml")
    assert conf.mqtt.password == site.node_password("lobby")
    assert conf.mqtt.tls and conf.mqtt.ca_file == site.bundle_dir("lobby").resolve() / "ca.crt"


def test_bundle_archive_holds_config_keys_ca_and_unit(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    res = site.add_node("lobby")
    with tarfile.open(res.archive) as tar:
        names = sorted(tar.getnames())
        key = tar.extractfile("lobby/command.key").read()
    assert names == ["lobby", "lobby/ca.crt", "lobby/command.key", "lobby/lobbygate-node.service",
                     "lobby/mqtt.password", "lobby/node.toml", "lobby/site-signing.pub"]
    assert key == site.command_key_file("lobby").read_bytes()
    assert len(bytes.fromhex(key.decode().strip())) == 32


def test_console_gets_each_active_nodes_command_key_file(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    for n in ("lobby", "gate"):
        site.add_node(n)
    site.revoke_node("gate")
    conf = tomllib.loads((site.console_dir / "nodes.toml").read_text())
    assert conf["nodes"] == {"lobby": {"command_key_file": str(site.command_key_file("lobby").resolve())}}
    assert conf["mqtt"]["username"] == "console" and conf["mqtt"]["tls"] is True


def test_revoke_removes_the_broker_account_key_and_bundle(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby")
    site.add_node("gate")
    assert site.revoke_node("gate")
    assert "gate:" not in (site.broker_dir / "passwd").read_text()
    assert not site.command_key_file("gate").exists()
    assert not site.bundle_dir("gate").exists()
    assert not (site_dir / "bundles" / "gate.tar.gz").exists()
    assert site.load().nodes["gate"].state == "revoked"
    assert not site.revoke_node("gate")  # idempotent


def test_revoking_an_unknown_node_is_an_error(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    with pytest.raises(ProvisionError, match="no node"):
        site.revoke_node("ghost")


def test_re_adding_a_revoked_node_issues_new_credentials(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("gate")
    old = site.node_password("gate")
    site.revoke_node("gate")
    res = site.add_node("gate")
    assert res.credentials_issued and site.node_password("gate") != old
    assert site.load().nodes["gate"].state == "active"


def test_node_id_outside_the_contract_is_refused(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    for bad in ("Lobby", "console", "a/b", ""):
        with pytest.raises(ProvisionError):
            site.add_node(bad)


def test_broker_host_outside_the_certificate_is_refused(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    with pytest.raises(ProvisionError, match="--broker-host 10.0.0.5"):
        site.add_node("lobby", host="10.0.0.5")


def test_adding_a_broker_host_reissues_the_certificate_with_the_same_key(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    key_before = (site.broker_dir / "server.key").read_bytes()
    site.init(site_id=SITE_ID, broker_hosts=["192.168.7.2"])
    cert = pki.load_cert(site.broker_dir / "server.crt")
    assert {"hub.local", "192.168.7.2", "localhost", "127.0.0.1"} <= pki.cert_hosts(cert)
    assert (site.broker_dir / "server.key").read_bytes() == key_before


def test_init_refuses_a_directory_holding_another_site(site_dir, fixed_clock):
    _site(site_dir, fixed_clock)
    with pytest.raises(ProvisionError, match="already holds site"):
        Site(site_dir).init(site_id="other-site")


def test_hardware_fragment_goes_into_node_config_and_is_remembered(site_dir, fixed_clock, tmp_path):
    hw = tmp_path / "lobby-hw.toml"
    hw.write_text('[gpio]\npin_factory = "lgpio"\n\n[[relays]]\nname = "strike"\npin = "GPIO17"\n'
                  'active_high = true\n')
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby", hardware=hw)
    site.add_node("lobby")  # a later run without --hardware keeps it
    conf = tomllib.loads((site.bundle_dir("lobby") / "node.toml").read_text())
    assert conf["relays"] == [{"name": "strike", "pin": "GPIO17", "active_high": True}]


def test_hardware_fragment_may_not_set_provisioned_sections(site_dir, fixed_clock, tmp_path):
    hw = tmp_path / "evil.toml"
    hw.write_text('[mqtt]\nhost = "evil.example"\n')
    site = _site(site_dir, fixed_clock)
    with pytest.raises(ProvisionError, match="mqtt"):
        site.add_node("lobby", hardware=hw)


def test_signing_key_pair_matches_and_nodes_get_only_the_public_half(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby")
    key = pki.load_signing_key(site.signing_key)
    pub = pki.load_public_key(site.bundle_dir("lobby") / "site-signing.pub")
    pub.verify(key.sign(b"pass"), b"pass")  # raises if the halves do not match
    assert b"PRIVATE" not in b"".join(p.read_bytes() for p in site.bundle_dir("lobby").iterdir())


def test_node_list_shows_state(site_dir, capsys):
    args = ["--dir", str(site_dir)]
    provision.main(["init", *args, "--site", SITE_ID, "--broker-host", "hub.local"])
    provision.main(["node", "add", "lobby", *args])
    provision.main(["node", "add", "gate", *args])
    provision.main(["node", "revoke", "gate", *args])
    capsys.readouterr()
    assert provision.main(["node", "list", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["gate", "revoked"], ["lobby", "active"]]


def test_cli_without_a_site_explains_what_to_run(site_dir, capsys):
    assert provision.main(["node", "add", "lobby", "--dir", str(site_dir)]) == 1
    assert "provision init" in capsys.readouterr().err


def test_console_config_is_valid_for_the_console_and_includes_the_nodes(site_dir, fixed_clock):
    web_config = pytest.importorskip("web.config")
    site = _site(site_dir, fixed_clock)
    site.add_node("lobby")
    conf = web_config.load_config(site.console_config)
    assert conf.site == SITE_ID
    assert conf.mqtt.username == "console" and conf.mqtt.password == site.console_password()
    assert conf.node_keys == {"lobby": bytes.fromhex(site.command_key_file("lobby").read_text())}


def test_console_config_is_written_once_then_left_to_the_operator(site_dir, fixed_clock):
    site = _site(site_dir, fixed_clock)
    site.console_config.write_text(site.console_config.read_text().replace("8080", "8443"))
    site.init(site_id=SITE_ID)
    site.add_node("lobby")
    assert "listen_port = 8443" in site.console_config.read_text()


def test_unknown_owner_is_a_clear_error(site_dir, fixed_clock):
    site = Site(site_dir, clock=fixed_clock, broker_owner="no-such-user-xyz")
    with pytest.raises(FirmwareError, match="no such user"):
        site.init(site_id=SITE_ID, broker_hosts=["hub.local"])


def test_console_config_names_the_site_signing_key(site_dir, fixed_clock):
    web_config = pytest.importorskip("web.config")
    site = _site(site_dir, fixed_clock)
    conf = web_config.load_config(site.console_config)
    assert conf.signing_key_file == site.signing_key
