"""PIN hashing and checking on the node: the contract's :mod:`mqtt_topics.pins`."""

from mqtt_topics.pins import (ALGORITHM, DEFAULT_ITERATIONS, MAX_DIGITS, MIN_DIGITS, SALT_BYTES,
                              check_pin_format, check_pin_hash, hash_pin, verify_pin)

__all__ = ["ALGORITHM", "DEFAULT_ITERATIONS", "MAX_DIGITS", "MIN_DIGITS", "SALT_BYTES",
           "check_pin_format", "check_pin_hash", "hash_pin", "verify_pin"]
