"""Console fixtures: a config in a temp directory, the data services WITHOUT a broker, the
app with CSRF on (as in production), one user per role."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from web import close_app, create_app
from web.auth.users import UserStore
from web.config import ConsoleConfig, parse_config
from web.services import ConsoleServices, ServicesConfig, build_services

from console_helpers import FAST_HASH, PASSWORD, ROLES, FakeClock, console_dict

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> ConsoleConfig:
    return parse_config(console_dict(), base_dir=tmp_path)


@pytest.fixture
def services(config: ConsoleConfig, clock: FakeClock) -> Iterator[ConsoleServices]:
    cfg = ServicesConfig(db_path=config.db_path, site=config.site, broker=None)
    svc = build_services(cfg, clock=clock)
    with svc:
        yield svc


@pytest.fixture
def user_store(config: ConsoleConfig, clock: FakeClock) -> UserStore:
    store = UserStore(config.users_db_path, clock=clock, hash_method=FAST_HASH).open()
    for role in ROLES:
        store.add(role + "1", PASSWORD, role=role)
    return store


@pytest.fixture
def app(config: ConsoleConfig, services: ConsoleServices, clock: FakeClock,
        user_store: UserStore):  # type: ignore[no-untyped-def]
    application = create_app(config, services=services, clock=clock,
                             settings={"LIVE_HEARTBEAT_S": 0.05})
    yield application
    close_app(application)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def make_client(app):  # type: ignore[no-untyped-def]
    """A fresh client (own cookie jar), e.g. a second browser."""
    return lambda: app.test_client()
