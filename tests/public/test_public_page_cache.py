"""The public pages keep what they read per public position (web.public.FiguresCache): a change
shows on the next request, and what stays per request (language, CSRF token, who is signed in)
is never shared between two visitors."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.factories import advance, propose
from tests.web.support import sign_in
from tracker.application import SYSTEM

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def done(tracker_of, world):
    cid = propose(tracker_of, world, title="Joint night patrols").id
    advance(tracker_of, world, cid, "verified")
    return cid


def pages(world, commitment_id):
    return (f"/public/dialogues/{world.slug}", f"/public/commitments/{commitment_id}", "/public/")


def test_a_page_read_twice_shows_what_changed_in_between(client, tracker_of, world, done):
    police = world.members["police"]
    url = f"/public/dialogues/{world.slug}"
    before = client.get(url, headers={"Accept-Language": "en"}).text
    assert "Street lights" not in before and "all 1<" in before
    lights = propose(tracker_of, world, title="Street lights").id
    after = client.get(url, headers={"Accept-Language": "en"}).text
    assert "Street lights" in after and "all 2<" in after  # the rows and the counts
    # A change to a commitment already listed (its progress), and a new party at the table.
    advance(tracker_of, world, lights, "in_progress")
    tracker_of.commitment_action(police, lights, "progress", {"percent": 63, "public": True})
    tracker_of.add_party(SYSTEM, world.slug, name="Traders' union", kind="other")
    html = client.get(url, headers={"Accept-Language": "en"}).text
    assert 'value="63"' in html.split("Street lights")[1].split("</tr>")[0]
    assert "Traders&#39; union" in html
    # Made private, it leaves the page at once.
    tracker_of.commitment_action(police, lights, "set-visibility",
                                 {"public": False, "reason": "Security"})
    assert "Street lights" not in client.get(url).text
    assert client.get(f"/public/commitments/{lights}").status_code == 404


def test_the_commitment_page_and_the_index_show_a_change_on_the_next_request(
        client, tracker_of, world, done):
    police = world.members["police"]
    lights = propose(tracker_of, world, title="Street lights").id
    advance(tracker_of, world, lights, "in_progress")
    page = f"/public/commitments/{lights}"
    assert '<progress max="100" value="0"' in client.get(page).text
    assert "Dialogue saaba" in client.get("/public/").text
    tracker_of.commitment_action(police, lights, "progress", {"percent": 40, "public": True})
    assert '<progress max="100" value="40"' in client.get(page).text
    index = client.get("/public/", headers={"Accept-Language": "en"}).text
    tracker_of.create_dialogue(SYSTEM, slug="dakar", name="Dialogue dakar", country="SN",
                               locality="Dakar")
    again = client.get("/public/", headers={"Accept-Language": "en"}).text
    assert "Dialogue dakar" not in index and "Dialogue dakar" in again


def test_overdue_follows_the_day_not_only_the_record(client, tracker_of, world):
    police = world.members["police"]
    cid = propose(tracker_of, world, title="Repair the well").id
    advance(tracker_of, world, cid, "agreed")
    tracker_of.commitment_action(police, cid, "assign", {"party_id": world.parties["police"],
                                                         "due_date": date.today() + timedelta(days=1)})
    url = f"/public/dialogues/{world.slug}"
    assert 'class="overdue"' not in client.get(url).text
    tracker_of.today = lambda: date.today() + timedelta(days=3)  # no event: only the day moved
    assert 'class="overdue"' in client.get(url).text
    assert 'class="overdue"' in client.get(f"/public/commitments/{cid}").text


def test_readers_in_different_languages_each_get_their_own(client, world, done):
    for url in pages(world, done):
        for _ in range(2):  # the second round is served from what the first one kept
            english = client.get(url, headers={"Accept-Language": "en"}).text
            french = client.get(url, headers={"Accept-Language": "fr"}).text
            arabic = client.get(url, headers={"Accept-Language": "ar"}).text
            assert '<html lang="en" dir="ltr">' in english, url
            assert '<html lang="fr" dir="ltr">' in french, url
            assert '<html lang="ar" dir="rtl">' in arabic, url
            footer = "Every change is recorded and cannot be rewritten."
            assert footer in english and footer not in french + arabic, url
    dialogue = f"/public/dialogues/{world.slug}"
    assert "Party scorecards" in client.get(dialogue, headers={"Accept-Language": "en"}).text
    assert "Bilan par partie prenante" in client.get(dialogue, headers={"Accept-Language": "fr"}).text
    # The table is kept as HTML per language (web.deps.shared_block): each reader's own still.
    for _ in range(2):
        for language, header in (("en", "Milestones"), ("fr", "Étapes"), ("en", "Milestones")):
            table = client.get(dialogue, headers={"Accept-Language": language}).text
            table = table[table.index('id="public-commitments"'):]
            assert f'<th class="hide-narrow">{header}</th>' in table, language


def test_one_visitors_csrf_token_never_appears_in_anothers_page(client, world, done):
    visitors = [client, TestClient(client.app), TestClient(client.app)]
    for url in pages(world, done):
        tokens = []
        for visitor in visitors:
            html = visitor.get(url).text
            found = set(TOKEN.findall(html))
            assert len(found) == 1, url  # one token, this visitor's, wherever the page has one
            tokens.append((found.pop(), html))
        assert len({token for token, _ in tokens}) == len(visitors), url
        for token, _ in tokens:
            assert sum(token in html for _, html in tokens) == 1, url


def test_signed_in_and_anonymous_readers_each_see_who_they_are(client, world, done):
    member = TestClient(client.app, headers={"Accept-Language": "en"})
    sign_in(member, "saaba-police")
    for url in pages(world, done):
        anonymous = client.get(url, headers={"Accept-Language": "en"}).text
        signed_in = member.get(url).text
        anonymous_again = client.get(url, headers={"Accept-Language": "en"}).text
        assert '<span class="who">saaba-police</span>' in signed_in, url
        for html in (anonymous, anonymous_again):
            assert "saaba-police" not in html and "Sign out" not in html, url


def test_between_two_changes_a_reader_costs_no_read_of_the_public_rows(client, tracker_of, world,
                                                                        done):
    """The second reader of a page (of any language, signed in or not) is answered from what the
    first one read: only the position and the ledger's head are asked again."""
    store = client.app.state.read_models.public.store
    asked: list[str] = []
    for name in ("fetchall", "fetchone"):
        method = getattr(store, name)

        def spy(statement, *args, _method=method, **kwargs):
            asked.append(statement)
            return _method(statement, *args, **kwargs)

        setattr(store, name, spy)
    try:
        for url in pages(world, done):
            client.get(url, headers={"Accept-Language": "en"})
            asked.clear()
            second = client.get(url, headers={"Accept-Language": "fr"})
            assert second.status_code == 200
            rows = [s for s in asked if re.search(r"pub_(commitments|dialogues|parties|history|"
                                                  r"meetings)", s)]
            assert rows == [], (url, rows)
        propose(tracker_of, world, title="Street lights")
        asked.clear()
        assert "Street lights" in client.get(f"/public/dialogues/{world.slug}").text
        assert any("pub_commitments" in s for s in asked)  # a new position: read again
    finally:
        for name in ("fetchall", "fetchone"):
            delattr(store, name)


