"""Fixtures for the intercom tests: the node helpers of tests/edge (broker, nodes, probes), and
``desk_console``: the console on the test broker with a desk user logged in."""

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "edge"))

from edge_helpers import KEYS, SITE, console, start_node  # noqa: E402,F401 - fixtures


@pytest.fixture
def desk_console(broker: Any, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """(services, Flask test client logged in as desk1) on the test broker; unit A-1201 (王芳,
    13800000000) registered, node lobby's command key known, a generated site signing key."""
    from console_client import PASSWORD, login
    from web import close_app, create_app
    from web.auth.users import UserStore
    from web.config import parse_config
    from web.ingest import BrokerSettings
    from web.services import ServicesConfig, build_services
    from web.signing import SiteSigner
    from web.units import parse_unit

    c = broker.credentials("console")
    cfg = parse_config({"console": {"site": SITE, "db": "console.db", "users_db": "users.json",
                                    "secret_key": "e2e-secret-" + "x" * 40}}, base_dir=tmp_path)
    services = build_services(ServicesConfig(
        db_path=cfg.db_path, site=SITE, clock_settle_ms=0, node_keys={"lobby": KEYS["lobby"]},
        broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]), username="console",
                              password=str(c["password"]), client_id="console-e2e")),
        signer=SiteSigner.generate())
    services.start()
    assert services.ingest is not None and services.ingest.wait_connected(10)
    services.units.save(parse_unit({"building": "A", "number": "1201", "residents": [
        {"name": "王芳", "phone": "13800000000", "relation": "owner"}]}), by="admin", create=True)
    UserStore(cfg.users_db_path, hash_method="pbkdf2:sha256:1000").open().add(
        "desk1", PASSWORD, role="desk")
    app = create_app(cfg, services=services)
    client = app.test_client()
    assert login(client, "desk1").status_code == 303
    try:
        yield services, client
    finally:
        close_app(app)
        services.stop()
