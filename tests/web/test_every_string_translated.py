"""Every string a reader meets is in the page's language: a crawl of the demo's pages, signed
out and as each role, in French, English and Arabic, with forms sent wrong on purpose so that
validation errors, refusals and flash messages are read too.

A failure names the catalogue and the message it lacks (`catalogue ar lacks 'Sign in'`), or the
page and the text that no catalogue has (a string that never went through `_()`): fill the
entry in web/translations/{fr,en,ar}/LC_MESSAGES/messages.po, or put the string through `_()`.
"""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.web import crawl
from tests.web.support import csrf_token, sign_in
from tracker.demo import DEMO_PASSWORD, demo_accounts, load_demo
from web.app import create_app
from web.i18n import LANGUAGES

COMMITMENT = re.compile(r'href="/commitments/([0-9a-f-]{36})"')


def stored_texts(tracker) -> frozenset[str]:
    """Every text the people of the demo typed (names, titles, reasons): data, not interface."""
    found: set[str] = set()

    def walk(value):
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)
        elif hasattr(value, "__dict__"):
            walk(vars(value))

    for stored in tracker.recorder.select_notifications(1, 1_000_000):
        walk(tracker.mapper.to_domain_event(stored))
    return frozenset(found | {"testclient"})  # the test client's address, as sign-ins record it


def wrong_forms(client: TestClient, token: str, commitment: str) -> list[tuple[str, str]]:
    """Answers to forms sent wrong (and one right): (what, html)."""
    sent = []
    for action, data in (("progress", {"percent": "lots"}), ("progress", {"percent": "40"}),
                         ("complete", {"summary": ""}), ("reject", {"reason": ""}),
                         ("assign", {"party_id": "", "due_date": "someday"}),
                         ("attach-evidence", {"description": "x", "url": "ftp://x"})):
        response = client.post(f"/commitments/{commitment}/{action}",
                               data={**data, "csrf_token": token}, follow_redirects=True)
        sent.append((f"POST /commitments/…/{action} {data}", response.text))
    response = client.post(f"/commitments/{commitment}/reject", data={"reason": "x"},
                           follow_redirects=True)  # no CSRF token
    sent.append(("POST without a CSRF token", response.text))
    sent.append(("an unknown commitment", client.get(f"/commitments/{uuid.uuid4()}").text))
    sent.append(("an unknown dialogue", client.get("/dialogues/0000").text))
    return sent


@pytest.mark.slow
def test_no_page_of_the_crawl_shows_a_string_outside_its_language(settings):
    app = create_app(settings)
    with TestClient(app):
        tracker = app.state.tracker
        load_demo(tracker)
        data = stored_texts(tracker)
        accounts = {role: next(n for n, r, _ in demo_accounts() if r == role)
                    for role in ("admin", "auditor", "member")}
        findings: list[crawl.Finding] = []
        missing: dict[str, dict[str, set[str]]] = {}
        read = 0
        for language in LANGUAGES:
            recorder = crawl.watch(app, language)
            checker = crawl.Checker(language, data)

            def visit(path, response, recorder=recorder, checker=checker):
                recorder.page = path
                checker.read(path, response.text)

            for role in (None, "member", "auditor", "admin"):
                client = TestClient(app, headers={"Accept-Language": language})
                if role:
                    token = sign_in(client, accounts[role], DEMO_PASSWORD)
                else:
                    failed = client.post("/login", data={"username": "x", "password": "y",
                                                         "csrf_token": csrf_token(client)})
                    visit("POST /login (wrong password)", failed)
                read += len(crawl.crawl(client, ["/", "/public/", "/public/ledger"], visit,
                                        per_pattern=1, limit=60))
                if role == "member":
                    home = client.get("/", follow_redirects=True).text
                    dialogue = re.search(r'href="(/dialogues/[a-z0-9-]+)"', home)
                    page = client.get(dialogue[1]).text if dialogue else home
                    commitment = COMMITMENT.findall(page)[0]
                    for what, html in wrong_forms(client, token, commitment):
                        recorder.page = what
                        checker.read(what, html)
            findings += checker.findings
            missing[language] = recorder.missing
        assert read > 100, read  # the crawl reached the site's pages
        lacking = [f"catalogue {language} lacks {message!r} (asked for on {sorted(pages)[0]})"
                   for language, messages in missing.items() for message, pages in messages.items()]
        unique = list(dict.fromkeys(str(f) for f in findings))
        assert not lacking and not unique, "\n".join(lacking + unique)


def test_the_check_names_the_catalogue_and_the_message_it_lacks():
    """The checker itself, on pages written out by hand."""
    french = crawl.Checker("fr", frozenset({"Saaba", "Police nationale"}))
    french.read("/x", "<p>Police nationale</p><p>Commitments</p><p>Engagements</p>"
                      "<p>nothing happened on this day</p><button lang='en'>English</button>")
    assert [str(f) for f in french.findings] == [
        "catalogue fr lacks 'Commitments' (shown untranslated on /x)",
        "/x [fr] shows 'nothing happened on this day', which is in no catalogue: "
        "put it through _() and add it to the .po files"]
    arabic = crawl.Checker("ar", frozenset({"Saaba"}))
    arabic.read("/y", "<p>Saaba</p><p>الالتزامات</p><p>SHA-256</p><code>tracker verify</code>"
                      "<p>Due soon</p><p title='Party'>—</p>")
    assert [f.text for f in arabic.findings] == ["Due soon", "Party"]
    assert arabic.findings[1].msgid == "Party"


def test_every_catalogue_has_every_message_of_the_source():
    """English (the source) lists every msgid; French and Arabic translate each one."""
    english = crawl.catalogue_ids("en")
    for language in ("fr", "ar"):
        own = crawl.catalogue_ids(language)
        lacking = [m for m in english if not own.get(m)]
        assert not lacking, f"catalogue {language} lacks: " + "; ".join(map(repr, lacking))
        assert not set(own) - set(english), f"catalogue {language} has entries English lacks"
