"""The ``lobbygate`` command and the demo that start the other packages' parts."""

__version__ = "0.1.0"
