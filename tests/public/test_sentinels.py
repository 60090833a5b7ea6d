"""Nothing private ever reaches a public page, feed, download or public API answer.

Every private field gets a sentinel string; then a crawler follows every link of the public pages
(and fetches the feeds, downloads and public API answers) and looks for any sentinel.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date, timedelta

from tests.factories import advance, propose
from tracker.application import SYSTEM

PERSON = "Sentinel.Person-Amina"  # a person's name: an account name
TOKEN_LABEL = "SENTINEL-TOKEN-LABEL"


def plant_sentinels(tracker, world):
    """A dialogue where every private field holds a recognisable string; returns the strings."""
    secrets = {PERSON, TOKEN_LABEL}
    tracker.add_account(SYSTEM, name=PERSON, role="member", password="SENTINEL-PASSWORD-1")
    tracker.grant_membership(SYSTEM, PERSON, slug=world.slug, party=world.parties["police"],
                             note="SENTINEL-GRANT-NOTE")
    secrets.update({"SENTINEL-PASSWORD-1", "SENTINEL-GRANT-NOTE"})
    person = tracker.authenticate(PERSON, "SENTINEL-PASSWORD-1")
    token = tracker.create_token(SYSTEM, PERSON, label=TOKEN_LABEL)
    secrets.add(token)

    # A public commitment, carried by that person, with a private note and private event notes.
    public = propose(tracker, world, by="police", title="Joint patrols on market days",
                     private_note="SENTINEL-PRIVATE-NOTE", note="SENTINEL-EVENT-NOTE-1").id
    secrets.update({"SENTINEL-PRIVATE-NOTE", "SENTINEL-EVENT-NOTE-1"})
    advance(tracker, world, public, "in_progress")
    tracker.commitment_action(person, public, "progress", {"percent": 37, "public": False},
                              note="SENTINEL-PROGRESS-NOTE")
    tracker.commitment_action(person, public, "add-milestone",
                              {"title": "Recruit patrollers", "due_date": date.today() + timedelta(days=9)},
                              note="SENTINEL-EVENT-NOTE-2")
    secrets.update({"SENTINEL-PROGRESS-NOTE", "SENTINEL-EVENT-NOTE-2"})

    # A private commitment, and one made private after being public.
    propose(tracker, world, title="SENTINEL-PRIVATE-TITLE", description="SENTINEL-PRIVATE-DESC",
            public=False)
    hidden_later = propose(tracker, world, title="SENTINEL-HIDDEN-LATER").id
    tracker.set_commitment_visibility(SYSTEM, hidden_later, public=False,
                                      reason="SENTINEL-VISIBILITY-REASON")
    secrets.update({"SENTINEL-PRIVATE-TITLE", "SENTINEL-PRIVATE-DESC", "SENTINEL-HIDDEN-LATER",
                    "SENTINEL-VISIBILITY-REASON"})

    # Cases are not public at all; nor are meeting summaries.
    tracker.raise_case(world.members["women"], world.slug, title="SENTINEL-CASE-TITLE",
                       category="violence", description="SENTINEL-CASE-DESC")
    tracker.record_meeting(SYSTEM, world.slug, held_on=date.today(), title="Quarterly meeting",
                           attendance={world.parties["police"]: 3}, summary="SENTINEL-MEETING-SUMMARY")
    secrets.update({"SENTINEL-CASE-TITLE", "SENTINEL-CASE-DESC", "SENTINEL-MEETING-SUMMARY"})

    # Account names of everyone, and every account id (actor ids) are private too.
    for name in [PERSON, *(f"{world.slug}-{kind}" for kind in world.members), "the-admin",
                 "the-auditor"]:
        secrets.add(str(tracker.account_by_name(name).id))
    secrets.update(f"{world.slug}-{kind}" for kind in world.members)
    secrets.update({"the-admin", "the-auditor"})
    return public, secrets


LINK = re.compile(r'href="(/[^"#]*)"')


def crawl(client, start_urls):
    """Every page reachable from the start pages by links under /public, fetched once."""
    seen, queue, answers = set(), list(start_urls), {}
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        answers[url] = response.text
        for link in LINK.findall(response.text):
            link = link.replace("&amp;", "&")
            if link.startswith("/public") and link not in seen:
                queue.append(link)
    return answers


def test_no_private_field_appears_on_any_public_page_feed_download_or_public_api(
        client, tracker_of, world_people):
    world, people = world_people
    public_id, secrets = plant_sentinels(tracker_of, world)
    # A second member acts, so that actors and their names are all over the timeline.
    tracker_of.commitment_action(world.members["police"], public_id, "progress", {"percent": 60})

    starts = ["/public/", f"/public/dialogues/{world.slug}",
              "/api/v1/public/dialogues", f"/api/v1/public/dialogues/{world.slug}",
              "/api/v1/ledger/head", f"/api/v1/public/commitments/{public_id}/proof",
              "/api/v1/public/ledger/tree-head"]
    answers = crawl(client, starts)
    # A proof's leaves are bytes (base64): they hold the stored event's digest, never its bytes.
    proof = json.loads(answers[f"/api/v1/public/commitments/{public_id}/proof"])
    answers["the proof's leaves"] = "".join(
        base64.b64decode(e["leaf"]).decode("latin-1") for e in proof["entries"])
    # The crawl reached every kind of public answer.
    for expected in ("/public/ledger", f"/public/commitments/{public_id}",
                     f"/public/dialogues/{world.slug}/feed.atom",
                     f"/public/dialogues/{world.slug}/commitments.csv",
                     f"/public/dialogues/{world.slug}/commitments.json"):
        assert expected in answers, expected
    # The public commitment is there, with its public progress only.
    assert "Joint patrols on market days" in answers[f"/public/dialogues/{world.slug}"]
    for url, body in answers.items():
        leaked = sorted(s for s in secrets if s.lower() in body.lower())
        assert not leaked, f"{url} shows {leaked}"
    # The sentinels are really in the record: the auditor's history shows them.
    private = client.get(f"/api/v1/commitments/{public_id}/history", headers=people("auditor")).text
    assert PERSON in private and "SENTINEL-PROGRESS-NOTE" in private
    assert '"progress":37' not in answers[f"/public/dialogues/{world.slug}/commitments.json"]
