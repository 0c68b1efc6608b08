"""What a node or console host needs besides the Python package: broker configuration and
ACL rendering, the process harness that runs Mosquitto for tests/benches/the demo, and
(later) systemd units, udev rules and provisioning.  Standard library plus mqtt_topics."""
