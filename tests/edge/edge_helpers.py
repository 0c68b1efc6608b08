"""Helpers for the node runtime tests: configs (as dicts, TOML files or NodeConfig), nodes
in-process and as subprocesses (stopped by PID), signed commands, and a probe whose MQTT session
survives a broker restart. conftest.py re-exports the fixtures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import edge
from edge.config import NodeConfig, parse_config
from edge.node import Node
from firmware.mosquitto import MosquittoBroker
from firmware.probe import Message, MqttProbe
from mqtt_topics import CommandEnvelope, EventEnvelope
from mqtt_topics import topics as T

REPO = Path(edge.__file__).resolve().parent.parent
SITE = "test-site"
KEYS = {"lobby": bytes(range(1, 33)), "gate": bytes(range(101, 133))}


# -- configs -------------------------------------------------------------------------------------

def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def config_dict(broker: MosquittoBroker, tmp_path: Path, node_id: str = "lobby",
                **sections: Any) -> dict:
    """A node config for ``node_id`` against ``broker``: fast reconnects, no health chatter,
    mock GPIO. ``sections`` are merged in (``relays=[...]``, ``node={...}``)."""
    node = node_id
    creds = broker.credentials(node)
    base = {
        "node": {"id": node, "site": SITE, "journal": str(tmp_path / f"{node}-journal.db"),
                 "health_interval_s": 3600},
        "mqtt": {"host": creds["host"], "port": creds["port"], "password": creds["password"],
                 "reconnect_min_s": 0.05, "reconnect_max_s": 0.25},
        "commands": {"key": KEYS[node].hex()},
        "gpio": {"pin_factory": "mock"},
    }
    return _merge(base, sections)


def node_config(*args: Any, **kwargs: Any) -> NodeConfig:
    return parse_config(config_dict(*args, **kwargs))


def to_toml(data: dict) -> str:
    """Just enough TOML for node configs: tables, arrays of tables, scalars, lists of strings."""
    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        raise TypeError(v)

    lines: list[str] = []
    for name, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{name}]]")
                lines += [f"{k} = {scalar(v)}" for k, v in item.items()]
        else:
            lines.append(f"[{name}]")
            lines += [f"{k} = {scalar(v)}" for k, v in value.items()]
        lines.append("")
    return "\n".join(lines)


def write_config(path: Path, data: dict) -> Path:
    path.write_text(to_toml(data))
    return path


# -- nodes ---------------------------------------------------------------------------------------

@pytest.fixture
def start_node() -> Iterator[Callable[..., Node]]:
    """``start_node(config, **kwargs) -> Node`` (started); every node is stopped at teardown."""
    nodes: list[Node] = []

    def start(config: NodeConfig, **kwargs: Any) -> Node:
        node = Node(config, drain_s=0.5, **kwargs)
        nodes.append(node)
        return node.start()

    yield start
    for node in reversed(nodes):
        node.stop()


class NodeProcess:
    """``lobbygate node --config FILE`` as a child process, stopped only by its own PID."""

    def __init__(self, config_path: Path, log_path: Path, *, env: dict[str, str] | None = None) -> None:
        self.config_path, self.log_path = config_path, log_path
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None

    def start(self) -> "NodeProcess":
        env = dict(os.environ, PYTHONPATH=str(REPO))
        for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            env.pop(name, None)
        env.update(self.extra_env)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "lobbygate.cli", "node", "--config", str(self.config_path)],
                cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL (a power cut, as far as the process is concerned) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def terminate(self, timeout_s: float = 15) -> int:
        """SIGTERM (a clean stop) and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def node_processes() -> Iterator[list[NodeProcess]]:
    """Collects NodeProcess objects; any still running at teardown is killed by PID."""
    procs: list[NodeProcess] = []
    yield procs
    for p in procs:
        p.kill()


# -- MQTT helpers --------------------------------------------------------------------------------

def probe_for(broker: MosquittoBroker, username: str, topic_filter: str | None = None,
              **kwargs: Any) -> MqttProbe:
    creds = broker.credentials(username)
    return MqttProbe(host=creds["host"], port=creds["port"], username=username,
                     password=creds["password"], topic_filter=topic_filter or T.site_filter(SITE),
                     **kwargs)


@pytest.fixture
def console(broker: MosquittoBroker) -> Iterator[MqttProbe]:
    """A client with the console's rights (publish anywhere), watching the whole site."""
    with probe_for(broker, "console") as p:
        yield p


