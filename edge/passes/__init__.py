"""Goods passes on a gate node: offline verification (:mod:`.verify`) and the ledger of passes
released here plus the last revocations snapshot (:mod:`.ledger`), the pass waiting for the
guard's button (:mod:`.pending`). The token format is the
contract's, :mod:`mqtt_topics.passes`."""

from .errors import PassError
from .ledger import PassLedger
from .pending import Pending, PendingPass
from .verify import REASONS, PassCheck, PassVerifier, load_public_key

__all__ = ["PassError", "PassLedger", "PassCheck", "PassVerifier", "load_public_key", "REASONS",
           "Pending", "PendingPass"]
