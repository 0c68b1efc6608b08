"""What a node or the console host needs besides the Python package, and the commands that
put it there (see firmware/README.md, the technician's deployment guide):

- ``lobbygate provision`` (:mod:`firmware.provision`, :mod:`firmware.site`): the site's keys,
  CA, broker accounts (passwords or client certificates, with a CRL) and ACL, and a bundle per
  node;
- ``lobbygate broker-config`` (:mod:`firmware.broker_config`): the TLS ``mosquitto.conf``;
- ``lobbygate update`` (:mod:`firmware.update_cli`): signed updates with rollback;
- ``lobbygate serial-list`` / ``boot-config``: udev names of USB adapters, the Pi's boot lines;
- systemd units, the udev rule, boot lines and installers as data files;
- :class:`~firmware.mosquitto.MosquittoBroker` and :class:`~firmware.probe.MqttProbe`, the
  real-broker harness for tests, benches and the demo.
"""
