"""Public answers are made of public facts alone, on every surface.

A progress report given as not public is as if it never happened for the public: between public
reports of 40 and 80, a hidden 77 leaves the public with "40 -> 80". A commitment made private
leaves every public surface at once. Evidence is public only when given so, and then shows its
description and link.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest

from tests.factories import advance, propose
from tracker.application import SYSTEM

ATOM = "{http://www.w3.org/2005/Atom}"
EN = {"Accept-Language": "en"}


@pytest.fixture
def reported(client, tracker_of, world):
    """A public commitment in progress with reports 40 (public), 77 (not public), 80 (public)."""
    cid = propose(tracker_of, world, title="Street lights on the market road").id
    advance(tracker_of, world, cid, "in_progress")
    police = world.members["police"]
    for percent, public in ((40, True), (77, False), (80, True)):
        tracker_of.commitment_action(police, cid, "progress", {"percent": percent, "public": public})
    return cid


def progress_changes(html: str) -> list[str]:
    """The progress a public page's timeline shows at each change, newest first (the donor's
    page says what it is now: "Progress: 80%")."""
    return re.findall(r"<li>Progress:\s*([^<]+?)\s*</li>", html)


def test_the_commitment_page_shows_the_change_from_the_last_public_value(client, reported):
    html = client.get(f"/public/commitments/{reported}", headers=EN).text
    assert progress_changes(html) == ["80%", "40%"]
    assert "77" not in html.split("<h2>Timeline</h2>")[1].split('id="proof"')[0]
    assert 'value="80"' in html


def test_the_public_api_and_downloads_show_the_last_public_progress(client, tracker_of, world,
                                                                    reported):
    police = world.members["police"]
    tracker_of.commitment_action(police, reported, "progress", {"percent": 91, "public": False})
    api = client.get(f"/api/v1/public/dialogues/{world.slug}").json()
    assert [c["progress"] for c in api["commitments"]] == [80]
    data = client.get(f"/public/dialogues/{world.slug}/commitments.json").json()
    assert [c["progress"] for c in data["commitments"]] == [80]
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/public/dialogues/{world.slug}/commitments.csv").text)))
    assert [r["progress"] for r in rows] == ["80"]
    page = client.get(f"/public/dialogues/{world.slug}", headers=EN).text
    assert 'value="80"' in page and 'value="91"' not in page
    # The members see the real progress.
    assert tracker_of.commitment(reported).progress == 91


def test_the_feed_shows_public_progress_only(client, world, reported):
    feed = ET.fromstring(client.get(f"/public/dialogues/{world.slug}/feed.atom",
                                    headers=EN).content)
    summaries = [e.findtext(f"{ATOM}summary") for e in feed.findall(f"{ATOM}entry")]
    progress = [s for s in summaries if "progress →" in s]
    assert [s.rsplit("→ ", 1)[1] for s in progress] == ["80", "40"]
    assert not any("77" in s for s in summaries)


def test_a_completion_after_a_hidden_report_counts_from_the_last_public_value(
        client, tracker_of, world, reported):
    tracker_of.commitment_action(world.members["police"], reported, "progress",
                                 {"percent": 95, "public": False})
    tracker_of.commitment_action(world.members["police"], reported, "complete",
                                 {"summary": "Lights on"})
    html = client.get(f"/public/commitments/{reported}", headers=EN).text
    assert progress_changes(html) == ["100%", "80%", "40%"]


def test_hidden_facts_leave_every_public_validator_as_it_was(client, tracker_of, world, reported):
    urls = ["/public/", f"/public/dialogues/{world.slug}", f"/public/commitments/{reported}",
            f"/public/dialogues/{world.slug}/feed.atom",
            f"/public/dialogues/{world.slug}/commitments.csv",
            f"/public/dialogues/{world.slug}/commitments.json"]

    def validators():
        answers = {url: client.get(url) for url in urls}
        return {url: (a.headers["etag"], a.headers["last-modified"]) for url, a in answers.items()}

    before = validators()
    police = world.members["police"]
    tracker_of.commitment_action(police, reported, "progress", {"percent": 85, "public": False})
    tracker_of.commitment_action(police, reported, "attach-evidence", {"description": "Faces"})
    tracker_of.commitment_action(police, reported, "comment", {"note": "Between us", "public": False})
    hidden = propose(tracker_of, world, title="Informant protection", public=False).id
    advance(tracker_of, world, hidden, "verified")
    assert validators() == before
    for url, (etag, _) in before.items():
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304, url
    # A public fact moves them.
    tracker_of.commitment_action(police, reported, "progress", {"percent": 86})
    after = validators()
    assert all(after[url][0] != before[url][0] for url in urls)


def test_a_commitment_made_private_leaves_every_public_surface_at_once(client, tracker_of, world,
                                                                        reported, as_):
    slug = world.slug
    kept = propose(tracker_of, world, title="Kept public").id
    dialogue_page = client.get(f"/public/dialogues/{slug}")
    assert "Street lights on the market road" in dialogue_page.text

    done = client.post(f"/api/v1/commitments/{reported}/set-visibility", headers=as_("police"),
                       json={"public": False, "reason": "Names a witness"})
    assert done.status_code == 200, done.text

    assert client.get(f"/public/commitments/{reported}").status_code == 404
    assert client.get(f"/api/v1/public/commitments/{reported}/proof").status_code == 404
    answers = {url: client.get(url).text for url in (
        "/public/", f"/public/dialogues/{slug}", f"/public/dialogues/{slug}/feed.atom",
        f"/public/dialogues/{slug}/commitments.csv", f"/public/dialogues/{slug}/commitments.json",
        "/api/v1/public/dialogues", f"/api/v1/public/dialogues/{slug}")}
    for url, body in answers.items():
        assert reported not in body and "Street lights" not in body, url
        assert "Names a witness" not in body, url
    api = client.get(f"/api/v1/public/dialogues/{slug}").json()
    assert [c["id"] for c in api["commitments"]] == [kept]
    assert api["counts"]["in_progress"] == 0 and api["counts"]["proposed"] == 1
    assert sum(card["assigned"] for card in api["scorecards"]) == 0
    assert client.get(f"/public/dialogues/{slug}", headers={
        "If-None-Match": dialogue_page.headers["etag"]}).status_code == 200

    # Made public again: its public history starts at the event that makes it public, and its
    # progress is the last public one, never the hidden 77.
    again = client.post(f"/api/v1/commitments/{reported}/set-visibility", headers=as_("police"),
                        json={"public": True, "reason": "Reviewed by the committee"})
    assert again.status_code == 200, again.text
    html = client.get(f"/public/commitments/{reported}", headers=EN).text
    assert "Reviewed by the committee" in html and "Names a witness" not in html
    assert 'value="80"' in html and progress_changes(html) == []
    tracker_of.commitment_action(world.members["police"], reported, "progress", {"percent": 90})
    html = client.get(f"/public/commitments/{reported}", headers=EN).text
    assert progress_changes(html) == ["90%"]


def test_only_a_required_party_or_an_admin_may_change_visibility(client, tracker_of, world,
                                                                  reported, as_):
    body = {"public": False, "reason": "Names a witness"}
    refused = client.post(f"/api/v1/commitments/{reported}/set-visibility", headers=as_("women"),
                          json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    no_reason = client.post(f"/api/v1/commitments/{reported}/set-visibility",
                            headers=as_("admin"), json={"public": False})
    assert no_reason.status_code == 422 and no_reason.json()["error"]["field"] == "reason"
    assert client.post(f"/api/v1/commitments/{reported}/set-visibility", headers=as_("admin"),
                       json=body).status_code == 200


def test_public_evidence_shows_its_description_and_link_hidden_evidence_nothing(
        client, tracker_of, world, reported):
    police = world.members["police"]
    tracker_of.commitment_action(police, reported, "attach-evidence", {
        "description": "Photo of the lit road", "url": "https://example.org/road.jpg",
        "public": True})
    tracker_of.commitment_action(police, reported, "attach-evidence", {
        "description": "Photo of the patrollers' faces", "url": "https://example.org/faces.jpg"})
    html = client.get(f"/public/commitments/{reported}", headers=EN).text
    assert "Photo of the lit road" in html and 'href="https://example.org/road.jpg"' in html
    assert "faces" not in html
    api = client.get(f"/api/v1/public/dialogues/{world.slug}").json()
    assert [e["description"] for e in api["commitments"][0]["evidence"]] == ["Photo of the lit road"]
    data = client.get(f"/public/dialogues/{world.slug}/commitments.json").text
    assert "road.jpg" in data and "faces" not in data


def test_a_private_commitment_counts_nowhere(client, tracker_of, world):
    hidden = propose(tracker_of, world, title="Informant protection", public=False).id
    advance(tracker_of, world, hidden, "completed")
    api = client.get(f"/api/v1/public/dialogues/{world.slug}").json()
    assert sum(api["counts"].values()) == 0 and api["commitments"] == []
    assert all(card["assigned"] == card["completed"] == 0 for card in api["scorecards"])
    html = client.get(f"/public/dialogues/{world.slug}", headers=EN).text
    assert "Informant protection" not in html
    assert "on time (1)" not in html and "late (1)" not in html  # (statuses at zero are not drawn)
    tracker_of.set_commitment_visibility(SYSTEM, hidden, public=True, reason="Safe to show now")
    api = client.get(f"/api/v1/public/dialogues/{world.slug}").json()
    assert api["counts"]["completed"] == 1
