"""Errors of the key cabinet; all derive from :class:`CabinetError`."""

from __future__ import annotations

from ..errors import EdgeError

__all__ = ["CabinetError", "KeyPermissionError", "CabinetIOError"]


class CabinetError(EdgeError):
    """Something about the key cabinet failed (state file, I/O module, settings)."""


class KeyPermissionError(CabinetError):
    """A ``key-permissions`` snapshot is not usable as a whole (wrong shape)."""


class CabinetIOError(CabinetError):
    """The cabinet's wires could not be read or driven. ``slots``: the slots affected (None:
    all of them, e.g. the one I/O module that carries every slot did not answer)."""

    def __init__(self, message: str, *, slots: list[int] | None = None) -> None:
        super().__init__(message)
        self.slots = sorted(slots) if slots is not None else None
