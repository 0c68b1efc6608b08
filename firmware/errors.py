"""The firmware subsystem's errors: one base deriving from :class:`LobbygateError`."""

from __future__ import annotations

from mqtt_topics import LobbygateError


class FirmwareError(LobbygateError):
    """Base of every error raised by :mod:`firmware` (provisioning, broker, updates)."""


class ProvisionError(FirmwareError):
    """A site or node could not be provisioned (bad id, missing site, unreadable files...)."""


class UpdateError(FirmwareError):
    """An update bundle could not be packed, verified, installed or activated."""


class BundleRejected(UpdateError):
    """An update bundle failed verification (bad/missing signature, tampered or extra files,
    wrong site, downgrade).  Nothing was installed."""


class UpdateRolledBack(UpdateError):
    """The new release did not report healthy in time; the previous one is active again."""

    def __init__(self, version: str, previous: str | None, reason: str) -> None:
        super().__init__(f"release {version} rolled back to {previous or 'nothing'}: {reason}")
        self.version = version
        self.previous = previous
        self.reason = reason
