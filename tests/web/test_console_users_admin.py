"""/users: the administrator's user management flow, form errors, audit."""

from __future__ import annotations

import pytest

from web.audit import USER_ADD, USER_DISABLE, USER_ENABLE, USER_PASSWORD, USER_ROLE
from web.state import console

from console_helpers import PASSWORD, login, post_form

NEW = {"username": "li.ming", "role": "guard", "password": "guard password 1",
       "confirm": "guard password 1"}


@pytest.fixture
def admin(client):  # type: ignore[no-untyped-def]
    login(client, "admin1")
    return client


def test_admin_adds_a_user_who_can_then_log_in(admin, make_client, app) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(admin, "/users", "/users", NEW, follow_redirects=True)
    assert "已添加用户 li.ming" in resp.get_data(as_text=True)
    user = console(app).users.get("li.ming")
    assert user.role == "guard" and user.password_hash.startswith("scrypt:")
    assert login(make_client(), "li.ming", "guard password 1").status_code == 303


@pytest.mark.parametrize("field,value,message", [
    ("username", "", "请输入用户名"),
    ("username", "Li Ming", "2 至 32 个字符"),
    ("username", "x" * 33, "2 至 32 个字符"),
    ("username", "<script>", "2 至 32 个字符"),
    ("role", "root", ""),
    ("password", "short", "密码长度须为 10 至 256 个字符"),
    ("password", "p" * 257, "密码长度须为 10 至 256 个字符"),
    ("confirm", "something else", "两次输入的密码不一致"),
])
def test_bad_add_form_shows_error_and_stores_nothing(admin, app, field, value, message) -> None:  # type: ignore[no-untyped-def]
    data = dict(NEW, **{field: value})
    if field == "password":
        data["confirm"] = value
    before = console(app).users.count()
    resp = post_form(admin, "/users", "/users", data)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert 'class="field-errors"' in page and message in page
    assert console(app).users.count() == before
    assert "<script>" not in page


def test_existing_user_name_is_a_form_error(admin, app) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(admin, "/users", "/users", dict(NEW, username="desk1"))
    assert resp.status_code == 400 and "该用户名已存在" in resp.get_data(as_text=True)
    assert console(app).users.get("desk1").role == "desk"


def test_admin_changes_a_role(admin, app) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(admin, "/users", "/users/patrol1/role", {"role": "guard"})
    assert resp.status_code == 303
    assert console(app).users.get("patrol1").role == "guard"


def test_role_change_takes_effect_on_the_next_request(admin, make_client, app) -> None:  # type: ignore[no-untyped-def]
    guard = make_client()
    login(guard, "guard1")
    assert guard.get("/events").status_code == 200
    post_form(admin, "/users", "/users/guard1/role", {"role": "patrol"})
    assert guard.get("/events").status_code == 403


def test_admin_cannot_change_own_role(admin, app) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(admin, "/users", "/users/admin1/role", {"role": "desk"})
    assert resp.status_code == 400 and "不能更改自己的角色" in resp.get_data(as_text=True)
    assert console(app).users.get("admin1").role == "admin"


def test_admin_resets_a_password_and_ends_their_sessions(admin, make_client, app) -> None:  # type: ignore[no-untyped-def]
    desk = make_client()
    login(desk, "desk1")
    resp = post_form(admin, "/users", "/users/desk1/password", {"password": "fresh password 9"})
    assert resp.status_code == 303
    assert desk.get("/").status_code == 302
    assert console(app).users.authenticate("desk1", "fresh password 9") is not None


def test_short_reset_password_is_refused(admin, app) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(admin, "/users", "/users/desk1/password", {"password": "short"})
    assert resp.status_code == 400
    assert console(app).users.authenticate("desk1", PASSWORD) is not None


def test_admin_disables_and_enables_a_user(admin, make_client, app) -> None:  # type: ignore[no-untyped-def]
    guard = make_client()
    login(guard, "guard1")
    assert post_form(admin, "/users", "/users/guard1/disable", {}).status_code == 303
    assert guard.get("/").status_code == 302
    assert login(make_client(), "guard1").status_code == 401
    assert post_form(admin, "/users", "/users/guard1/enable", {}).status_code == 303
    assert login(make_client(), "guard1").status_code == 303


def test_admin_cannot_disable_self(admin, app) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(admin, "/users", "/users/admin1/disable", {})
    assert resp.status_code == 400 and "不能停用自己的账号" in resp.get_data(as_text=True)
    assert console(app).users.get("admin1").active


def test_unknown_user_is_404(admin) -> None:  # type: ignore[no-untyped-def]
    assert post_form(admin, "/users", "/users/ghost/disable", {}).status_code == 404


def test_every_user_change_is_audited(admin, app) -> None:  # type: ignore[no-untyped-def]
    post_form(admin, "/users", "/users", NEW)
    post_form(admin, "/users", "/users/li.ming/role", {"role": "desk"})
    post_form(admin, "/users", "/users/li.ming/password", {"password": "another one 123"})
    post_form(admin, "/users", "/users/li.ming/disable", {})
    post_form(admin, "/users", "/users/li.ming/enable", {})
    entries = console(app).audit.search(user="admin1")
    assert [(e.action, e.target) for e in entries if e.action != "auth.login"] == [
        (USER_ENABLE, "li.ming"), (USER_DISABLE, "li.ming"), (USER_PASSWORD, "li.ming"),
        (USER_ROLE, "li.ming"), (USER_ADD, "li.ming")]
    assert "another one 123" not in str([e.detail for e in entries])


def test_audit_page_lists_and_filters_entries(admin) -> None:  # type: ignore[no-untyped-def]
    post_form(admin, "/users", "/users", NEW)
    page = admin.get("/audit?action=user.add").get_data(as_text=True)
    assert 'data-action="user.add"' in page and 'data-action="auth.login"' not in page
    assert "li.ming" in page
