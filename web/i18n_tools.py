"""Maintain the console's translation catalogues (``web/translations/<lang>/LC_MESSAGES``).

``python -m web.i18n_tools update``: extract every message from the Python code and the
templates (per ``web/babel.cfg``), merge it into each language's ``messages.po`` (new ones
untranslated, gone ones dropped) and compile ``messages.mo``. ``check`` lists what is
missing or stale without writing (the test suite runs the same checks).
``translate FILE.json`` sets translations from ``{"zh_CN": {"msgid": "译文", ...}}`` and then
updates. Writers hold an exclusive lock on ``web/translations/.lock``, so several people (or
tools) adding translations at once never overwrite each other's catalogue edits.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import sys
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

__all__ = ["WEB_DIR", "TRANSLATIONS", "LANGUAGES", "KEYWORDS", "extract", "po_path", "mo_path",
           "read_catalog", "compile_mo", "missing", "split_key", "CONTEXT_SEPARATOR", "mo_is_stale",
           "translate", "update", "main"]

WEB_DIR = Path(__file__).resolve().parent
TRANSLATIONS = WEB_DIR / "translations"
LANGUAGES = ("zh_CN", "en")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3),
            "lazy_pgettext": ((1, "c"), 2)}


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def mo_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo"


def extract() -> Catalog:
    """Every translatable message in ``web/`` (Python and templates), as a template catalogue."""
    with (WEB_DIR / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    catalog = Catalog(project="lobbygate", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(WEB_DIR), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalog(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def compile_mo(catalog: Catalog) -> bytes:
    """The ``.mo`` bytes of ``catalog`` (fuzzy entries left out)."""
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _msgid(m: Message) -> object:
    return (m.context, m.id)


def missing(lang: str, template: Catalog | None = None) -> list[str]:
    """Messages of the code that ``lang``'s catalogue lacks, leaves untranslated or fuzzy (as
    :func:`translate` keys: ``"context\u0004msgid"`` for messages with a context)."""
    template = template or extract()
    catalog = read_catalog(lang)
    out = []
    for m in template:
        if not m.id:
            continue
        found = catalog.get(m.id, context=m.context)
        strings = found.string if found is not None else None
        empty = (not strings) if not isinstance(strings, (list, tuple)) else not all(strings)
        if found is None or empty or found.fuzzy:
            msgid = m.id if isinstance(m.id, str) else m.id[0]
            out.append(f"{m.context}{CONTEXT_SEPARATOR}{msgid}" if m.context else msgid)
    return out


def _mo_messages(raw: bytes) -> dict[object, object]:
    cat = read_mo(io.BytesIO(raw))
    return {_msgid(m): m.string for m in cat if m.id}


def mo_is_stale(lang: str) -> bool:
    """True if the committed ``.mo`` differs from what its ``.po`` compiles to."""
    try:
        committed = mo_path(lang).read_bytes()
    except FileNotFoundError:
        return True
    return _mo_messages(committed) != _mo_messages(compile_mo(read_catalog(lang)))


@contextlib.contextmanager
def _catalog_lock() -> Iterator[None]:
    """Exclusive lock over the catalogues for one read-modify-write."""
    TRANSLATIONS.mkdir(parents=True, exist_ok=True)
    with (TRANSLATIONS / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


#: Separates a message's context from its id in a :func:`translate` key (as in ``.mo`` files):
#: ``"menu\u0004Keys"`` is ``pgettext("menu", "Keys")``.
CONTEXT_SEPARATOR = "\u0004"


def split_key(key: str) -> tuple[str | None, str]:
    """``"context\u0004msgid"`` -> ``("context", "msgid")``; a plain ``"msgid"`` -> ``(None, ...)``."""
    context, sep, msgid = key.partition(CONTEXT_SEPARATOR)
    return (context, msgid) if sep else (None, key)


def translate(translations: Mapping[str, Mapping[str, str]]) -> None:
    """Set ``translations[lang][msgid]`` in each catalogue (messages not yet in a catalogue are
    added), then :func:`update`. A key ``"context\u0004msgid"`` sets the message of that
    context (``pgettext``). Unknown languages raise ValueError."""
    unknown = set(translations) - set(LANGUAGES)
    if unknown:
        raise ValueError(f"unknown languages: {sorted(unknown)}")
    with _catalog_lock():
        for lang, strings in translations.items():
            catalog = read_catalog(lang)
            for key, text in strings.items():
                context, msgid = split_key(key)
                found = catalog.get(msgid, context=context)
                if found is None:
                    catalog.add(msgid, text, context=context)
                else:
                    found.string = text
                    found.flags.discard("fuzzy")
            with po_path(lang).open("wb") as fh:
                write_po(fh, catalog, width=100, sort_output=True, omit_header=False,
                         include_previous=False)
        _update()


def update() -> None:
    """Merge the code's messages into every catalogue and compile (under the catalogue lock)."""
    with _catalog_lock():
        _update()


def _update() -> None:
    template = extract()
    for lang in LANGUAGES:
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            catalog = read_catalog(lang)
        else:
            catalog = Catalog(locale=lang, project="lobbygate", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        if lang == "en":  # the source language: each message is its own translation
            for m in catalog:
                if m.id and not m.string:
                    m.string = m.id
        catalog.obsolete.clear()
        catalog.fuzzy = False
        catalog.project, catalog.version = "lobbygate", "0.1"
        catalog.copyright_holder = "the lobbygate contributors"
        catalog.msgid_bugs_address = ""
        catalog.last_translator = "lobbygate contributors"
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, sort_output=True, omit_header=False,
                     include_previous=False)
        mo_path(lang).write_bytes(compile_mo(read_catalog(lang)))
        print(f"{lang}: {len(catalog)} messages, {len(missing(lang, template))} untranslated")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["update"]:
        update()
        return 0
    if args[:1] == ["translate"] and len(args) == 2:
        with open(args[1], encoding="utf-8") as fh:
            translate(json.load(fh))
        return 0
    if args[:1] == ["check"]:
        template, bad = extract(), False
        for lang in LANGUAGES:
            gaps = missing(lang, template)
            for msg in gaps:
                print(f"{lang}: untranslated: {msg!r}")
            if mo_is_stale(lang):
                print(f"{lang}: {mo_path(lang)} is stale: run `python -m web.i18n_tools update`")
            bad = bad or bool(gaps) or mo_is_stale(lang)
        return 1 if bad else 0
    print("usage: python -m web.i18n_tools update|check|translate FILE.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
