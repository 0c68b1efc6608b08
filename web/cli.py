"""Command line of the console:

``lobbygate console --config console.toml [--host H] [--port P]``
    Serve the console with waitress (not Flask's development server) until SIGTERM or SIGINT,
    then end live streams, stop the ingest and close the database. Prints
    ``lobbygate console: serving <site> on http://HOST:PORT`` once listening.

``lobbygate user [--config console.toml] add NAME --role ROLE [--password-stdin]``
``lobbygate user list`` / ``passwd NAME [--password-stdin]`` / ``role NAME ROLE`` /
``disable NAME`` / ``enable NAME``
    Manage console users (the users file of the config). Passwords are asked twice without
    echo, or read as one line from standard input with ``--password-stdin``; fewer than 10
    characters are refused. Changes are written to the audit log as ``cli:<login name>``.

The config path defaults to ``$LOBBYGATE_CONSOLE_CONFIG`` or ``console.toml``. Exit codes:
0 done, 1 refused (bad password, unknown user...), 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import sys
from typing import Any, Sequence, TextIO

from .errors import ConsoleConfigError, UserError

__all__ = ["console_main", "user_main"]

log = logging.getLogger("lobbygate.console")
_DEFAULT_CONFIG = "console.toml"


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c",
                        default=os.environ.get("LOBBYGATE_CONSOLE_CONFIG", _DEFAULT_CONFIG),
                        help="console.toml (default: $LOBBYGATE_CONSOLE_CONFIG or ./console.toml)")


def _load(path: str, err: TextIO) -> Any:
    from .config import load_config

    try:
        return load_config(path)
    except ConsoleConfigError as exc:
        print(f"{path}: {len(exc.errors)} problem(s):", file=err)
        for problem in exc.errors:
            print(f"  - {problem}", file=err)
        return None


# -- lobbygate console ------------------------------------------------------------------------

class _Stop(KeyboardInterrupt):
    """Raised by the signal handler to leave waitress's loop: waitress re-raises
    KeyboardInterrupt from its channel handlers and its ``run()`` returns on it."""


def console_main(argv: Sequence[str] | None = None) -> int:
    """``lobbygate console``: serve the console until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="lobbygate console",
                                     description="Serve the lobbygate console.")
    _config_arg(parser)
    parser.add_argument("--host", help="listen address (overrides console.listen_host)")
    parser.add_argument("--port", type=int, help="listen port (overrides console.listen_port; "
                                                  "0: any free port)")
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = _load(args.config, sys.stderr)
    if cfg is None:
        return 2

    from waitress import create_server

    from . import close_app, create_app
    from .errors import ConsoleError
    from .state import console

    try:
        app = create_app(cfg, run_jobs=True)
    except ConsoleError as exc:
        print(f"lobbygate console: cannot start: {exc}", file=sys.stderr)
        return 1
    host = args.host or cfg.listen_host
    port = cfg.listen_port if args.port is None else args.port
    previous: dict[int, Any] = {}
    server = None
    try:
        # with trusted proxies, the app's ProxyFix reads X-Forwarded-*: waitress must keep them
        server = create_server(app, host=host, port=port, threads=cfg.threads,
                               ident="lobbygate", channel_timeout=120,
                               clear_untrusted_proxy_headers=not cfg.trusted_proxies)

        def stop(signum: int, _frame: Any) -> None:
            console(app).begin_shutdown()  # live streams end within a second
            raise _Stop(signum)

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, stop)
        print(f"lobbygate console: serving {cfg.site} on "
              f"http://{server.effective_host}:{server.effective_port}", flush=True)  # type: ignore[union-attr]
        server.run()  # returns once a signal stopped it
        log.info("stopping")
    except _Stop:
        log.info("stopping")
    except OSError as exc:
        print(f"lobbygate console: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        close_app(app)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console(app).begin_shutdown()      # live streams end within a second
        if server is not None:
            server.close()
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        close_app(app)
    print("lobbygate console: stopped", flush=True)
    return 0


# -- lobbygate user ---------------------------------------------------------------------------

def _read_password(args: argparse.Namespace, err: TextIO) -> str | None:
    from .auth.users import MIN_PASSWORD_CHARS

    if args.password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    else:
        password = getpass.getpass("Password: ")
        again = getpass.getpass("Password again: ")
        if password != again:
            print("the two passwords differ", file=err)
            return None
    if len(password) < MIN_PASSWORD_CHARS:
        print(f"password refused: at least {MIN_PASSWORD_CHARS} characters are needed",
              file=err)
        return None
    return password


def user_main(argv: Sequence[str] | None = None) -> int:
    """``lobbygate user``: add, list and change console users."""
    from .auth.users import ROLES

    parser = argparse.ArgumentParser(prog="lobbygate user",
                                     description="Manage the console's users.")
    _config_arg(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("add", help="add a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password as one line from standard input")
    sub.add_parser("list", help="list the users")
    p = sub.add_parser("passwd", help="set a user's password (ends their log-ins)")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true")
    p = sub.add_parser("role", help="change a user's role")
    p.add_argument("name")
    p.add_argument("role", choices=ROLES)
    for name, text in (("disable", "disable a user (ends their log-ins)"),
                       ("enable", "enable a disabled user")):
        sub.add_parser(name, help=text).add_argument("name")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    cfg = _load(args.config, sys.stderr)
    if cfg is None:
        return 2

    from . import audit as A
    from .audit import AuditLog
    from .auth.users import UserStore
    from .db import Database

    users = UserStore(cfg.users_db_path).open()
    actor = f"cli:{getpass.getuser()}"
    db = Database(cfg.db_path)

    def record(action: str, target: str, detail: str | None = None) -> None:
        db.open()
        AuditLog(db).open().record(action, user=actor, target=target, detail=detail,
                                   remote_addr="local")

    try:
        if args.command == "list":
            for u in users.list():
                state = "disabled" if u.disabled else "active"
                print(f"{u.username:<32} {u.role:<7} {state:<8} language={u.language or '-'}")
            return 0
        if args.command == "add":
            password = _read_password(args, sys.stderr)
            if password is None:
                return 1
            users.add(args.name, password, role=args.role)
            record(A.USER_ADD, args.name, f"role={args.role}")
            print(f"user {args.name} added ({args.role})")
        elif args.command == "passwd":
            if users.get(args.name) is None:
                print(f"no user {args.name!r}", file=sys.stderr)
                return 1
            password = _read_password(args, sys.stderr)
            if password is None:
                return 1
            users.set_password(args.name, password)
            record(A.USER_PASSWORD, args.name)
            print(f"password of {args.name} changed; their log-ins have ended")
        elif args.command == "role":
            users.set_role(args.name, args.role)
            record(A.USER_ROLE, args.name, f"-> {args.role}")
            print(f"{args.name} is now {args.role}")
        elif args.command == "disable":
            users.disable(args.name)
            record(A.USER_DISABLE, args.name)
            print(f"{args.name} disabled")
        elif args.command == "enable":
            users.enable(args.name)
            record(A.USER_ENABLE, args.name)
            print(f"{args.name} enabled")
        return 0
    except UserError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    finally:
        users.close()
        db.close()
