"""French, English and Arabic: the gettext catalogues, the request's language, dates and numbers.

The catalogues are the Babel .po files in web/translations/{fr,en,ar}/LC_MESSAGES/messages.po. They are
compiled in memory when the app starts (no .mo build step, nothing generated in the tree); English
msgids are the source text. The language of a request is, in order: the session's choice (set from
the account's preference at sign-in, or by the switch on every page), then Accept-Language, then
French. Templates get `_`/`gettext`/`ngettext` (jinja2's i18n extension, new-style) and the filters
`date`, `datetime`, `number` and `percent`, all reading the `format_locale` of the rendering context
(the language with the browser's region when it asks for one: `en-GB` dates read 30 Jun 2030, not
6/30/30), else its `locale`. Arabic pages are written right to left (`direction`).
"""

from __future__ import annotations

import gettext as gettext_module
import re
from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request

from web import labels

LANGUAGES = ("fr", "en", "ar")
DEFAULT_LANGUAGE = "fr"
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "ar": "العربية"}
RIGHT_TO_LEFT = frozenset({"ar"})
TRANSLATIONS_DIR = Path(__file__).parent / "translations"


def load_catalogues(directory: Path = TRANSLATIONS_DIR) -> dict[str, gettext_module.GNUTranslations]:
    """Every language's catalogue, compiled in memory from its .po file."""
    catalogues = {}
    for language in LANGUAGES:
        path = directory / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as po:
            catalogue = read_po(po, locale=language)
        buffer = BytesIO()
        write_mo(buffer, catalogue)
        buffer.seek(0)
        catalogues[language] = gettext_module.GNUTranslations(buffer)
    return catalogues


def negotiate(accept_language: str | None) -> str | None:
    """The first of our languages the browser asks for (by its q-weighted list), or None."""
    weighted = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(weighted):
        base = tag.split("-")[0]
        if base in LANGUAGES:
            return base
    return None


def request_language(request: Request) -> str:
    chosen = request.session.get("lang") if "session" in request.scope else None
    if chosen in LANGUAGES:
        return chosen
    return negotiate(request.headers.get("accept-language")) or DEFAULT_LANGUAGE


def direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


@lru_cache(maxsize=256)
def _regional(accept_language: str, language: str) -> str:
    for item in accept_language.split(","):
        tag = item.partition(";")[0].strip().replace("_", "-")
        base, _, region = tag.partition("-")
        if base.lower() == language and region.isalpha() and len(region) == 2:
            try:
                return str(Locale.parse(f"{language}_{region.upper()}"))
            except (ValueError, LookupError):
                return language
    return language


def format_locale(request: Request, language: str) -> str:
    """The Babel locale that formats dates and numbers: the page's language, with the region the
    browser names for that language (`en-GB`, `fr-BF`, `ar-TN`) when Babel knows it."""
    return _regional(request.headers.get("accept-language") or "", language)


def translator(catalogues: dict[str, gettext_module.GNUTranslations], language: str) -> Any:
    return catalogues.get(language) or gettext_module.NullTranslations()


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@lru_cache(maxsize=1)
def message_patterns(directory: Path = TRANSLATIONS_DIR) -> tuple[frozenset[str],
                                                                   tuple[tuple[re.Pattern[str], str], ...]]:
    """The English msgids, and those with {placeholders} as patterns that match the sentences
    made from them (`no dialogue is called 'x'` is `no dialogue is called {name}`), the most
    specific (longest fixed text) first."""
    with (directory / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        ids = [m.id for m in read_po(po) if m.id and isinstance(m.id, str)]
    patterns = []
    for msgid in ids:
        pieces = _PLACEHOLDER.split(msgid)  # text, name, text, name, ..., text
        fixed = "".join(pieces[0::2])
        if len(pieces) < 3 or len(fixed.strip(" :.")) < 8:
            continue
        regex = "".join(re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>.+?)"
                        for i, piece in enumerate(pieces))
        patterns.append((len(fixed), re.compile(regex, re.S), msgid))
    patterns.sort(key=lambda item: -item[0])
    return frozenset(ids), tuple((regex, msgid) for _, regex, msgid in patterns)


@lru_cache(maxsize=8)
def _own_texts(translations: Any) -> frozenset[str]:
    """Every translation a catalogue holds (a message may reach a page already translated)."""
    return frozenset(v for v in getattr(translations, "_catalog", {}).values() if isinstance(v, str))


def _value_text(translations: Any, value: str, known: frozenset[str]) -> str:
    """A value quoted in a message: translated when it is a message itself, or a list of them
    joined by "or" ("an agreed or an in-progress")."""
    if value in known:
        return translations.gettext(value)
    parts = value.split(" or ")
    if len(parts) > 1 and all(part in known for part in parts):
        return f" {translations.gettext('or')} ".join(translations.gettext(p) for p in parts)
    return value


