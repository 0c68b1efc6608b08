"""Fixtures for the console's meter tests: the data services without a broker on a settable
clock, and helpers feeding ``meter.*`` events to the ingest handler."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from web.services import ConsoleServices, ServicesConfig, build_services

from mc_helpers import PASSWORD, Clock, T0


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def svc(tmp_path: Path, clock: Clock) -> Iterator[ConsoleServices]:
    s = build_services(ServicesConfig(db_path=tmp_path / "console.db", site="test-site",
                                      timezone="Asia/Shanghai"), clock=clock)
    with s:
        yield s


@pytest.fixture
def app(tmp_path: Path, svc: ConsoleServices, clock: Clock):  # type: ignore[no-untyped-def]
    """The console on ``svc`` (CSRF on), with users admin1, desk1, guard1, patrol1."""
    from web import close_app, create_app
    from web.auth.users import UserStore
    from web.config import parse_config

    cfg = parse_config({"console": {"site": "test-site", "db": str(tmp_path / "console.db"),
                                    "users_db": "users.json", "secret_key": "k" * 48}},
                       base_dir=tmp_path)
    users = UserStore(cfg.users_db_path, hash_method="pbkdf2:sha256:1000").open()
    for role in ("admin", "desk", "guard", "patrol"):
        users.add(role + "1", PASSWORD, role=role)
    application = create_app(cfg, services=svc, clock=clock)
    yield application
    close_app(application)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()
