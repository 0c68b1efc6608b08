"""Door access on the console: the credentials registry (:mod:`.store`), its records and
validation (:mod:`.model`), PIN hashing as the node checks it (:mod:`.pin`), CSV import and
export (:mod:`.csv_io`) and the doors' state from their events (:mod:`.doors`). The pages are
``web.views.credentials`` and ``web.views.doors``."""

from .model import ALL_DOORS, KINDS, CredentialRecord, normalize_card, validate
from .pin import hash_pin
from .store import CardTaken, CredentialError, CredentialExists, CredentialNotFound, CredentialStore

__all__ = ["ALL_DOORS", "KINDS", "CredentialRecord", "normalize_card", "validate", "hash_pin",
           "CardTaken", "CredentialError", "CredentialExists", "CredentialNotFound",
           "CredentialStore"]
