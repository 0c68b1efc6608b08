"""Errors raised by the access-decision package (:mod:`edge.access`).

Everything here derives from :class:`AccessError`, itself an :class:`edge.errors.EdgeError`.
"""

from __future__ import annotations

from edge.errors import EdgeError


class AccessError(EdgeError):
    """Base of every error :mod:`edge.access` raises on purpose (bad options, a cache that
    cannot be written...)."""


class CredentialDataError(AccessError, ValueError):
    """Credential or schedule data is unusable: a snapshot of another dataset or an unknown
    ``format``, a credential with a bad field, a schedule interval that does not parse. The
    message names the record and the field. :meth:`~edge.access.credentials.CredentialSet.from_snapshot`
    raises it only for the snapshot as a whole; a bad record is skipped and listed in
    ``rejected``."""
