"""Errors of the key cabinet; all derive from :class:`CabinetError`."""

from __future__ import annotations

from ..errors import EdgeError

__all__ = ["CabinetError", "KeyPermissionError"]


class CabinetError(EdgeError):
    """Something about the key cabinet failed (state file, I/O module, settings)."""


class KeyPermissionError(CabinetError):
    """A ``key-permissions`` snapshot is not usable as a whole (wrong shape)."""
