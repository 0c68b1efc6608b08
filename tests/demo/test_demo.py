"""The demo's self-check, run as a user runs it, and its clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from firmware.probe import wait_until


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
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_demo_check_exits_zero_with_one_summary_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lobbygate.cli", "demo", "--check",
                           "--dir", str(tmp_path / "demo")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("demo check OK:"), proc.stdout


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
        children = _children_of(proc.pid)
        assert len(children) >= 2, "broker and console should run as child processes"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert wait_until(lambda: not any(_alive(c) for c in children), timeout_s=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
