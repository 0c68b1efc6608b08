"""``lobbygate user ...`` and ``lobbygate console`` (a real waitress server in a subprocess,
stopped by its PID with SIGTERM)."""

from __future__ import annotations

import http.cookiejar
import io
import re
import selectors
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from lobbygate.cli import COMMANDS
from web.audit import USER_ADD, AuditLog
from web.auth.users import UserStore
from web.cli import user_main
from web.db import Database

from console_helpers import SECRET

PW = "a good long password"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "console.toml"
    path.write_text(f'[console]\nsite = "test-site"\ndb = "console.db"\nusers_db = "users.json"\n'
                    f'secret_key = "{SECRET}"\nlisten_port = 0\nthreads = 4\n', encoding="utf-8")
    return path


def _user(config_file: Path, monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return user_main(["--config", str(config_file), *args])


def test_commands_are_registered() -> None:
    assert COMMANDS["console"] == "web.cli:console_main"
    assert COMMANDS["user"] == "web.cli:user_main"


def test_user_add_with_password_on_stdin(config_file, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    assert _user(config_file, monkeypatch, "add", "wang", "--role", "admin", "--password-stdin",
                 stdin=PW + "\n") == 0
    store = UserStore(config_file.parent / "users.json")
    assert store.authenticate("wang", PW).role == "admin"
    assert "user wang added (admin)" in capsys.readouterr().out


def test_user_add_is_audited_as_cli(config_file, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _user(config_file, monkeypatch, "add", "wang", "--role", "desk", "--password-stdin", stdin=PW)
    with Database(config_file.parent / "console.db") as db:
        (entry,) = AuditLog(db).search(action=USER_ADD)
    assert entry.user.startswith("cli:") and entry.target == "wang"


def test_weak_password_is_refused(config_file, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    assert _user(config_file, monkeypatch, "add", "wang", "--role", "admin", "--password-stdin",
                 stdin="short\n") == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert UserStore(config_file.parent / "users.json").get("wang") is None


def test_password_is_asked_twice_without_stdin(config_file, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    answers = iter([PW, PW + "typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert _user(config_file, monkeypatch, "add", "wang", "--role", "guard") == 1
    assert "differ" in capsys.readouterr().err


def test_user_list_and_passwd(config_file, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _user(config_file, monkeypatch, "add", "wang", "--role", "guard", "--password-stdin", stdin=PW)
    assert _user(config_file, monkeypatch, "passwd", "wang", "--password-stdin",
                 stdin="the new password\n") == 0
    assert _user(config_file, monkeypatch, "list") == 0
    out = capsys.readouterr().out
    assert re.search(r"^wang\s+guard\s+active", out, re.M)
    assert UserStore(config_file.parent / "users.json").authenticate("wang", "the new password")


def test_bad_user_name_is_refused(config_file, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    assert _user(config_file, monkeypatch, "add", "Bad Name", "--role", "admin",
                 "--password-stdin", stdin=PW) == 1
    assert "refused" in capsys.readouterr().err


def test_bad_config_lists_every_problem(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text('[console]\nsite = "X"\nlisten_port = -1\n', encoding="utf-8")
    assert user_main(["--config", str(bad), "list"]) == 2
    err = capsys.readouterr().err
    for key in ("console.site", "console.listen_port", "console.db", "console.users_db",
                "console.secret_key"):
        assert key in err


# -- lobbygate console -----------------------------------------------------------------------

def _read_line(proc: subprocess.Popen, timeout_s: float) -> str:  # type: ignore[type-arg]
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout_s):
        raise AssertionError("the console printed nothing")
    return proc.stdout.readline()


@pytest.fixture
def console_proc(config_file):  # type: ignore[no-untyped-def]
    UserStore(config_file.parent / "users.json", hash_method="pbkdf2:sha256:1000").add(
        "admin1", PW, role="admin")
    proc = subprocess.Popen([sys.executable, "-m", "lobbygate.cli", "console", "--config",
                             str(config_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = _read_line(proc, 30)
        match = re.search(r"serving test-site on (http://[\d.]+:\d+)", line)
        assert match, line + proc.stderr.read() if proc.poll() is not None else line
        yield proc, match.group(1)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def _login(base: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "username": "admin1", "password": PW})
    resp = opener.open(base + "/login", data=data.encode(), timeout=10)
    assert resp.url == base + "/"
    return opener


def test_console_serves_pages_and_stops_cleanly_on_sigterm(console_proc) -> None:  # type: ignore[no-untyped-def]
    proc, base = console_proc
    opener = _login(base)
    assert "总览" in opener.open(base + "/", timeout=10).read().decode()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert "stopped" in proc.stdout.read()


def test_console_stops_promptly_with_a_live_stream_open(console_proc) -> None:  # type: ignore[no-untyped-def]
    proc, base = console_proc
    opener = _login(base)
    stream = opener.open(base + "/live/stream", timeout=10)
    assert stream.readline().startswith(b"retry:")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(15) == 0
    stream.close()