def events(messages: list[Message], kind: str | None = None) -> list[EventEnvelope]:
    """Every event envelope among ``messages`` (of ``kind`` if given), in arrival order."""
    out = []
    for m in messages:
        if "/event/" in m.topic and (kind is None or m.topic.endswith(f"/event/{kind}")):
            out.append(EventEnvelope.from_json(m.payload))
    return out


class EventLog:
    """The events among a probe's messages, parsed incrementally: call it with the (growing)
    message list inside a ``wait_for`` predicate and only the new messages are parsed, so waiting
    for thousands of events stays linear. Not thread-safe: one waiting thread per log."""

    def __init__(self) -> None:
        self._parsed = 0
        self.events: list[EventEnvelope] = []
        self.seqs: set[int] = set()
        self.positions: list[int] = []  # index in the message list of each event

    def __call__(self, messages: list[Message]) -> "EventLog":
        for i in range(self._parsed, len(messages)):
            m = messages[i]
            if "/event/" in m.topic:
                e = EventEnvelope.from_json(m.payload)
                self.events.append(e)
                self.seqs.add(e.seq)
                self.positions.append(i)
        self._parsed = len(messages)
        return self

    def since(self, index: int) -> int:
        """How many events arrived at or after message ``index``."""
        return sum(1 for p in self.positions if p >= index)


def statuses(messages: list[Message], node: str = "lobby") -> list[tuple[dict, bool]]:
    topic = T.status(SITE, node)
    return [(json.loads(m.payload), m.retain) for m in messages if m.topic == topic]


def command(node: str, action: str, now_ms: int, *, args: dict | None = None,
            ttl_ms: int = 60_000, key: bytes | None = None, issued_at: int | None = None) -> CommandEnvelope:
    """A command signed with the node's key (or ``key``)."""
    env = CommandEnvelope.create(node=node, action=action, issued_by="tester",
                                 now_ms=now_ms if issued_at is None else issued_at,
                                 ttl_ms=ttl_ms, args=args or {})
    return env.signed(key if key is not None else KEYS[node])


class SessionProbe:
    """A subscriber with a persistent session (clean_session=False, fixed client id) that
    reconnects quickly, so messages published while it was away during a broker restart are
    queued for it by the broker and still arrive."""

    def __init__(self, broker: MosquittoBroker, *, username: str = "observer",
                 topic_filter: str | None = None, client_id: str = "test-session-probe") -> None:
        creds = broker.credentials(username)
        self._host, self._port = creds["host"], creds["port"]
        self._filter = topic_filter or T.site_filter(SITE)
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=False)
        self._client.username_pw_set(username, creds["password"])
        self._client.reconnect_delay_set(0.05, 0.25)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._cond = threading.Condition()
        self.messages: list[Message] = []
        self.connects = 0
        self._subscribed = False

    def _on_connect(self, client, userdata, flags, rc, props=None) -> None:
        if not rc.is_failure:
            client.subscribe(self._filter, qos=1)
            with self._cond:
                self.connects += 1
                self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, rcs, props=None) -> None:
        with self._cond:
            self._subscribed = True
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg) -> None:
        with self._cond:
            self.messages.append(Message(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos))
            self._cond.notify_all()

    def start(self) -> "SessionProbe":
        self._client.connect(self._host, self._port, keepalive=30)
        self._client.loop_start()
        with self._cond:
            assert self._cond.wait_for(lambda: self._subscribed, 10), "session probe: no SUBACK"
        return self

    def wait_for(self, predicate: Callable[[list[Message]], bool], *, timeout_s: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.messages), timeout_s)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> "SessionProbe":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


#: The sample node configuration shipped with the package.
SAMPLE_NODE_TOML = Path(edge.__file__).resolve().parent / "samples" / "node.toml"


def sample_with_example(tmp_path: Path, header: str) -> Path:
    """The sample node.toml with its commented ``# [<header>]`` block (up to the first line not
    starting with ``#``) appended uncommented, secrets in ``tmp_path``; returns the file."""
    text = SAMPLE_NODE_TOML.read_text()
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(f"# [{header}]"))
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line[2:] if line.startswith("# ") else line[1:])
    (tmp_path / "mqtt-password").write_text("secret\n")
    (tmp_path / "command-key").write_text("0f" * 32 + "\n")
    path = tmp_path / "node.toml"
    path.write_text(text.replace("/etc/lobbygate/", f"{tmp_path}/") + "\n" + "\n".join(block) + "\n")
    return path
