"""Errors raised by the console (:mod:`web`).

Everything here derives from :class:`ConsoleError`, which derives from
:class:`mqtt_topics.errors.LobbygateError`, so a caller can catch the console's errors as a
family or everything lobbygate raises.
"""

from __future__ import annotations

from typing import Iterable

from mqtt_topics.errors import LobbygateError


class ConsoleError(LobbygateError):
    """Base of every error the console raises on purpose."""


class StoreError(ConsoleError):
    """A console store could not be read or written (database not open, disk error...)."""


class NotFound(StoreError):
    """The record asked for does not exist (unknown alarm id, command id, node...)."""


class AlreadyDone(StoreError):
    """The action was already carried out (an alarm acknowledged twice...)."""


class BadCursor(StoreError, ValueError):
    """A pagination cursor that this store did not hand out (tampered or stale format)."""


# -- console application (web-app): configuration, users, log-in ---------------------------------

class ConsoleConfigError(ConsoleError):
    """``console.toml`` is invalid (or no secret key was given).

    ``errors`` holds every problem found (one short sentence each, naming the setting by its
    path, e.g. ``console.listen_port: must be <= 65535, got 70000``), so an operator fixes them
    all in one go; the message joins them with ``"; "``."""

    def __init__(self, errors: Iterable[str] | str) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors) if self.errors else "invalid configuration")


class UserError(ConsoleError, ValueError):
    """A user-account request was refused (bad user name, weak password, unknown role...).
    The message says why in one sentence."""


class InvalidUsername(UserError):
    """A user name that does not match ``[a-z0-9][a-z0-9._-]{1,31}``."""


class WeakPassword(UserError):
    """A password shorter than the minimum (10 characters) or longer than the maximum."""


class InvalidRole(UserError):
    """A role that is not one of admin, desk, guard, patrol."""


class UserExists(UserError):
    """A user with that name is already registered."""


class UnknownUser(UserError, NotFound):
    """No user with that name."""


class LastAdmin(UserError):
    """The change would leave the console without an active administrator."""


class UserStoreError(StoreError):
    """The users file could not be read or written (corrupt JSON, disk error...)."""
