"""A crawl of the site's pages in one language, and what on them is not in that language.

Two checks meet here. The catalogues record every message a page asked for and did not find
(`MissingMessages`, hung behind each catalogue as gettext's fallback), so a template's `_()`
whose entry is missing names itself. And the text a reader sees is read back from the HTML:
a text that is an English msgid shown as it is on a French or Arabic page (a domain message
passed through untranslated), or, on an Arabic page, any Latin-script word that is neither the
data's own (names and titles typed by people) nor a technical name (SHA-256, JSON), was never
put through a catalogue at all.
"""

from __future__ import annotations

import gettext
import re
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from web.i18n import TRANSLATIONS_DIR

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HREF = re.compile(r'href="(/[^"#]*)"')
LATIN_WORD = re.compile(r"[A-Za-z]{3,}(?:['’-][A-Za-z]+)*")
# Names that are the same in every language: formats, standards, programs, products.
TECHNICAL = frozenset((
    "SHA", "JSON", "CSV", "Atom", "Lines", "RFC", "Ed25519", "PEM", "HTTPS", "HTTP", "http",
    "https", "WebCrypto", "API", "OpenAPI", "Merkle", "FreeOTP", "Aegis", "Google", "Authenticator",
    "tracker", "verify", "verify-proof", "checkpoint", "export", "import", "Français", "English",
    "QR", "URL", "UTC", "UUID", "XLSX",
))
# Words of English sentences that French does not use: a French page showing them shows English.
ENGLISH_ONLY = frozenset((
    "the", "is", "was", "this", "has", "have", "with", "not", "and", "are", "been", "nothing",
    "which", "there", "what", "when", "only", "by", "from", "your", "you", "can", "cannot", "must",
    "should", "will",
))
# Never followed: downloads, actions reached by a link, the API's own documents.
SKIP = re.compile(r"\.(csv|json|jsonl|pem|atom|ico|js|css|pdf)$|^/(static|docs|openapi|api|logout|redoc)")


def catalogue_ids(language: str, directory: Path = TRANSLATIONS_DIR) -> dict[str, str]:
    """msgid -> msgstr of a language's .po file (the singular of a plural entry)."""
    with (directory / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale=language)
    found = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        string = message.string[0] if isinstance(message.string, tuple) else message.string
        found[key] = string or ""
    return found


class MissingMessages(gettext.NullTranslations):
    """gettext's fallback of one catalogue: notes each message the catalogue could not give.
    English is the source language: an entry there may leave msgstr empty, it must exist."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.known = set(catalogue_ids(language)) if language == "en" else set()
        self.missing: dict[str, set[str]] = defaultdict(set)
        self.page = ""

    def _note(self, message: str) -> None:
        if message not in self.known:
            self.missing[message].add(self.page)

    def gettext(self, message: str) -> str:
        self._note(message)
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        self._note(singular)
        return singular if n == 1 else plural


def watch(app, language: str) -> MissingMessages:
    """Hang a recorder behind the app's catalogue of `language`."""
    recorder = MissingMessages(language)
    app.state.catalogues[language].add_fallback(recorder)
    return recorder


