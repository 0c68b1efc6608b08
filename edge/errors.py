"""Errors raised by the node runtime (:mod:`edge`).

Everything here derives from :class:`EdgeError`, which derives from
:class:`mqtt_topics.errors.LobbygateError`, so a caller can catch the node's errors as a
family or everything lobbygate raises.
"""

from __future__ import annotations

from typing import Iterable

from mqtt_topics.errors import LobbygateError


class EdgeError(LobbygateError):
    """Base of every error the node runtime raises on purpose."""


class JournalError(EdgeError):
    """The event journal could not be opened, read or written (corrupt file, disk error,
    locked by another process, used before :meth:`~edge.journal.EventJournal.open`...).
    The message names the journal's path and what failed."""


class ConfigError(EdgeError):
    """A node configuration is invalid.

    ``errors`` holds every problem found (one short sentence each, naming the setting), so an
    operator can fix them all in one go; the message joins them with ``"; "``.
    """

    def __init__(self, errors: Iterable[str] | str) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors) if self.errors else "invalid configuration")


class CommandArgumentError(EdgeError, ValueError):
    """A signed, verified command carries arguments its handler cannot accept (unknown relay,
    pulse longer than allowed...). Answered with ``bad_payload: <message>``; the node goes on."""


class NodeError(EdgeError):
    """The node runtime could not start or was used in the wrong state (started twice, a
    required output could not be created...). The message says what and why."""
