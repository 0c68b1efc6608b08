"""The shipped simulated sample config runs as `lobbygate node` and its card reads reach a
subscriber."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import edge
from mqtt_topics import EventEnvelope

from edge_helpers import KEYS

SAMPLE = Path(edge.__file__).parent / "samples" / "node-sim.toml"


def test_node_from_the_simulated_sample_publishes_card_reads(broker, probe, tmp_path):
    conf = tmp_path / "node-sim.toml"
    text = SAMPLE.read_text().replace('site = "demo"', 'site = "test-site"')
    conf.write_text(text.replace("port = 1883", f"port = {broker.port}"))
    (tmp_path / "mqtt-password").write_text(broker.accounts["lobby"].password)
    (tmp_path / "command-key").write_text(KEYS["lobby"].hex())
    proc = subprocess.Popen([sys.executable, "-m", "lobbygate.cli", "node", "--config", str(conf)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        reads = probe.wait_count(3, topic_contains="/lobby/event/card.read", timeout_s=30)
        assert len(reads) >= 3, proc.stderr.read1().decode() if proc.poll() is not None else ""
        env = EventEnvelope.from_json(reads[0].payload)
        assert env.data["reader"] == "lobby-in"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        proc.stderr.close()
