"""The cabinet's last known state on disk (slot presence and loans), written crash-safely
(temporary file, fsync, ``os.replace``, fsync of the directory) so a power-up can reconcile
what it senses with what was there."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ..files import write_atomic
from .errors import CabinetError
from .machine import Loan

__all__ = ["CabinetStateStore"]

log = logging.getLogger(__name__)


class CabinetStateStore:
    """``path``: a JSON file ``{"present": {"1": true}, "loans": [...]}``. No I/O until used."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> tuple[dict[int, bool] | None, list[Loan]]:
        """``(present, loans)``; ``(None, [])`` when there is no (usable) file: a first boot.
        An unreadable file is logged and moved aside to ``<name>.corrupt``."""
        try:
            raw = json.loads(self.path.read_bytes())
            present = {int(s): bool(p) for s, p in raw["present"].items()}
            loans = [Loan(**loan) for loan in raw.get("loans", [])]
            return present, loans
        except FileNotFoundError:
            return None, []
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("cabinet state %s unusable (%s); treated as a first boot", self.path, exc)
            try:
                os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
            except OSError:
                pass
            return None, []

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (from :meth:`CabinetMachine.state`). Raises :class:`CabinetError`."""
        try:
            write_atomic(self.path, json.dumps(state, sort_keys=True).encode())
        except OSError as exc:
            raise CabinetError(f"cabinet state {self.path}: cannot write: {exc}") from exc
