"""Translations: the zh_CN catalogue covers every message and its .mo is fresh; the
language choice is remembered on the user and in a cookie."""

from __future__ import annotations

import pytest

from web import i18n_tools
from web.audit import LANGUAGE
from web.state import console

from console_helpers import login, post_form


@pytest.fixture(scope="module")
def template():  # type: ignore[no-untyped-def]
    return i18n_tools.extract()


def test_extraction_finds_template_and_python_messages(template) -> None:  # type: ignore[no-untyped-def]
    ids = {m.id for m in template}
    assert "Open alarms" in ids                      # templates/dashboard.html
    assert "Wrong user name or password." in ids     # auth/views.py
    assert "Front desk" in ids                       # labels.py (lazy_gettext)


def test_every_message_is_translated_in_zh_cn(template) -> None:  # type: ignore[no-untyped-def]
    assert i18n_tools.missing("zh_CN", template) == [], \
        "run: /tmp/venv/bin/python -m web.i18n_tools update, then translate the new entries"


def test_every_message_is_in_the_en_catalogue(template) -> None:  # type: ignore[no-untyped-def]
    assert i18n_tools.missing("en", template) == []


@pytest.mark.parametrize("lang", i18n_tools.LANGUAGES)
def test_compiled_catalogue_matches_its_po(lang: str) -> None:
    assert not i18n_tools.mo_is_stale(lang), \
        f"{i18n_tools.mo_path(lang)} is stale: run /tmp/venv/bin/python -m web.i18n_tools update"


def test_zh_cn_uses_the_domain_terms() -> None:
    cat = i18n_tools.read_catalog("zh_CN")
    for english, chinese in (("Front desk", "前台"), ("Gate guard", "门岗"), ("Patrol", "巡更"),
                             ("Alarms", "告警"), ("Nodes", "节点"), ("Events", "事件"),
                             ("Audit log", "审计日志"), ("Users", "用户")):
        assert cat.get(english).string == chinese


def test_default_language_is_chinese(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "用户名" in page


def test_language_cookie_sets_the_login_page_language(client) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(client, "/login", "/lang/en", {"next": "/login"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    assert client.get_cookie("lobbygate_lang").value == "en"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "User name" in page


def test_logged_in_choice_is_stored_on_the_user_and_audited(client, make_client, app) -> None:  # type: ignore[no-untyped-def]
    login(client, "desk1")
    post_form(client, "/", "/lang/en", {"next": "/"})
    assert console(app).users.get("desk1").language == "en"
    (entry,) = console(app).audit.search(action=LANGUAGE)
    assert (entry.user, entry.detail) == ("desk1", "en")
    other = make_client()                      # another browser, no cookie
    resp = login(other, "desk1")
    assert "lobbygate_lang=en" in " ".join(resp.headers.getlist("Set-Cookie"))
    assert "Latest events" in other.get("/").get_data(as_text=True)


def test_user_language_wins_over_the_cookie(client, app) -> None:  # type: ignore[no-untyped-def]
    console(app).users.set_language("guard1", "en")
    client.set_cookie("lobbygate_lang", "zh_CN")
    login(client, "guard1")
    client.set_cookie("lobbygate_lang", "zh_CN")
    assert "Latest events" in client.get("/").get_data(as_text=True)


def test_unknown_language_is_404(client) -> None:  # type: ignore[no-untyped-def]
    assert post_form(client, "/login", "/lang/fr", {}).status_code == 404


def test_language_switch_needs_csrf_token(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/lang/en").status_code == 400


def test_language_switch_never_redirects_off_site(client) -> None:  # type: ignore[no-untyped-def]
    resp = post_form(client, "/login", "/lang/en", {"next": "https://evil.example/"})
    assert resp.headers["Location"] == "/"
