"""PIN hashing on the console, exactly as the node verifies it: the contract's
:mod:`mqtt_topics.pins`. ``tests/web/test_console_credentials.py`` checks a console hash
against the node's verifier."""

from mqtt_topics.pins import (ALGORITHM, DEFAULT_ITERATIONS, MAX_DIGITS, MIN_DIGITS,
                              check_pin_format, hash_pin)

__all__ = ["hash_pin", "check_pin_format", "ALGORITHM", "DEFAULT_ITERATIONS", "MIN_DIGITS",
           "MAX_DIGITS"]
