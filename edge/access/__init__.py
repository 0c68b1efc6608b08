"""Door access decisions and door supervision: pure logic, clocks injected, no MQTT, no GPIO.

- :mod:`~edge.access.credentials`: :class:`Credential`, :class:`CredentialSet` and the
  ``credentials`` snapshot shape; :mod:`~edge.access.cache`: :class:`CredentialCache` on disk;
- :mod:`~edge.access.schedule`: :class:`WeeklySchedule` (minute resolution, holidays, zoneinfo);
- :mod:`~edge.access.decider`: :class:`AccessDecider` -> :class:`Decision` / :class:`PinPending`;
- :mod:`~edge.access.door_state`: :class:`DoorSupervisor` (lock output, forced/held/fire/tamper);
- :mod:`~edge.access.pin`: PIN hashing (PBKDF2-SHA256, salted, constant-time check).
"""

from edge.access.antipassback import AntiPassback
from edge.access.cache import CredentialCache
from edge.access.credentials import (ALL_DOORS, DATASET, FORMAT, KINDS, Credential, CredentialSet,
                                     card_key, normalize_card)
from edge.access.decider import REASONS, AccessDecider, Decision, PinPending
from edge.access.door_state import DoorConfig, DoorSupervisor, relay_safe_state
from edge.access.errors import AccessError, CredentialDataError
from edge.access.lockout import ReaderLockout
from edge.access.pin import hash_pin, verify_pin
from edge.access.schedule import Interval, WeeklySchedule

__all__ = [
    "AccessError", "CredentialDataError",
    "ALL_DOORS", "DATASET", "FORMAT", "KINDS", "Credential", "CredentialSet", "card_key",
    "normalize_card", "CredentialCache",
    "Interval", "WeeklySchedule",
    "REASONS", "AccessDecider", "Decision", "PinPending", "AntiPassback", "ReaderLockout",
    "DoorConfig", "DoorSupervisor", "relay_safe_state",
    "hash_pin", "verify_pin",
]
