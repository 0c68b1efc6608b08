"""The demo's self-check, run as a user runs it, what it leaves behind in its directory, and its
clean shutdown."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from firmware.probe import wait_until
from lobbygate.demo_nodes import METERS, PATROL_ROUTE
from lobbygate.demo_people import KEYS, STAFF_USERS
from lobbygate.demo_seed import meter_register


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); read its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _children_of(pid: int) -> list[int]:
    out = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat_file.parent.name))
    return out


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """``lobbygate demo --check --dir DIR``, run once for the tests of this module."""
    directory = tmp_path_factory.mktemp("demo-check") / "demo"
    proc = subprocess.run([sys.executable, "-m", "lobbygate.cli", "demo", "--check",
                           "--dir", str(directory)],
                          capture_output=True, text=True, timeout=150)
    return proc, directory


def test_demo_check_exits_zero_with_one_summary_line(checked) -> None:
    proc, _ = checked
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("demo check OK:"), proc.stdout
    assert "4 nodes (lobby " in lines[0] and "desk " in lines[0] and "plant " in lines[0]


def test_demo_check_stored_every_scripted_device_kind(checked) -> None:
    proc, directory = checked
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with sqlite3.connect(f"file:{directory / 'console' / 'console.sqlite'}?mode=ro", uri=True) as c:
        kinds = {(n, k) for n, k in c.execute("SELECT DISTINCT node, kind FROM events")}
        granted = c.execute("SELECT data FROM events WHERE node = 'lobby' AND kind = 'door.granted'"
                            ).fetchone()[0]
    assert {("lobby", "door.granted"), ("lobby", "door.denied"), ("gate", "door.granted"),
            ("gate", "door.denied"), ("lobby", "intercom.call"), ("lobby", "intercom.invite_admitted"),
            ("gate", "goods_pass.released"), ("lobby", "patrol.tap"), ("gate", "patrol.tap"),
            ("plant", "patrol.tap"), ("desk", "cabinet.denied"), ("desk", "cabinet.granted"),
            ("desk", "key.taken"), ("desk", "key.returned"), ("plant", "meter.total")} <= kinds
    assert "王建国" in granted


def test_demo_console_signs_with_a_private_site_key_the_nodes_know(checked) -> None:
    _, directory = checked
    conf = tomllib.loads((directory / "console" / "console.toml").read_text())
    key_file = Path(conf["console"]["signing_key_file"])
    assert key_file.is_file() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes()
    assert b"PUBLIC KEY" in (directory / "site-signing.pub").read_bytes()


def test_demo_console_database_is_seeded_with_residents_and_credentials(checked) -> None:
    _, directory = checked
    with sqlite3.connect(f"file:{directory / 'console' / 'console.sqlite'}?mode=ro", uri=True) as c:
        units = c.execute("SELECT COUNT(*) FROM units").fetchone()[0]
        holders = {r[0] for r in c.execute("SELECT holder FROM credentials")}
    assert units >= 4 and {"王建国", "李秀英", "张伟"} <= holders


@pytest.fixture
def console_after(checked):
    """The checked demo's console database, opened through the console's stores."""
    from web.services import ServicesConfig, build_services
    _, directory = checked
    services = build_services(ServicesConfig(db_path=directory / "console" / "console.sqlite",
                                             site="demo")).open()
    yield services
    services.stop()


def test_demo_check_left_a_returned_cabinet_loan_at_the_console(checked, console_after) -> None:
    assert checked[0].returncode == 0
    loans = console_after.keys.loans.search(key=KEYS[0].number)
    assert [(loan.state, loan.holder) for loan in loans] == [("returned", "s-desk-sun")]


def test_demo_check_left_the_patrol_round_completed_at_the_console(checked, console_after) -> None:
    assert checked[0].returncode == 0
    today = console_after.patrol.today()
    rounds = console_after.patrol.rounds_for_day(today)
    assert [r.state for r in rounds if r.visited == len(PATROL_ROUTE)] == ["completed"]


def test_demo_check_released_a_console_issued_goods_pass(checked, console_after) -> None:
    assert checked[0].returncode == 0
    released = console_after.passes.search(state="released")
    assert len(released) == 1 and released[0].issued_by == "demo"


def test_demo_check_stored_each_meters_reading_after_its_demo_history(checked, console_after) -> None:
    assert checked[0].returncode == 0
    for name, _slave, map_name, _unit, total in METERS:
        latest = console_after.meters.readings.latest(name, meter_register(map_name))
        assert latest.reason == "first" and latest.value == pytest.approx(total, abs=0.01)


def test_demo_stops_everything_it_started_on_sigint(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "lobbygate.cli", "demo",
                             "--dir", str(tmp_path / "demo"), "--interval-ms", "500"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner = ""
        for line in proc.stdout:  # the banner ends with the Ctrl-C hint
            banner += line
            if "Ctrl-C" in line:
                break
        assert "console:  http://127.0.0.1:" in banner and "log in:   admin / " in banner
        assert all(f" {name} / " in banner for name, _role in STAFF_USERS)
        children = _children_of(proc.pid)
        assert len(children) >= 2, "broker and console should run as child processes"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert wait_until(lambda: not any(_alive(c) for c in children), timeout_s=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
