"""``lobbygate node --config FILE [--check-config]`` and the ``lobbygate`` dispatcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import cli as node_cli
from lobbygate import cli as lobbygate_cli


def test_bad_config_exits_2_and_prints_every_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "node.toml"
    path.write_text('[node]\nid = "lobby"\nsite = "s"\n[mqtt]\nhost = "b"\nport = 0\n'
                    '[commands]\nkey = "00"\n')
    assert node_cli.main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    for line in ("node.journal: required", "mqtt.port: must be >= 1",
                 "mqtt.password: required", "commands.key: must be at least 16 bytes"):
        assert line in err


def test_check_config_exits_0_on_a_good_config(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "node.toml"
    path.write_text('[node]\nid = "lobby"\nsite = "s"\njournal = "j.db"\n'
                    '[mqtt]\nhost = "b"\npassword = "p"\n[commands]\nkey = "' + "00" * 16 + '"\n')
    assert node_cli.main(["--config", str(path), "--check-config"]) == 0
    assert "configuration ok" in capsys.readouterr().out
    assert not (tmp_path / "j.db").exists()  # checking does not start anything


def test_lobbygate_dispatches_node_to_edge_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert lobbygate_cli.COMMANDS["node"] == "edge.cli:main"
    assert lobbygate_cli.main(["node", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_lobbygate_unknown_command_exits_2(capsys: pytest.CaptureFixture) -> None:
    assert lobbygate_cli.main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err
