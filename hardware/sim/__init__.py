"""Simulators speaking the real wire formats, shipped for tests, benches and the demo."""

from hardware.sim.pins import pin_state, press, release
from hardware.sim.pty import PtyPair
from hardware.sim.rdm6300 import Rdm6300Simulator
from hardware.sim.scanner import ScannerSimulator
from hardware.sim.wiegand import SimFactory, SimPin, SimTicks, WiegandSimulator

__all__ = ["PtyPair", "Rdm6300Simulator", "ScannerSimulator", "pin_state", "press", "release",
           "SimFactory", "SimPin", "SimTicks", "WiegandSimulator"]
