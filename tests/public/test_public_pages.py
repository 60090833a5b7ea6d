"""The public pages: what they show, their feed and downloads, caching, size and languages."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from tests.factories import advance, propose
from tracker.application import SYSTEM

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def done_and_late(tracker_of, world):
    """One verified commitment, one overdue, one private."""
    done = propose(tracker_of, world, title="Joint night patrols").id
    advance(tracker_of, world, done, "verified")
    late = propose(tracker_of, world, title="=HYPERLINK(\"http://evil\")").id
    advance(tracker_of, world, late, "agreed")
    tracker_of.commitment_action(world.members["police"], late, "assign",
                                 {"party_id": world.parties["vigilante"],
                                  "due_date": date.today() - timedelta(days=3)})
    propose(tracker_of, world, title="Private matter", public=False)
    return done, late


def test_the_dialogue_page_shows_status_progress_party_due_date_and_overdue(client, world, done_and_late):
    page = client.get(f"/public/dialogues/{world.slug}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.text
    assert "Joint night patrols" in html and "Private matter" not in html
    assert "Koglweogo" in html  # the responsible party of the late one
    assert 'class="overdue"' in html
    # Both charts are server-side SVG; no chart script.
    assert html.count("<svg class=\"chart") == 2 and "<rect" in html
    assert "<script" not in html.split("</head>")[1]
    # Scorecards: the police completed one on time.
    assert "Party scorecards" in html


def test_every_public_page_shows_the_ledger_position_and_head_hash(client, world, done_and_late, tracker_of):
    head = client.get("/api/v1/ledger/head").json()
    for url in ("/public/", f"/public/dialogues/{world.slug}",
                f"/public/commitments/{done_and_late[0]}", "/public/ledger"):
        html = client.get(url).text
        assert head["head_hash"] in html, url
        assert f"<strong>{head['position']}</strong>" in html, url
    assert "tracker verify --checkpoint" in client.get("/public/ledger").text


def test_the_commitment_page_shows_its_public_timeline(client, done_and_late):
    html = client.get(f"/public/commitments/{done_and_late[0]}",
                      headers={"Accept-Language": "en"}).text
    for step in ("Police nationale</strong> proposed the commitment", "Koglweogo</strong> endorsed",
                 "agreed it", "assigned it", "Police nationale</strong> completed it",
                 "Koglweogo</strong> verified the completion"):
        assert step in html, step
    assert client.get("/public/commitments/not-an-id").status_code == 404


def test_an_unknown_public_dialogue_is_a_404_page(client):
    response = client.get("/public/dialogues/nowhere")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


def test_a_repeated_request_gets_a_304_until_the_record_changes(client, tracker_of, world, done_and_late):
    url = f"/public/dialogues/{world.slug}"
    first = client.get(url)
    etag = first.headers["etag"]
    assert first.headers["last-modified"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    propose(tracker_of, world, title="Street lights")
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "Street lights" in changed.text  # nothing stale is served
    # Downloads also answer If-Modified-Since.
    csv_url = f"/public/dialogues/{world.slug}/commitments.csv"
    modified = client.get(csv_url).headers["last-modified"]
    assert client.get(csv_url, headers={"If-Modified-Since": modified}).status_code == 304


def test_the_atom_feed_lists_public_changes_only(client, world, done_and_late):
    response = client.get(f"/public/dialogues/{world.slug}/feed.atom", headers={"Accept-Language": "en"})
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert "Koglweogo verified the completion: Joint night patrols" in titles
    assert not any("Private matter" in t for t in titles)
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids)
    assert feed.findtext(f"{ATOM}updated")
    french = ET.fromstring(client.get(f"/public/dialogues/{world.slug}/feed.atom",
                                      headers={"Accept-Language": "fr"}).content)
    assert "Koglweogo a vérifié l’achèvement: Joint night patrols" in [
        e.findtext(f"{ATOM}title") for e in french.findall(f"{ATOM}entry")]


def test_the_csv_and_json_downloads_hold_the_public_commitments(client, world, done_and_late):
    done, late = done_and_late
    text = client.get(f"/public/dialogues/{world.slug}/commitments.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["id"] for r in rows} == {done, late}
    by_id = {r["id"]: r for r in rows}
    assert by_id[done]["status"] == "verified" and by_id[done]["responsible_party_name"] == "Police nationale"
    assert by_id[late]["overdue"] == "True"
    assert by_id[late]["title"].startswith("'=")  # a spreadsheet will not run it as a formula

    data = client.get(f"/public/dialogues/{world.slug}/commitments.json").json()
    assert {c["id"] for c in data["commitments"]} == {done, late}
    assert data["ledger"]["position"] > 0
    late_row = next(c for c in data["commitments"] if c["id"] == late)
    assert late_row["overdue"] is True and late_row["responsible_party_name"] == "Koglweogo"


def test_a_page_of_a_big_dialogue_stays_under_50_kb_on_the_wire(client, tracker_of, world):
    police = world.members["police"]
    for n in range(140):
        tracker_of.propose_commitment(police, world.slug, title=f"Commitment number {n} about lighting",
                                      required_parties=[world.parties["police"]],
                                      description="Install and maintain street lights " * 3)
    response = client.get(f"/public/dialogues/{world.slug}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.num_bytes_downloaded < 50_000
    assert "Page 1 / 3" in response.text
    second = client.get(f"/public/dialogues/{world.slug}?page=2").text
    assert "Commitment number" in second


def test_pages_speak_french_and_english(client, world, done_and_late):
    url = f"/public/dialogues/{world.slug}"
    english = client.get(url, headers={"Accept-Language": "en"}).text
    french = client.get(url, headers={"Accept-Language": "fr"}).text
    assert "Party scorecards" in english and "Commitments by status" in english
    assert "Bilan par partie prenante" in french and "Engagements par statut" in french
    assert '<html lang="fr" dir="ltr">' in french


def test_a_concluded_dialogue_is_still_public(client, tracker_of, world, done_and_late):
    tracker_of.conclude_dialogue(SYSTEM, world.slug, reason="The year is over")
    assert client.get(f"/public/dialogues/{world.slug}").status_code == 200


def test_the_latest_signed_checkpoint_is_on_every_public_page_and_downloadable(
        client, world, done_and_late, settings):
    from projections.ledger import load_signing_key, sign_checkpoint

    assert client.get("/public/checkpoint.json").status_code == 404  # none signed yet
    read_models = client.app.state.read_models
    read_models.catch_up()
    checkpoint = sign_checkpoint(load_signing_key(settings.signing_key_file), read_models.ledger_head())
    read_models.ledger.record_checkpoint(checkpoint)
    for url in ("/public/", f"/public/dialogues/{world.slug}", "/public/ledger"):
        html = client.get(url).text
        assert checkpoint["signature"] in html and checkpoint["head_hash"] in html, url
    assert client.get("/public/checkpoint.json").json() == checkpoint
    assert client.get("/api/v1/ledger/head").json()["checkpoint"]["signature"] == checkpoint["signature"]


def test_a_long_public_timeline_is_paged_and_each_page_stays_under_50_kb(client, tracker_of, world):
    cid = propose(tracker_of, world).id
    advance(tracker_of, world, cid, "in_progress")
    for n in range(150):
        tracker_of.commitment_action(world.members["police"], cid, "progress", {"percent": n % 101},
                                     note="weekly report")
    first = client.get(f"/public/commitments/{cid}", headers={"Accept-Language": "en"})
    assert first.num_bytes_downloaded < 50_000
    assert "Page 1 / 3" in first.text and first.text.count('<li data-position=') == 60
    last = client.get(f"/public/commitments/{cid}?page=3", headers={"Accept-Language": "en"}).text
    assert "reported progress" in last and "Page 3 / 3" in last


def test_the_completions_chart_shows_a_dialogue_whose_work_ended_years_ago(client, tracker_of):
    """The demo's dialogues completed their commitments in 2007-2018: the chart ends with the
    latest completion rather than showing twelve empty months before today."""
    from tracker.demo import load_demo

    load_demo(tracker_of)
    for slug in ("saaba", "jos"):
        html = client.get(f"/public/dialogues/{slug}", headers={"Accept-Language": "en"}).text
        chart = html.split('id="months-chart-title"')[1].split("</figure>")[0]
        on_time, late = (int(n) for n in re.findall(r"</svg>(?:on time|late): (\d+)</li>", chart))
        assert on_time + late > 0, slug