def translate_message(translations: Any, message: str) -> str:
    """A message made at run time in the reader's language: its own entry, or the entry with
    placeholders it was made from, filled with the same values, themselves translated when they
    are messages (a refusal of the lifecycle names an action and a status)."""
    known, patterns = message_patterns()
    if message in known or "{" in message:
        return translations.gettext(message)
    for regex, msgid in patterns:
        found = regex.fullmatch(message)
        if found:
            values = {k: _value_text(translations, v, known) for k, v in found.groupdict().items()}
            return _PLACEHOLDER.sub(lambda m, v=values: v.get(m.group(1), m.group(0)),
                                    translations.gettext(msgid))
    if message in _own_texts(translations):
        return message
    return translations.gettext(message)


@pass_context
def _gettext(context: Context, message: str) -> str:
    """The message translated when the catalogue has it, as plain text: autoescaping escapes it
    and a % in it is not a format. Templates call it as `translate()` for a message made at run
    time (an error that may quote what was typed, see `translate_message`); `_()` is for literals."""
    return translate_message(context["translations"], message)


@lru_cache(maxsize=4096)
def _translated(translations: Any, message: str, autoescape: bool) -> str:
    """A message as jinja2's new-style gettext gives it without variables (translated, marked
    safe when autoescaping, and always %-formatted); computed once per language and message."""
    text = translations.gettext(message)
    return (Markup(text) if autoescape else text) % {}  # noqa: S704 (our own catalogue, as jinja2 does)


@pass_context
def _cached_gettext(context: Context, message: str, **variables: Any) -> str:
    """jinja2's new-style `_()`/`gettext()` with the same result, without redoing the lookup,
    the Markup wrapping and the formatting of a message for every call (a page of 50 rows makes
    hundreds of calls; they were about a sixth of the time of rendering it)."""
    autoescape = context.eval_ctx.autoescape
    if not variables:
        return _translated(context["translations"], message, autoescape)
    text = context["translations"].gettext(message)
    return (Markup(text) if autoescape else text) % variables  # noqa: S704 (variables are escaped)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return context["translations"].ngettext(singular, plural, n)


# Babel parses the locale on every call; pages show the same few dates and percentages many times.
@lru_cache(maxsize=8192)
def _date_text(value: date, fmt: str, locale: str) -> str:
    return format_date(value, format=fmt, locale=locale)


@lru_cache(maxsize=4096)
def _decimal_text(value: float | int, locale: str) -> str:
    return format_decimal(value, locale=locale)


@lru_cache(maxsize=4096)
def _percent_text(value: float | int, locale: str) -> str:
    return format_percent(value, locale=locale)


def _locale_of(context: Context) -> str:
    return context.get("format_locale") or context["locale"]


@pass_context
def _format_date(context: Context, value: date | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return _date_text(value, fmt, _locale_of(context))


@pass_context
def _format_datetime(context: Context, value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_datetime(value, format=fmt, locale=_locale_of(context))


@pass_context
def _format_number(context: Context, value: float | int) -> str:
    return _decimal_text(value, _locale_of(context))


@pass_context
def _format_percent(context: Context, value: float | int, whole: bool = True) -> str:
    """`whole`: the value is 0..100 (progress), else a ratio 0..1."""
    return _percent_text(value / 100 if whole else value, _locale_of(context))


@pass_context
def _country_name(context: Context, code: str | None) -> str:
    """A country's name in the page's language ("BF": Burkina Faso, Burkina Faso, بوركينا فاسو)."""
    if not code:
        return ""
    return _territory(code.upper(), context["locale"])


@lru_cache(maxsize=1024)
def _territory(code: str, locale: str) -> str:
    return Locale.parse(locale).territories.get(code, code)


def as_time(value: Any) -> date | datetime | None:
    """A value that is a date or a time in ISO text (as states and changes hold them), or None."""
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not 10 <= len(value) <= 40 or value[4:5] != "-":
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        return None


def install(env: Environment) -> None:
    """The i18n extension and the locale-aware filters on a template environment."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = _cached_gettext  # what {% trans %} calls
    # `_()` itself: jinja2's alias looks `gettext` up in the context and calls it through a second
    # `context.call` at every use (half of the calls of drawing a page of 50 rows).
    env.globals["_"] = _cached_gettext
    env.globals["translate"] = _gettext  # for messages that are not literals in a template
    env.filters["date"] = _format_date
    env.filters["datetime"] = _format_datetime
    env.filters["number"] = _format_number
    env.filters["percent"] = _format_percent
    env.filters["country"] = _country_name
    env.globals["as_time"] = as_time
    env.globals.update(status_labels=labels.STATUS_LABELS, action_labels=labels.ACTION_LABELS,
                       done_messages=labels.DONE_MESSAGES, event_labels=labels.EVENT_LABELS,
                       category_labels=labels.CATEGORY_LABELS, done_label=labels.DONE,
                       party_kind_labels=labels.PARTY_KIND_LABELS, field_labels=labels.FIELD_LABELS,
                       role_labels=labels.ROLE_LABELS, yes_no=labels.YES_NO,
                       language_names=LANGUAGE_NAMES,
                       column_labels=labels.COLUMN_LABELS, outcome_labels=labels.OUTCOME_LABELS,
                       mail_mode_labels=labels.MAIL_MODE_LABELS)


def locale_name(language: str) -> str:
    return Locale.parse(language).get_display_name(language) or language
