"""`python -m web.i18n_tools translate FILE.json` sets strings in a catalogue copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import web.i18n_tools as tools


@pytest.fixture
def catalogues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "translations"
    shutil.copytree(tools.TRANSLATIONS, copy, ignore=shutil.ignore_patterns(".lock"))
    monkeypatch.setattr(tools, "TRANSLATIONS", copy)
    return copy


def test_translate_sets_the_string_in_the_catalogue(catalogues: Path) -> None:
    tools.translate({"zh_CN": {"Dashboard": "总览（测试）"}})
    assert tools.read_catalog("zh_CN").get("Dashboard").string == "总览（测试）"


def test_translate_compiles_the_mo(catalogues: Path) -> None:
    tools.translate({"zh_CN": {"Dashboard": "总览（测试）"}})
    assert not tools.mo_is_stale("zh_CN")


def test_translate_refuses_an_unknown_language(catalogues: Path) -> None:
    with pytest.raises(ValueError, match="unknown languages"):
        tools.translate({"fr": {"Dashboard": "Tableau"}})


def test_translate_sets_a_message_of_a_context_given_as_context_eot_msgid(catalogues: Path) -> None:
    tools.translate({"zh_CN": {"menu\u0004Keys": "钥匙菜单（测试）"}})     # web/nav.py
    catalog = tools.read_catalog("zh_CN")
    assert catalog.get("Keys", context="menu").string == "钥匙菜单（测试）"


def test_translate_with_a_context_leaves_the_message_without_context_alone(catalogues: Path) -> None:
    before = tools.read_catalog("zh_CN").get("Patrol").string           # also menu "Patrol"
    tools.translate({"zh_CN": {"menu\u0004Patrol": "巡更菜单（测试）"}})
    assert tools.read_catalog("zh_CN").get("Patrol").string == before


def test_split_key_separates_context_and_msgid() -> None:
    assert tools.split_key("menu\u0004Keys") == ("menu", "Keys")
    assert tools.split_key("Keys") == (None, "Keys")
