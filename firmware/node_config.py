"""The ``node.toml`` provisioning writes into a node's bundle, and where a bundle's files go on
the Pi.

The bundle's files are named relative to ``node.toml`` (the node resolves them against the
config's directory), so the same file works in the bundle and in ``/etc/lobbygate``.
Provisioning owns the ``[node]``, ``[mqtt]`` and ``[commands]`` sections; the hardware sections
(``[gpio]``, ``[[readers]]``, ``[[inputs]]``, ``[[relays]]``, ``[simulation]``...) come from an
optional fragment the technician keeps per node (``--hardware FILE``), copied as they are."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from firmware.errors import ProvisionError

#: Where a node bundle's files are installed on the Pi.
NODE_ETC = PurePosixPath("/etc/lobbygate")
#: The node's state directory (journal), writable under the unit's ProtectSystem=strict.
NODE_STATE = PurePosixPath("/var/lib/lobbygate")

#: Bundle file names (installed as NODE_ETC / name).
CONFIG_FILE = "node.toml"
PASSWORD_FILE = "mqtt.password"
#: A client-certificate node's certificate and key (``provision node add --auth cert``).
CLIENT_CERT_FILE = "mqtt-client.crt"
CLIENT_KEY_FILE = "mqtt-client.key"
#: How a node authenticates to the broker: a password (the default) or a client certificate.
AUTH_MODES = ("password", "cert")
COMMAND_KEY_FILE = "command.key"
CA_FILE = "ca.crt"
SIGNING_PUBLIC_KEY_FILE = "site-signing.pub"
UNIT_FILE = "lobbygate-node.service"

#: Sections provisioning writes; a hardware fragment may not set them.
OWNED_SECTIONS = frozenset({"node", "mqtt", "commands"})
#: Default hardware when no fragment is given: real GPIO through lgpio, no devices yet.
DEFAULT_HARDWARE: Mapping[str, Any] = {"gpio": {"pin_factory": "lgpio"}}

#: Defaults written into ``[node]`` and ``[mqtt]``.
JOURNAL_CAPACITY = 1_000_000
HEALTH_INTERVAL_S = 30
KEEPALIVE_S = 30
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 60


def load_hardware(path: Path) -> dict[str, Any]:
    """Read a hardware fragment (TOML); :class:`ProvisionError` if unreadable or if it sets a
    section provisioning owns."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProvisionError(f"hardware fragment {path}: {exc}") from exc
    owned = OWNED_SECTIONS & data.keys()
    if owned:
        raise ProvisionError(f"hardware fragment {path} sets {', '.join(sorted(owned))}: "
                             "provisioning writes those sections itself")
    return data


def render_node_config(*, site: str, node: str, host: str, port: int,
                       hardware: Mapping[str, Any] | None = None,
                       protocol: str = "3.1.1", auth: str = "password") -> dict[str, Any]:
    """The node's configuration as a mapping (write it with :func:`firmware.toml_out.dumps`).

    ``host``/``port``: the broker's TLS listener as the node reaches it (the password listener,
    or the client-certificate one for ``auth="cert"``); ``hardware``: the fragment's sections
    (default :data:`DEFAULT_HARDWARE`); ``protocol``: "3.1.1" or "5"; ``auth``: "password"
    (default: ``password_file``) or "cert" (``certfile``/``keyfile``)."""
    if auth not in AUTH_MODES:
        raise ProvisionError(f"auth must be one of {', '.join(AUTH_MODES)}, got {auth!r}")
    creds: dict[str, Any] = ({"password_file": PASSWORD_FILE} if auth == "password" else
                             {"certfile": CLIENT_CERT_FILE, "keyfile": CLIENT_KEY_FILE})
    conf: dict[str, Any] = {
        "node": {
            "id": node,
            "site": site,
            "journal": str(NODE_STATE / "journal.sqlite"),
            "journal_capacity": JOURNAL_CAPACITY,
            "health_interval_s": HEALTH_INTERVAL_S,
        },
        "mqtt": {
            "host": host,
            "port": port,
            "username": node,
            **creds,
            "keepalive_s": KEEPALIVE_S,
            "tls": True,
            "ca_file": CA_FILE,
            "reconnect_min_s": RECONNECT_MIN_S,
            "reconnect_max_s": RECONNECT_MAX_S,
            "protocol": protocol,
        },
        "commands": {"key_file": COMMAND_KEY_FILE},
    }
    conf.update(dict(hardware if hardware is not None else DEFAULT_HARDWARE))
    return conf
