"""edge: the node runtime (layer 3): validated config, journal/outbox, MQTT bridge, signed
commands and small extensions. No Flask imports."""

from __future__ import annotations


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("lobbygate")
    except Exception:  # noqa: BLE001 - running from a checkout that is not installed
        return "0.0.0+unknown"


#: The lobbygate version this node reports in its status and ``node.started`` event.
__version__ = _version()
