"""The root of lobbygate's error tree.

Every subsystem defines one base class deriving from :class:`LobbygateError`
(``ContractError`` here, ``HardwareError`` in :mod:`hardware`, ``EdgeError`` in
:mod:`edge`, ``ConsoleError`` in :mod:`web`), so callers can catch one family or
everything the project raises, as gpiozero does with ``GPIOZeroError``.
"""

from __future__ import annotations


class LobbygateError(Exception):
    """Base of every error lobbygate raises on purpose."""


class ContractError(LobbygateError, ValueError):
    """A topic or payload does not follow the MQTT contract (mqtt_topics)."""


class CommandRejected(ContractError):
    """A command envelope was refused: unsigned, bad signature, expired, replayed...

    ``reason`` is a short machine-readable word reported in ``cmd_result.error``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
