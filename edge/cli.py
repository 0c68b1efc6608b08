"""``lobbygate node --config node.toml [--check-config]``: run a node (or just check its config).

Exit codes: 0 stopped cleanly (or config ok), 2 bad configuration (every problem printed, one per
line, on stderr), 1 the node could not start.
"""

from __future__ import annotations

import argparse
import logging
import sys

from mqtt_topics import LobbygateError

from .config import load_config
from .errors import ConfigError

log = logging.getLogger("edge.cli")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lobbygate node", description="Run a lobbygate node.")
    p.add_argument("--config", required=True, metavar="FILE", help="node configuration (TOML)")
    p.add_argument("--check-config", action="store_true",
                   help="validate the configuration, print every problem, and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{args.config}: {len(exc.errors)} configuration error(s):", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return 2
    if args.check_config:
        print(f"{args.config}: configuration ok (node {config.node_id}, site {config.site}, "
              f"{len(config.readers)} reader(s), {len(config.inputs)} input(s), "
              f"{len(config.relays)} relay(s){', simulation' if config.simulation.enabled else ''})")
        return 0
    from .node import Node
    node = Node(config)
    try:
        return node.run_forever()
    except LobbygateError as exc:
        log.error("node %s could not start: %s", config.node_id, exc)
        return 1


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname).1s %(name)s: %(message)s")
    sys.exit(main())
