"""Run the console's ingest alone (no web pages): ``python -m web.ingest_main``.

For a headless console, for diagnosing a broker, and for the crash tests (the process can be
killed at any instant and restarted without losing or duplicating an event)::

    python -m web.ingest_main --db console.db --host 127.0.0.1 --port 1883 --site tower-a \\
        --username console --password-file /etc/lobbygate/console.pw

Prints ``ready`` on stdout once connected and subscribed; stops cleanly on SIGTERM/SIGINT
(printing the counters as one JSON line).  The password may also come from the
``LOBBYGATE_BROKER_PASSWORD`` environment variable.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from .ingest import BrokerSettings
from .services import ServicesConfig, build_services


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m web.ingest_main", description=__doc__.split("\n")[0])
    p.add_argument("--db", required=True, help="console SQLite file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--site", required=True)
    p.add_argument("--username", default="console")
    p.add_argument("--password", default=None, help="prefer --password-file or the environment")
    p.add_argument("--password-file", default=None)
    p.add_argument("--client-id", default="lobbygate-console")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--ca-file", default=None)
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    password = args.password
    if args.password_file:
        password = Path(args.password_file).read_text(encoding="utf-8").strip()
    if password is None:
        password = os.environ.get("LOBBYGATE_BROKER_PASSWORD", "")
    broker = BrokerSettings(host=args.host, port=args.port, username=args.username,
                            password=password, client_id=args.client_id, tls=args.tls,
                            ca_file=args.ca_file)
    services = build_services(ServicesConfig(db_path=args.db, site=args.site, broker=broker))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with services:
        assert services.ingest is not None
        if services.ingest.wait_connected(30):
            print("ready", flush=True)
        else:
            print("not connected yet; retrying in the background", file=sys.stderr, flush=True)
        stop.wait()
    # after stop(): the writer has drained, stored and counted everything received
    print(json.dumps(services.ingest.counters, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
