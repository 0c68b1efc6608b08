"""Run ``mosquitto -c CONF`` for a configuration rendered elsewhere (``lobbygate
broker-config``), stopping it by its own PID.

:class:`~firmware.mosquitto.MosquittoBroker` generates its own configuration for tests;
:class:`MosquittoProcess` runs exactly the production file, so tests prove what a technician
deploys (TLS listener, password file, ACL) rather than a look-alike."""

from firmware.mosquitto import MosquittoProcess

__all__ = ["MosquittoProcess"]
