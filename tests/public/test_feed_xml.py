"""The Atom feed is always well-formed XML, whatever text the record holds."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from uuid import UUID

from domain.base import Meta
from domain.commitment import Commitment
from tests.factories import advance, make_world, propose
from tracker.application import SYSTEM

ATOM = "{http://www.w3.org/2005/Atom}"
# Every awkward character a text field takes: markup, entities, a CDATA end, quotes, tab and
# line breaks, no-break and zero-width spaces, right-to-left marks and Arabic, a line separator,
# a combining accent, a non-character XML allows, emoji and the last plane's last character.
AWKWARD = ("<b>&amp; & &lt; ]]> \"q\" 'a' \t tab\nline \u00a0\u200b\u200f\u202e "
           "\u0633\u0644\u0627\u0645 \u2028 e\u0301 \ufdd0 \U0001f6a8 \U0010fffd <!-- x --> <?pi?>")


def test_the_feed_parses_after_every_awkward_character_a_field_takes(client, tracker_of):
    tracker = tracker_of
    world = make_world(tracker, slug="awkward")
    tracker.add_party(SYSTEM, world.slug, name=f"Party {AWKWARD}"[:200], kind="youth")
    cid = propose(tracker, world, title=f"Lights {AWKWARD}"[:300], description=AWKWARD).id
    police = world.members["police"]
    tracker.commitment_action(police, cid, "amend", {"description": f"{AWKWARD}!",
                                                     "reason": f"Because {AWKWARD}"})
    advance(tracker, world, cid, "in_progress")
    tracker.commitment_action(police, cid, "add-milestone", {"title": f"Step {AWKWARD}"[:300]})
    tracker.commitment_action(police, cid, "cancel", {"reason": f"Stopped {AWKWARD}"})

    for language in ("en", "fr", "ar"):
        response = client.get(f"/public/dialogues/{world.slug}/feed.atom",
                              headers={"Accept-Language": language})
        assert response.status_code == 200
        feed = ET.fromstring(response.content)  # raises if it is not well-formed
        entries = feed.findall(f"{ATOM}entry")
        assert len(entries) >= 5
        text = " ".join(e.findtext(f"{ATOM}title") + e.findtext(f"{ATOM}summary")
                        for e in entries)
        assert "Lights <b>&amp; & &lt; ]]>" in text  # the very characters, not markup
        assert f"Stopped {AWKWARD}" in text


def test_the_feed_parses_even_with_a_control_character_written_before_the_rule(client, tracker_of):
    """Text fields refuse control characters now; a record written before may hold some (here,
    the domain's event method called straight, as an older version would have): the feed shows
    a replacement character instead."""
    tracker = tracker_of
    world = make_world(tracker, slug="older")
    cid = propose(tracker, world, title="Street lights").id
    commitment = tracker.repository.get(UUID(cid))
    assert isinstance(commitment, Commitment)
    commitment._amended(title="Street\x0blights\x0c", description="\x1b[31m",
                        reason="old\x07", meta=Meta(actor=None, occurred_on=date.today()))
    tracker.save(commitment)
    response = client.get(f"/public/dialogues/{world.slug}/feed.atom")
    feed = ET.fromstring(response.content)
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert any("Street\ufffdlights\ufffd" in t for t in titles), titles
