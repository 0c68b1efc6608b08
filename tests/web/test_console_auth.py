"""Log-in, log-out, sessions, cookie flags, CSRF, the failed log-in limit, own password."""

from __future__ import annotations

import re

import pytest

from web import create_app
from web.audit import LOGIN, LOGIN_FAILED, LOGIN_REFUSED, LOGOUT, PASSWORD_CHANGE
from web.state import console

from console_helpers import PASSWORD, csrf_token, login, post_form


def _cookie(resp, name: str) -> str:  # type: ignore[no-untyped-def]
    for header in resp.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie in {resp.headers.getlist('Set-Cookie')}")


def test_right_password_logs_in_and_goes_to_dashboard(client) -> None:  # type: ignore[no-untyped-def]
    resp = login(client, "desk1")
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client) -> None:  # type: ignore[no-untyped-def]
    resp = login(client, "desk1", "not my password")
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_disabled_user_cannot_log_in(client, app) -> None:  # type: ignore[no-untyped-def]
    console(app).users.disable("guard1")
    assert login(client, "guard1").status_code == 401


def test_session_cookie_is_httponly_and_samesite_lax(client) -> None:  # type: ignore[no-untyped-def]
    header = _cookie(login(client, "desk1"), "lobbygate_session")
    parts = [p.strip().lower() for p in header.split(";")]
    assert "httponly" in parts
    assert "samesite=lax" in parts
    assert "secure" not in parts


def test_session_cookie_is_secure_when_configured(tmp_path, services, clock, user_store) -> None:  # type: ignore[no-untyped-def]
    from web.config import parse_config
    from console_helpers import console_dict

    cfg = parse_config(console_dict(secure_cookies=True), base_dir=tmp_path)
    app = create_app(cfg, services=services, clock=clock)
    c = app.test_client()
    header = _cookie(login(c, "desk1"), "lobbygate_session")
    assert "secure" in [p.strip().lower() for p in header.split(";")]


def test_logout_ends_the_session(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    resp = post_form(client, "/", "/logout", {})
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_old_cookie_replayed_after_logout_is_refused(client, make_client) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    stolen = client.get_cookie("lobbygate_session").value
    post_form(client, "/", "/logout", {})
    attacker = make_client()
    attacker.set_cookie("lobbygate_session", stolen)
    resp = attacker.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_logout_on_one_device_keeps_the_other_logged_in(client, make_client) -> None:  # type: ignore[no-untyped-def]
    other = make_client()
    login(client, "desk1")
    login(other, "desk1")
    post_form(client, "/", "/logout", {})
    assert other.get("/").status_code == 200


def test_disabling_a_user_ends_their_open_session(client, app) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    console(app).users.disable("guard1")
    assert client.get("/").status_code == 302


def test_post_without_csrf_token_is_rejected_with_400(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/login", data={"username": "desk1", "password": PASSWORD})
    assert resp.status_code == 400
    assert "安全令牌" in resp.get_data(as_text=True)


def test_logged_in_post_without_csrf_token_changes_nothing(client, app, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    resp = client.post("/users", data={"username": "mallory", "role": "admin",
                                       "password": PASSWORD, "confirm": PASSWORD})
    assert resp.status_code == 400
    assert console(app).users.get("mallory") is None


def test_csrf_token_of_another_session_is_rejected(client, make_client) -> None:  # type: ignore[no-untyped-def]
    other = make_client()
    foreign = csrf_token(other, "/login")
    csrf_token(client, "/login")  # client has its own session
    resp = client.post("/login", data={"csrf_token": foreign, "username": "desk1",
                                       "password": PASSWORD})
    assert resp.status_code == 400


def test_eleventh_failed_login_in_a_minute_is_refused_even_with_right_password(client, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(10):
        assert login(client, "desk1", "wrong password").status_code == 401
    resp = login(client, "desk1", PASSWORD)
    assert resp.status_code == 429
    assert "登录失败次数过多" in resp.get_data(as_text=True)
    assert resp.headers["Retry-After"] == "60"


def test_login_limit_resets_after_the_minute(client, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(10):
        login(client, "desk1", "wrong password")
    clock.advance(60_000)
    assert login(client, "desk1", PASSWORD).status_code == 303


def test_login_limit_applies_per_client_address(client, make_client) -> None:  # type: ignore[no-untyped-def]
    for i in range(10):  # ten different accounts from one address
        login(client, f"nobody{i}", "wrong password")
    assert login(client, "desk1", PASSWORD).status_code == 429
    other = make_client()
    resp = post_form(other, "/login", "/login", {"username": "desk1", "password": PASSWORD},
                     environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert resp.status_code == 303


def test_login_redirects_to_safe_next_only(client) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(client, "/login", "/login?next=/events%3Fnode%3Dgate",
                     {"username": "desk1", "password": PASSWORD})
    assert resp.headers["Location"] == "/events?node=gate"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, target) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(client, "/login", "/login", {"username": "desk1", "password": PASSWORD,
                                                  "next": target})
    assert resp.headers["Location"] == "/"


def test_anonymous_page_request_comes_back_after_login(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/events?node=gate")
    assert resp.headers["Location"] == "/login?next=/events?node%3Dgate"
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/events?node=gate"' in page


def test_login_logout_and_failures_are_audited(client, app) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1", "wrong password")
    login(client, "desk1")
    post_form(client, "/", "/logout", {})
    entries = console(app).audit.search()
    assert [(e.action, e.user, e.target) for e in entries] == [
        (LOGOUT, "desk1", "desk1"), (LOGIN, "desk1", "desk1"), (LOGIN_FAILED, "-", "desk1")]
    assert all(e.remote_addr == "127.0.0.1" for e in entries)


def test_refused_login_is_audited(client, app) -> None:  # type: ignore[no-untyped-def]
    for _ in range(11):
        login(client, "desk1", "wrong password")
    assert console(app).audit.count(action=LOGIN_REFUSED) == 1


def test_own_password_change_ends_other_sessions_keeps_this_one(client, make_client, app) -> None:  # type: ignore[no-untyped-def]
    other = make_client()
    login(client, "guard1")
    login(other, "guard1")
    resp = post_form(client, "/account/password", "/account/password",
                     {"current": PASSWORD, "new": "a brand new secret", "confirm": "a brand new secret"})
    assert resp.status_code == 303
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    assert console(app).users.authenticate("guard1", "a brand new secret") is not None
    assert console(app).audit.count(action=PASSWORD_CHANGE) == 1


def test_own_password_change_needs_the_current_password(client, app) -> None:  # type: ignore[no-untyped-def]
    login(client, "guard1")
    resp = post_form(client, "/account/password", "/account/password",
                     {"current": "not it at all", "new": "a brand new secret",
                      "confirm": "a brand new secret"})
    assert resp.status_code == 400
    assert "当前密码不正确" in resp.get_data(as_text=True)
    assert console(app).users.authenticate("guard1", PASSWORD) is not None


def test_security_headers_forbid_foreign_content(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_load_nothing_from_other_sites(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    for url in ("/login", "/", "/events", "/nodes", "/alarms", "/users", "/audit"):
        page = client.get(url).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', page), url


def test_overlong_login_fields_are_form_errors(client, app) -> None:  # type: ignore[no-untyped-def]
    resp = login(client, "x" * 65, "y" * 300)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "用户名过长" in page and "密码过长" in page
    assert console(app).audit.count() == 0


def test_empty_login_fields_are_form_errors(client) -> None:  # type: ignore[no-untyped-def]
    resp = login(client, "", "")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "请输入用户名" in page and "请输入密码" in page
