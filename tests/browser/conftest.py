"""Browser fixtures: the console served by waitress on a free port in a thread (services
without a broker: events are added through the stores and the LiveFeed, as the ingest does),
and Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from browser_helpers import CHROMIUM, DESKTOP, PASSWORD, SECRET, CHROMIUM_ARGS

def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """No Chromium: skip with the reason, except on CI where it must be there."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(f"{CHROMIUM} is missing on CI: install Debian's chromium package")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium); "
                                   "browser tests need Debian's Chromium")
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(skip)


class ConsoleServer:
    """The console app served by waitress in a thread. ``url``: its base URL."""

    def __init__(self, app: Any, services: Any) -> None:
        from waitress import create_server

        self.app, self.services = app, services
        self.server = create_server(app, host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)

    def start(self) -> "ConsoleServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        from web import close_app
        from web.state import console

        from waitress import wasyncore

        console(self.app).begin_shutdown()          # live streams end
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        # Close every socket (listener, keep-alive connections, the trigger) inside the
        # server's own loop thread, so select() there never sees a descriptor closed under it;
        # the loop then ends because its map is empty.
        try:
            self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        except OSError:  # the trigger is gone (the loop already ended): close from here
            wasyncore.close_all(self.server._map, ignore_all=True)
        self._thread.join(10)
        assert not self._thread.is_alive(), "waitress did not stop"
        close_app(self.app)


@pytest.fixture
def console_server(tmp_path: Path) -> Iterator[ConsoleServer]:
    from web import create_app
    from web.auth.users import UserStore
    from web.config import parse_config
    from web.services import ServicesConfig, build_services

    cfg = parse_config({"console": {"site": "sunny-garden", "db": "console.db",
                                    "users_db": "users.json", "secret_key": SECRET}},
                       base_dir=tmp_path)
    users = UserStore(cfg.users_db_path, hash_method="pbkdf2:sha256:1000").open()
    for name, role in (("admin1", "admin"), ("desk1", "desk"), ("guard1", "guard"),
                       ("patrol1", "patrol")):
        users.add(name, PASSWORD, role=role)
    from web.signing import SiteSigner

    services = build_services(ServicesConfig(db_path=cfg.db_path, site=cfg.site, broker=None),
                              signer=SiteSigner.generate())
    services.start()
    server = ConsoleServer(create_app(cfg, services=services), services).start()
    try:
        yield server
    finally:
        server.stop()
        services.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """``new_page(viewport=DESKTOP)``: a page in its own context (own cookies)."""
    contexts = []

    def make(viewport: dict[str, int] = DESKTOP, **kwargs: Any) -> Any:
        kwargs.setdefault("locale", "zh-CN")
        kwargs.setdefault("timezone_id", "Asia/Shanghai")
        ctx = browser.new_context(viewport=viewport, **kwargs)
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()
