"""Fixtures of the console goods-pass tests: services without a broker (with a generated site
signing key and the site's time zone), the app with CSRF on, one user per role, a unit."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from pc_helpers import PASSWORD, ROLES, SECRET, TZ, FakeClock, add_unit


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signer() -> Any:
    from web.signing import SiteSigner

    return SiteSigner.generate()


@pytest.fixture
def pconfig(tmp_path: Path) -> Any:
    from web.config import parse_config

    return parse_config({"console": {"site": "test-site", "db": "console.db",
                                     "users_db": "users.json", "secret_key": SECRET,
                                     "timezone": TZ}}, base_dir=tmp_path)


@pytest.fixture
def psvc(pconfig: Any, clock: FakeClock, signer: Any) -> Iterator[Any]:
    from web.services import build_services

    svc = build_services(pconfig.services_config(), clock=clock, signer=signer)
    with svc:
        add_unit(svc)
        yield svc


@pytest.fixture
def papp(pconfig: Any, psvc: Any, clock: FakeClock) -> Iterator[Any]:
    from web import close_app, create_app
    from web.auth.users import UserStore

    users = UserStore(pconfig.users_db_path, clock=clock, hash_method="pbkdf2:sha256:1000").open()
    for role in ROLES:
        users.add(role + "1", PASSWORD, role=role)
    app = create_app(pconfig, services=psvc, clock=clock)
    yield app
    close_app(app)


@pytest.fixture
def pclient(papp: Any) -> Any:
    return papp.test_client()
