"""What goes onto the card besides the package: systemd units, udev rule and `serial-list`,
boot configuration, installers."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from firmware import adapters, boot_config, serial_list
from lobbygate.cli import COMMANDS

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
UNITS = ["lobbygate-node.service", "lobbygate-console.service"]


def _unit(name: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # systemd keys are case-sensitive
    cp.read(FIRMWARE / "systemd" / name)
    return cp


@pytest.mark.parametrize("name", UNITS)
def test_unit_is_a_watched_notify_service_restarted_on_failure(name):
    s = _unit(name)["Service"]
    assert (s["Type"], s["WatchdogSec"], s["Restart"]) == ("notify", "30", "on-failure")
    assert s["ExecStart"].startswith("/opt/lobbygate/current/venv/bin/lobbygate ")


@pytest.mark.parametrize("name", UNITS)
def test_unit_runs_hardened_as_the_service_user(name):
    s = _unit(name)["Service"]
    assert s["User"] == "lobbygate"
    assert (s["ProtectSystem"], s["ReadWritePaths"]) == ("strict", "/var/lib/lobbygate")
    assert (s["NoNewPrivileges"], s["PrivateTmp"]) == ("yes", "yes")


def test_node_unit_reaches_gpio_and_serial_devices():
    s = _unit("lobbygate-node.service")["Service"]
    assert set(s["SupplementaryGroups"].split()) == {"gpio", "dialout"}
    assert s.get("PrivateDevices", "no") == "no" and "DeviceAllow" not in s and "ProtectClock" not in s


@pytest.mark.parametrize("name", UNITS)
def test_unit_command_is_a_lobbygate_subcommand(name):
    sub = _unit(name)["Service"]["ExecStart"].split()[1]
    if sub == "console" and sub not in COMMANDS:
        pytest.skip("the console has not registered `lobbygate console` yet")
    assert sub in COMMANDS


@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_finds_nothing_but_the_uninstalled_executable(name, tmp_path):
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze not installed")
    res = subprocess.run([exe, "verify", "--man=no", str(FIRMWARE / "systemd" / name)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=30)
    problems = [line for line in (res.stdout + res.stderr).splitlines()
                if line.strip() and "/opt/lobbygate/current/venv/bin/lobbygate is not executable" not in line]
    assert problems == []


# -- udev and serial-list ---------------------------------------------------------------------

def test_shipped_udev_rules_match_the_adapter_table():
    assert (FIRMWARE / "udev" / "99-lobbygate.rules").read_text() == adapters.render_rules(), \
        "regenerate with: python -m firmware.adapters"


def test_udev_rules_name_each_adapter_under_dev_lobbygate():
    rules = adapters.render_rules()
    for vid in ("0403", "1a86", "10c4"):  # FTDI, CH340, CP210x
        assert f'ENV{{ID_VENDOR_ID}}=="{vid}"' in rules
    assert 'SYMLINK+="lobbygate/rs485-ftdi-$env{LOBBYGATE_ID}"' in rules


def test_udevadm_verify_accepts_the_rules():
    exe = shutil.which("udevadm")
    if exe is None or subprocess.run([exe, "verify", "--help"], capture_output=True).returncode != 0:
        pytest.skip("udevadm verify needs systemd >= 254")
    res = subprocess.run([exe, "verify", str(FIRMWARE / "udev" / "99-lobbygate.rules")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def _port(device, vid, pid, serial=None, location=None, description="n/a"):
    p = ListPortInfo(device, skip_link_detection=True)
    p.vid, p.pid, p.serial_number, p.location, p.description = vid, pid, serial, location, description
    return p


def test_adapter_with_serial_number_is_named_by_it():
    k = adapters.find_kind(0x0403, 0x6001)
    assert adapters.stable_name(k, serial="A10K 12/34", location="1-1.2:1.0") == "lobbygate/rs485-ftdi-A10K_12_34"


def test_adapter_without_serial_number_is_named_by_its_usb_port():
    k = adapters.find_kind(0x1a86, 0x7523)
    assert adapters.stable_name(k, serial=None, location="1-1.3:1.0") == "lobbygate/rs485-ch340-port1.3"


def test_multi_port_adapter_names_carry_the_interface():
    k = adapters.find_kind(0x0403, 0x6010)
    assert adapters.stable_name(k, serial="FT1", location="1-1.2:1.1") == "lobbygate/rs485-ft2232-FT1-if01"


def test_scanner_vendor_matches_any_product():
    assert adapters.find_kind(0x0c2e, 0x0b61).role == "scanner"


def test_serial_list_shows_known_adapters_with_their_stable_names(capsys):
    ports = [_port("/dev/ttyUSB0", 0x0403, 0x6001, "A10K1234", "1-1.2:1.0"),
             _port("/dev/ttyAMA0", None, None),
             _port("/dev/ttyACM0", 0x0c2e, 0x0b61, "22114B", "1-1.4:1.0")]
    assert serial_list.main([], comports=lambda: ports) == 0
    out = capsys.readouterr().out
    assert "/dev/lobbygate/rs485-ftdi-A10K1234" in out and "/dev/lobbygate/scanner-honeywell-22114B" in out
    assert "ttyAMA0" not in out


def test_serial_list_all_includes_unknown_ports():
    ports = [_port("/dev/ttyAMA0", None, None)]
    listed = serial_list.list_ports(ports, exists=lambda p: False)
    assert [(a.device, a.link) for a in listed] == [("/dev/ttyAMA0", None)]


# -- boot configuration -----------------------------------------------------------------------

def test_shipped_config_txt_block_is_the_default_block():
    text = (FIRMWARE / "boot" / "config.txt").read_text()
    start, end = text.index(boot_config.BEGIN), text.index(boot_config.END) + len(boot_config.END) + 1
    assert text[start:end] == boot_config.render_block()


def test_boot_block_enables_the_uart_and_frees_it_from_bluetooth():
    lines = boot_config.render_block().splitlines()
    assert "enable_uart=1" in lines and "dtoverlay=disable-bt" in lines
    assert "dtoverlay=miniuart-bt" in boot_config.render_block(keep_bluetooth=True)


def test_gpio_lines_follow_the_node_inputs_and_relay_safe_states():
    conf = {"inputs": [{"name": "door", "pin": "GPIO5"}, {"name": "btn", "pin": 6, "pull_up": False}],
            "relays": [{"name": "strike", "pin": 17},
                       {"name": "maglock", "pin": "GPIO27", "safe_state": "on"},
                       {"name": "cheap", "pin": 22, "active_high": False}]}
    assert boot_config.gpio_lines(conf) == ["gpio=5=ip,pu", "gpio=6=ip,pd", "gpio=17=op,dl",
                                            "gpio=27=op,dh", "gpio=22=op,dh"]


def test_boot_config_replaces_its_block_and_keeps_the_rest(tmp_path):
    (tmp_path / "config.txt").write_text("dtparam=audio=on\n[pi4]\narm_boost=1\n")
    (tmp_path / "cmdline.txt").write_text("console=serial0,115200 console=tty1 root=PARTUUID=ab-02 rootwait\n")
    assert boot_config.main(["--boot-dir", str(tmp_path)]) == 0
    first = (tmp_path / "config.txt").read_text()
    assert boot_config.main(["--boot-dir", str(tmp_path), "--keep-bluetooth"]) == 0
    text = (tmp_path / "config.txt").read_text()
    assert text.startswith("dtparam=audio=on\n[pi4]\narm_boost=1\n") and text.count(boot_config.BEGIN) == 1
    assert "miniuart-bt" in text and "disable-bt" in first
    assert (tmp_path / "cmdline.txt").read_text() == "console=tty1 root=PARTUUID=ab-02 rootwait\n"


# -- installers -------------------------------------------------------------------------------

SCRIPTS = ["install-node.sh", "install-console.sh", "install-common.sh", "check-in-chroot.sh"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_installer_parses(script):
    subprocess.run(["bash", "-n", str(FIRMWARE / script)], check=True)


@pytest.mark.parametrize("script", SCRIPTS)
def test_installer_passes_shellcheck(script):
    exe = shutil.which("shellcheck")
    if exe is None:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    res = subprocess.run([exe, "-x", script], cwd=FIRMWARE, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


@pytest.mark.parametrize("script", ["install-node.sh", "install-console.sh"])
def test_installer_is_strict_and_checks_for_root(script):
    text = (FIRMWARE / script).read_text()
    assert "set -euo pipefail" in text and "\nneed_root\n" in text


@pytest.mark.parametrize("script", ["install-node.sh", "install-console.sh"])
def test_installer_help_runs_without_touching_the_system(script):
    res = subprocess.run(["bash", str(FIRMWARE / script), "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "--source" in res.stdout


@pytest.mark.parametrize("name, target", [
    ("provision", "firmware.provision:main"), ("broker-config", "firmware.broker_config:main"),
    ("serial-list", "firmware.serial_list:main"), ("update", "firmware.update_cli:main"),
    ("boot-config", "firmware.boot_config:main")])
def test_firmware_subcommands_are_registered(name, target):
    assert COMMANDS[name] == target


def test_lobbygate_command_dispatches_to_provision(tmp_path, capsys):
    from lobbygate.cli import main
    assert main(["provision", "init", "--dir", str(tmp_path / "s"), "--site", "abc",
                 "--broker-host", "hub.local"]) == 0
    assert "site abc" in capsys.readouterr().out