class _Text(HTMLParser):
    """The text a reader sees (and the titles, labels and placeholders they hear), by element;
    leaves out <code>, <pre>, <script>, <style> and what is marked translate="no"."""

    QUIET = {"script", "style", "code", "pre", "kbd", "samp"}
    ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.texts: list[str] = []
        self.stack: list[tuple[str, bool]] = []

    def _quiet(self) -> bool:
        return any(quiet for _, quiet in self.stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        quiet = (tag in self.QUIET or attributes.get("translate") == "no"
                 or attributes.get("lang", self.language) != self.language)
        if tag not in {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "rect",
                       "line", "path", "circle"}:
            self.stack.append((tag, quiet))
        if not (quiet or self._quiet()):
            self.texts += [attributes[a] for a in self.ATTRIBUTES if attributes.get(a)]
            if tag == "input" and attributes.get("type") in ("submit", "button"):
                self.texts.append(attributes.get("value") or "")

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if data.strip() and not self._quiet():
            self.texts.append(" ".join(data.split()))


def visible_texts(html: str, language: str) -> list[str]:
    """What a reader of `language` sees of the page (parts in another language left out)."""
    parser = _Text(language)
    parser.feed(html)
    return parser.texts


@dataclass
class Finding:
    language: str
    page: str
    text: str
    msgid: str | None  # the catalogue entry that would translate it, when there is one

    def __str__(self) -> str:
        if self.msgid:
            return f"catalogue {self.language} lacks {self.msgid!r} (shown untranslated on {self.page})"
        return (f"{self.page} [{self.language}] shows {self.text!r}, which is in no catalogue: "
                f"put it through _() and add it to the .po files")


@dataclass
class Checker:
    """Reads pages of one language and keeps what is not in it."""

    language: str
    data_texts: frozenset[str]
    english: dict[str, str] = field(default_factory=lambda: catalogue_ids("en"))
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        texts = sorted((t for t in self.data_texts if len(t.strip()) > 1), key=len, reverse=True)
        self.data = re.compile("|".join(re.escape(t) for t in texts)) if texts else None
        self.data_words = frozenset(w.lower() for t in texts for w in LATIN_WORD.findall(t))
        self.own = catalogue_ids(self.language)
        # translations that keep Latin names (SHA-256, position, tracker verify): their own text
        self.latin_in_own = sorted({t for t in self.own.values() if LATIN_WORD.search(t)},
                                   key=len, reverse=True)
        self.english_lower = {key.lower().rstrip("."): key for key in self.english}

    def _untranslated_msgid(self, text: str) -> str | None:
        """The English msgid this text is, when the page's catalogue says something else."""
        if self.language == "en":
            return None
        for candidate in {text, text.rstrip(".:"), text.split(": ", 1)[-1]}:
            key = self.english_lower.get(candidate.lower().rstrip("."))
            if (key is not None and len(key) > 2 and self.own.get(key, "") != key
                    and not self._is_data(candidate)):
                return key
        return None

    def _is_data(self, text: str) -> bool:
        return all(word.lower() in self.data_words or word in TECHNICAL
                   for word in LATIN_WORD.findall(text))

    def _without_own(self, text: str) -> str:
        text = UUID.sub("", text)
        if self.data is not None:
            text = self.data.sub(" ", text)
        for translation in self.latin_in_own:
            if translation in text:
                text = text.replace(translation, " ")
        return text

    def _foreign(self, text: str) -> bool:
        """Arabic: a Latin word that is neither data nor a technical name. French: an English
        word that French does not use. (English: only the catalogues' own check.)"""
        rest = self._without_own(text) if self.language in ("ar", "fr") else ""
        if self.language == "ar":
            return not self._is_data(rest)
        return bool(ENGLISH_ONLY & {w.lower() for w in LATIN_WORD.findall(rest)})

    def read(self, page: str, html: str) -> None:
        seen = set()
        for text in visible_texts(html, self.language):
            if text in seen:
                continue
            seen.add(text)
            msgid = self._untranslated_msgid(text)
            if msgid is not None:
                self.findings.append(Finding(self.language, page, text, msgid))
            elif self._foreign(text):
                self.findings.append(Finding(self.language, page, text, None))


def pattern(path: str) -> str:
    """A path with its ids and numbers blanked: pages of one pattern are crawled a few times."""
    return re.sub(r"\d+", "N", UUID.sub("ID", path))


def crawl(client: TestClient, starts: list[str], visit, *, per_pattern: int = 2,
          limit: int = 120) -> list[str]:
    """Follows the site's own links from `starts` (GET only, no downloads); calls
    visit(path, response) on each page; answers the paths read."""
    queue, seen, counts, read = list(starts), set(), defaultdict(int), []
    while queue and len(read) < limit:
        path = urldefrag(queue.pop(0))[0].replace("&amp;", "&")
        split = urlsplit(path)
        if path in seen or SKIP.search(split.path):
            continue
        seen.add(path)
        key = pattern(split.path) + ("?" if split.query else "")
        if counts[key] >= per_pattern:
            continue
        counts[key] += 1
        response = client.get(path, follow_redirects=True)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        read.append(path)
        visit(path, response)
        queue += HREF.findall(response.text)
    return read
