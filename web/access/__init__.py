"""Door access on the console: the credentials registry (:mod:`.store`), its records and
validation (:mod:`.model`), PIN hashing as the node checks it (:mod:`.pin`), CSV import and
export (:mod:`.csv_io`), schedules and holidays (:mod:`.schedules`), card enrolment at a
reader (:mod:`.enrol`) and the doors' state from their events (:mod:`.doors`). The pages are
``web.views.credentials``, ``web.views.schedules`` and ``web.views.doors``."""

from .model import ALL_DOORS, KINDS, CredentialRecord, normalize_card, validate
from .pin import hash_pin
from .store import CardTaken, CredentialError, CredentialExists, CredentialNotFound, CredentialStore
from .schedules import ScheduleStore

__all__ = ["ALL_DOORS", "KINDS", "CredentialRecord", "normalize_card", "validate", "hash_pin",
           "CardTaken", "CredentialError", "CredentialExists", "CredentialNotFound",
           "CredentialStore", "ScheduleStore"]
