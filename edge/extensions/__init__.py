"""Node extensions: small classes with ``start(ctx)`` / ``stop()`` (see :mod:`.base`).

Built in (the node adds them from its config): :class:`RelaysExtension` (outputs,
``relay.pulse``), :class:`InputsExtension` (``input.changed``), :class:`ReaderExtension` (card
readers, ``card.read``), :class:`HealthExtension` (telemetry) and :class:`SimulationExtension`
(simulated wires). Others are passed to :class:`edge.node.Node` as ``extensions=[...]``.
"""

from .base import Extension, NodeContext
from .health import HealthExtension
from .inputs import InputsExtension
from .reader import ReaderExtension
from .relays import RelaysExtension
from .simulation import SimulationExtension

__all__ = ["Extension", "NodeContext", "HealthExtension", "InputsExtension", "ReaderExtension",
           "RelaysExtension", "SimulationExtension"]
