"""Phone links for visitor invites (``/v/<token>``): the one console page without a log-in.
It shows only the QR, the window, the building and the site; it is private (no-store,
no-referrer), rate-limited against guessing, and a dead or unknown token is a plain 404."""

from __future__ import annotations

import re
import sqlite3
from typing import Iterator

import pytest

from web.auth.session import PUBLIC_ENDPOINTS
from web.signing import SiteSigner
from web.state import console
from web.views.invite_link import GUESSES_PER_MINUTE

from console_helpers import login, post_form
from visitor_helpers import add_unit, lobby_services

DAY = 86_400_000


@pytest.fixture
def services(config, clock) -> Iterator:  # type: ignore[no-untyped-def]
    with lobby_services(config, clock, signer=SiteSigner.generate()) as svc:
        add_unit(svc, residents=[{"name": "王芳", "phone": "13800000000", "relation": "owner"}])
        yield svc


@pytest.fixture
def desk(make_client):  # type: ignore[no-untyped-def]
    c = make_client()
    assert login(c, "desk1").status_code == 303
    return c


def _invite(desk) -> str:  # type: ignore[no-untyped-def]
    resp = post_form(desk, "/invites/new", "/invites/new", {
        "name": "赵六", "phone": "13712345678", "unit": "A-1201", "purpose": "送货",
        "valid_from": "2026-01-01T00:00", "valid_until": "2026-01-02T00:00", "uses": "2"})
    assert resp.status_code == 303
    return resp.headers["Location"]


def _link(desk, page: str) -> str:  # type: ignore[no-untyped-def]
    resp = post_form(desk, page, page + "/link", {})
    assert resp.status_code == 200
    url = re.search(r'value="([^"]+)"[^>]*data-link-url', resp.get_data(as_text=True)).group(1)
    assert url.startswith("http://localhost/v/")
    return url[len("http://localhost"):]


def test_phone_link_shows_the_qr_window_building_and_site_without_a_log_in(
        desk, services, make_client) -> None:
    path = _link(desk, _invite(desk))
    resp = make_client().get(path)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<svg" in page and "data-qr" in page
    assert 'data-building="A"' in page
    assert "test-site" in page and "2026-01-0" in page


def test_phone_page_never_shows_residents_visitor_details_or_console_links(
        desk, services, make_client) -> None:
    page = make_client().get(_link(desk, _invite(desk))).get_data(as_text=True)
    for secret in ("王芳", "13800000000", "赵六", "13712345678", "送货", "/logout", "/desk",
                   "/invites", "1201"):
        assert secret not in page, secret


def test_phone_page_is_not_cached_and_sends_no_referrer(desk, services, make_client) -> None:
    resp = make_client().get(_link(desk, _invite(desk)))
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("token", ["AAAAAAAAAAAAAAAAAAAAAA", "short", "x" * 200])
def test_unknown_token_is_404_with_the_same_private_headers(client, services, token) -> None:
    resp = client.get(f"/v/{token}")
    assert resp.status_code == 404
    assert resp.headers["Referrer-Policy"] == "no-referrer" and resp.headers["Cache-Control"] == "no-store"
    assert 'data-state="unknown"' in resp.get_data(as_text=True)


def test_revoked_invite_link_is_404(desk, services, make_client) -> None:
    page = _invite(desk)
    path = _link(desk, page)
    assert post_form(desk, page, page + "/revoke", {}).status_code == 303
    assert make_client().get(path).status_code == 404


def test_link_expires_with_the_invite(desk, services, make_client, clock) -> None:
    page = _invite(desk)
    path = _link(desk, page)
    [inv] = services.visitors.invites.recent()
    clock.now = inv.valid_until - 1
    assert make_client().get(path).status_code == 200
    clock.now = inv.valid_until
    assert make_client().get(path).status_code == 404


def test_used_up_invite_link_is_404(desk, services, make_client) -> None:
    path = _link(desk, _invite(desk))
    [inv] = services.visitors.invites.recent()
    services.visitors.invites.admitted(inv.invite_id)
    services.visitors.invites.admitted(inv.invite_id)
    assert make_client().get(path).status_code == 404


def test_a_new_link_replaces_the_old_one(desk, services, make_client) -> None:
    page = _invite(desk)
    old = _link(desk, page)
    new = _link(desk, page)
    assert old != new
    assert make_client().get(old).status_code == 404 and make_client().get(new).status_code == 200


def test_token_is_stored_only_hashed_and_never_audited(desk, services, config, app) -> None:
    page = _invite(desk)
    token = _link(desk, page).rsplit("/", 1)[1]
    assert len(token) == 22                                 # 16 random bytes, URL-safe base64
    [entry] = console(app).audit.search(action="invite.link")
    assert entry.user == "desk1" and token not in (entry.detail or "")
    services.db.conn().execute("PRAGMA wal_checkpoint(FULL)")
    with open(config.db_path, "rb") as f:
        assert token.encode() not in f.read()
    with sqlite3.connect(config.db_path) as c:
        [(stored,)] = c.execute("SELECT token_hash FROM visitor_invite_links").fetchall()
    assert len(stored) == 64 and token not in stored


def test_making_a_link_needs_the_csrf_token(desk, services) -> None:
    page = _invite(desk)
    assert desk.post(page + "/link", data={}).status_code == 400
    assert services.visitors.links.current(page.rsplit("/", 1)[1]) is None


def test_making_a_link_needs_the_desk_role(desk, services, make_client) -> None:
    page = _invite(desk)
    guard = make_client()
    login(guard, "guard1")
    assert post_form(guard, "/", page + "/link", {}).status_code == 403


def test_guessing_tokens_is_rate_limited_per_address_even_for_a_right_token(
        desk, services, make_client, clock) -> None:
    path = _link(desk, _invite(desk))
    guesser = make_client()
    guesser.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    for i in range(GUESSES_PER_MINUTE):
        assert guesser.get(f"/v/{'A' * 21}{i % 10}").status_code == 404
    refused = guesser.get(path)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    other = make_client()
    other.environ_base["REMOTE_ADDR"] = "10.1.1.1"
    assert other.get(path).status_code == 200               # other visitors are not locked out
    clock.now += 60_000
    assert guesser.get(path).status_code == 200


def test_the_phone_page_is_the_only_public_page_added_to_the_log_in_exceptions(app) -> None:
    assert PUBLIC_ENDPOINTS == {"auth.login", "static", "i18n.set_language", "invite_link.show"}
    [rule] = [r for r in app.url_map.iter_rules() if r.endpoint == "invite_link.show"]
    assert rule.rule == "/v/<token>" and rule.methods - {"HEAD", "OPTIONS"} == {"GET"}
    assert not [r for r in app.url_map.iter_rules()
                if r.rule.startswith("/v/") and r.endpoint != "invite_link.show"]


def test_invite_page_later_says_a_link_exists_but_never_shows_it_again(desk, services) -> None:
    page = _invite(desk)
    token = _link(desk, page).rsplit("/", 1)[1]
    html = desk.get(page).get_data(as_text=True)
    assert "data-invite-link" in html and "desk1" in html
    assert token not in html and "data-link-url" not in html
