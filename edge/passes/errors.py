"""Errors raised by the goods-pass package (:mod:`edge.passes`)."""

from __future__ import annotations

from edge.errors import EdgeError


class PassError(EdgeError):
    """Base of every error :mod:`edge.passes` raises on purpose: a public key that is not an
    Ed25519 key, a ledger file that cannot be opened or written. The message names the file."""
