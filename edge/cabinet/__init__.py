"""Key cabinet (钥匙委托管理): permissions from ``sync/key-permissions``, the pure cabinet state
machine, its persisted state, and the slot/door I/O (GPIO or a Modbus I/O module).

The extension that wires them to a node is :mod:`edge.extensions.cabinet`."""

from .errors import CabinetError, KeyPermissionError
from .machine import CabinetMachine, Grant, Loan
from .permissions import DATASET, Holder, KeyInfo, KeyPermissions

__all__ = ["CabinetError", "KeyPermissionError", "CabinetMachine", "Grant", "Loan", "DATASET",
           "Holder", "KeyInfo", "KeyPermissions"]
