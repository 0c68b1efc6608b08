"""The ``lobbygate`` command: ``lobbygate <subcommand> [options]``.

Each subcommand lives in its own module, imported only when used (so ``lobbygate node`` on a Pi
never imports Flask). Adding one is one line in :data:`COMMANDS`: ``"name": "module:function"``,
where ``function(argv: list[str]) -> int`` returns the exit code.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

#: subcommand -> "module:function" (function(argv) -> exit code)
COMMANDS: dict[str, str] = {
    "node": "edge.cli:main",          # run a node: lobbygate node --config node.toml
    "provision": "firmware.provision:main",        # site, nodes, bundles (console host)
    "broker-config": "firmware.broker_config:main",  # render mosquitto.conf (TLS)
    "serial-list": "firmware.serial_list:main",    # USB serial adapters and their /dev/lobbygate names
    "update": "firmware.update_cli:main",          # signed updates with rollback
    "boot-config": "firmware.boot_config:main",    # the Pi's config.txt / cmdline.txt lines
    "console": "web.cli:console_main",  # run the console: lobbygate console --config console.toml
    "user": "web.cli:user_main",        # manage console users: lobbygate user add NAME --role admin
    "demo": "lobbygate.demo:main",      # broker + console + simulated nodes; --check
}

LOG_FORMAT = "%(asctime)s %(levelname).1s %(name)s: %(message)s"


def _usage() -> str:
    names = "|".join(sorted(COMMANDS))
    return f"usage: lobbygate {{{names}}} [options]   (lobbygate <command> --help for more)"


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand; returns its exit code (2 for an unknown one)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage(), file=sys.stderr if not args else sys.stdout)
        return 0 if args else 2
    name, rest = args[0], args[1:]
    target = COMMANDS.get(name)
    if target is None:
        print(f"lobbygate: unknown command {name!r}\n{_usage()}", file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:
        logging.basicConfig(level=os.environ.get("LOBBYGATE_LOG_LEVEL", "INFO").upper(),
                            stream=sys.stderr, format=LOG_FORMAT)
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return int(func(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
