"""The unit registry (房号 / 住户): building, unit number, residents with phones, vacant flag.
Shared by the intercom desk, visitors, goods passes, the key register and the meters."""

from .model import MAX_RESIDENTS, RELATIONS, Resident, Unit, UnitError, check_code, parse_unit, unit_code
from .store import UnitExists, UnitNotFound, UnitStore

__all__ = ["Unit", "Resident", "UnitError", "RELATIONS", "MAX_RESIDENTS", "parse_unit",
           "unit_code", "check_code", "UnitStore", "UnitExists", "UnitNotFound"]
