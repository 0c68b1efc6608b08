"""Flask extensions, created once and initialised in one place."""

from __future__ import annotations

from functools import cached_property

from babel import support
from flask import Flask
from flask_babel import Babel, Domain, get_locale
from flask_wtf.csrf import CSRFProtect

__all__ = ["babel", "csrf", "init_extensions"]


class CatalogDomain(Domain):
    """The message domain, loading each language's catalogue from the directory named by the
    console's language code (``translations/zh_CN``) although Babel names the parsed locale
    ``zh_Hans_CN`` (which :func:`gettext.find` would not map back to ``zh_CN``)."""

    def get_translations(self) -> support.NullTranslations:
        from .i18n import language_code

        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        code = language_code(locale)
        cached = self.cache.get(code)
        if cached is None:
            cached = support.Translations()
            for dirname in self.translation_directories:
                cached.merge(support.Translations.load(dirname, [code], self.domain[0]))
            self.cache[code] = cached
        return cached


class ConsoleBabel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:  # type: ignore[override]
        return CatalogDomain(domain=self.domain)


babel = ConsoleBabel()
csrf = CSRFProtect()


def init_extensions(app: Flask) -> None:
    """Babel (locale from the user, then the language cookie, then the default), CSRF on
    every POST, template filters and globals."""
    from . import filters
    from .i18n import select_locale, select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    csrf.init_app(app)
    filters.init_app(app)