def entries(feed: str) -> str:
    """The feed without its subtitle (the ledger's head, which every event moves)."""
    return re.sub(r"<subtitle>.*?</subtitle>", "", feed, flags=re.S)


def test_the_feed_read_twice_shows_a_public_change_and_never_a_hidden_one(client, tracker_of,
                                                                          world, done):
    police = world.members["police"]
    feed = f"/public/dialogues/{world.slug}/feed.atom"
    first = client.get(feed).text
    assert "Street lights" not in first
    lights = propose(tracker_of, world, title="Street lights").id
    assert "Street lights" in client.get(feed).text
    advance(tracker_of, world, lights, "in_progress")
    before = entries(client.get(feed).text)
    tracker_of.commitment_action(police, lights, "progress", {"percent": 77, "public": False})
    assert entries(client.get(feed).text) == before  # a hidden fact changes no entry
    tracker_of.commitment_action(police, lights, "progress", {"percent": 81, "public": True})
    shown = entries(client.get(feed).text)
    assert "progress → 81" in shown and "progress → 81" not in before
    assert "progress → 77" not in shown


def test_a_new_checkpoint_shows_at_once_though_no_event_moved(client, world, done, settings):
    """A checkpoint is signed beside the log (no event): the pages still show the newest one."""
    from datetime import UTC, datetime

    from projections.ledger import load_signing_key, sign_checkpoint

    read_models = client.app.state.read_models
    key = load_signing_key(settings.signing_key_file)
    signed = []
    for hour in (9, 10):
        checkpoint = sign_checkpoint(key, read_models.ledger_head(),
                                     datetime(2026, 11, 30, hour, tzinfo=UTC))
        read_models.ledger.record_checkpoint(checkpoint)
        signed.append(checkpoint["signature"])
        for url in pages(world, done):
            html = client.get(url).text
            assert checkpoint["signature"] in html, url
    older = sign_checkpoint(key, read_models.ledger_head(), datetime(2026, 11, 29, tzinfo=UTC))
    read_models.ledger.record_checkpoint(older)  # recorded last, signed first: not the latest
    assert client.get("/public/checkpoint.json").json()["signature"] == signed[-1]
    assert signed[0] not in client.get(f"/public/dialogues/{world.slug}").text
