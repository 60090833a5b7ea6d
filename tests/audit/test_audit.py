"""The auditor's workbench: full histories, past states, diffs, activity, ledger check, exports."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.factories import advance, propose
from tracker.application import SYSTEM

BASE = date.today() - timedelta(days=200)


def day(n: int) -> date:
    return BASE + timedelta(days=n)


@pytest.fixture
def story(tracker_of, world):
    """A commitment agreed on day 10 and taken to completion with a milestone and evidence,
    then made private; linked to a case. Returns ids and a recorded time in the middle."""
    police, vigilante = world.members["police"], world.members["vigilante"]
    case = tracker_of.raise_case(police, world.slug, title="Market break-ins",
                                 category="theft_burglary", occurred_on=day(0))
    # proposed by the women's association, not asked to endorse: both endorsements follow
    cid = propose(tracker_of, world, by="women", occurred_on=day(0),
                  private_note="informant: the baker", case_id=case.id).id
    tracker_of.commitment_action(police, cid, "endorse", occurred_on=day(5))
    tracker_of.commitment_action(vigilante, cid, "endorse", occurred_on=day(6))
    tracker_of.commitment_action(police, cid, "agree", occurred_on=day(10))
    middle = datetime.now(UTC)
    tracker_of.commitment_action(police, cid, "assign", {"party_id": world.parties["police"],
                                                        "due_date": day(60)}, occurred_on=day(20))
    milestone = tracker_of.commitment_action(police, cid, "add-milestone", {"title": "Recruit"},
                                             occurred_on=day(21)).extra["milestone_id"]
    tracker_of.commitment_action(police, cid, "complete-milestone", {"milestone_id": milestone},
                                 occurred_on=day(30))
    tracker_of.commitment_action(police, cid, "attach-evidence",
                                 {"description": "Patrol log", "url": "https://example.org/log"},
                                 occurred_on=day(31))
    tracker_of.commitment_action(police, cid, "complete", {"summary": "Done"}, occurred_on=day(40))
    tracker_of.set_commitment_visibility(SYSTEM, cid, public=False, reason="names a witness")
    return {"commitment": cid, "case": case.id, "middle": middle}


def test_only_auditors_and_admins_open_the_workbench(client, as_):
    assert client.get("/audit/", follow_redirects=False).status_code in (303, 307)
    assert client.get("/audit/", headers=as_("police")).status_code == 403
    assert client.get("/audit/", headers=as_("auditor")).status_code == 200
    assert client.get("/audit/", headers=as_("admin")).status_code == 200


def test_the_full_history_shows_every_event_raw_and_readable(client, as_, story):
    html = client.get(f"/audit/records/{story['commitment']}", headers=as_("auditor")).text
    for topic in ("commitment.proposed", "commitment.endorsed", "commitment.agreed",
                  "commitment.assigned", "commitment.milestone_added",
                  "commitment.milestone_completed", "commitment.evidence_attached",
                  "commitment.completed", "commitment.visibility_changed"):
        assert topic in html
    assert html.count('<li id="v') == 10
    assert "informant: the baker" in html  # auditors see private fields
    assert "Police nationale" in html and "saaba-police" in html  # party and person


def test_the_state_as_of_a_business_date_a_version_and_a_recorded_time(client, as_, story):
    url = f"/audit/records/{story['commitment']}/state"
    auditor = as_("auditor")

    def status_at(**query):
        response = client.get(url, params=query, headers={**auditor, "Accept-Language": "en"})
        assert response.status_code == 200, response.text
        return response.text

    # The status by its name in the reader's language, beside the field's label.
    status = '<th scope="row">Status</th><td>{}</td>'.format
    assert status("proposed") in status_at(as_of_date=day(7).isoformat())
    assert status("agreed") in status_at(as_of_date=day(15).isoformat())
    assert status("in progress") in status_at(as_of_date=day(35).isoformat())
    assert status("proposed") in status_at(version="2")
    assert status("agreed") in status_at(as_of=story["middle"].isoformat())
    page = status_at(as_of_date=day(35).isoformat())
    assert f"<h1>State as of: business date {day(35).strftime('%B')}" in page
    assert "Police nationale" in page and story["commitment"] in page  # the name; the id on demand
    french = client.get(url, params={"version": "2"}, headers=auditor).text
    assert '<th scope="row">Statut</th><td>proposé</td>' in french
    assert client.get(url, params={"version": "many"}, headers=auditor).status_code == 422
    assert client.get(url, params={"version": "1", "as_of_date": "2026-01-01"},
                      headers=auditor).status_code == 422


def test_the_diff_between_two_points_names_every_changed_field(client, as_, story):
    url = f"/audit/records/{story['commitment']}/diff"
    auditor = {**as_("auditor"), "Accept-Language": "en"}
    row = '<th scope="row">{}</th>'.format
    html = client.get(url, params={"a_version": "1"}, headers=auditor).text
    for field in ("Status", "Endorsed by", "Responsible party", "Due date", "Progress",
                  "Milestones « Recruit »", "Evidence « Patrol log »", "Public",
                  "Completion summary"):
        assert row(field) in html, field
    assert "business_date" not in html and "completion_summary" not in html
    # From business date day 15 (agreed) to day 35 (in progress, milestone done): no completion yet.
    html = client.get(url, params={"a_date": day(15).isoformat(), "b_date": day(35).isoformat()},
                      headers=auditor).text
    assert row("Status") in html and row("Completion summary") not in html
    assert "<del>agreed</del>" in html and "<ins>in progress</ins>" in html
    assert row("Milestones « Recruit »") in html  # added in between
    # Inside a record present at both points, the changed field is named.
    html = client.get(url, params={"a_version": "6", "b_version": "7"}, headers=auditor).text
    assert row("Milestones « Recruit » › Completed on") in html
    assert row("Status") not in html
    # The case's links to commitments are part of its state, by their titles.
    html = client.get(f"/audit/records/{story['case']}/diff", params={"a_version": "1"},
                      headers=auditor).text
    assert row("Linked commitments") in html


def test_the_activity_log_by_account_and_party_includes_access_grants_and_revocations(
        client, tracker_of, as_, world, story):
    tracker_of.revoke_membership(SYSTEM, "saaba-women", slug=world.slug)
    html = client.get("/audit/activity", params={"account": "saaba-women"},
                      headers={**as_("auditor"), "Accept-Language": "en"}).text
    assert "Access granted" in html and "Access revoked" in html
    assert "Case raised" not in html  # saaba-women raised nothing in this story
    police_only = client.get("/audit/activity", params={"party": world.parties["police"]},
                             headers=as_("auditor")).text
    assert "Koglweogo</span>" not in police_only and "Police nationale" in police_only
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    empty = client.get("/audit/activity", params={"since": tomorrow}, headers=as_("auditor")).text
    assert "<td colspan=\"4\">" in empty
    assert client.get("/audit/activity", params={"account": "nobody-here"},
                      headers=as_("auditor")).status_code == 404


def test_ledger_verification_from_the_browser_names_the_first_bad_position(
        client, tracker_of, as_, story, settings):
    ok = client.get("/audit/ledger", params={"run": "1"}, headers=as_("auditor")).text
    assert "Intact." in ok or "Intact" in ok
    if not settings.database_url.startswith("sqlite"):
        return
    # Someone edits one stored event behind the tracker's back.
    head = client.get("/api/v1/ledger/head").json()
    path = settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), 'Done', 'Fake') "
                   "AS BLOB) WHERE topic = 'commitment.completed'")
        position = db.execute("SELECT rowid FROM stored_events WHERE topic = 'commitment.completed'"
                              ).fetchone()[0]
    bad = client.get("/audit/ledger", params={"run": "1"}, headers=as_("auditor")).text
    assert f'<strong id="first-bad">{position}</strong>' in bad
    assert head["position"] >= position


def test_the_event_log_exports_as_json_lines_and_any_history_as_csv(client, as_, story):
    response = client.get("/audit/export.jsonl", headers=as_("auditor"))
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    head = client.get("/api/v1/ledger/head").json()
    assert lines[-1]["position"] == head["position"]
    assert {"position", "originator_id", "originator_version", "topic", "state"} <= set(lines[0])

    text = client.get(f"/audit/records/{story['commitment']}/history.csv", headers=as_("auditor")).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["version"] for r in rows] == [str(v) for v in range(1, 11)]
    assert rows[0]["type"] == "Proposed" and rows[0]["actor_name"] == "saaba-women"


def test_an_unknown_record_is_a_404_page(client, as_):
    assert client.get("/audit/records/not-an-id", headers=as_("auditor")).status_code == 404
    assert client.get("/audit/records/00000000-0000-0000-0000-000000000000/diff",
                      headers=as_("auditor")).status_code == 404


def test_a_verified_commitment_diff_shows_who_verified(client, tracker_of, world, as_):
    cid = propose(tracker_of, world).id
    advance(tracker_of, world, cid, "verified")
    html = client.get(f"/audit/records/{cid}/diff", params={"a_version": "6"},
                      headers=as_("auditor")).text
    assert '<th scope="row">Vérifié par</th>' in html


def test_the_log_is_verified_against_a_pasted_signed_checkpoint(client, tracker_of, as_, world, story,
                                                                 settings):
    from projections.ledger import load_signing_key, sign_checkpoint

    read_models = client.app.state.read_models
    read_models.catch_up()
    checkpoint = sign_checkpoint(load_signing_key(settings.signing_key_file), read_models.ledger_head())
    read_models.ledger.record_checkpoint(checkpoint)
    propose(tracker_of, world, title="After the checkpoint")
    auditor = {**as_("auditor"), "Accept-Language": "en"}
    page = client.get("/audit/ledger", headers=auditor).text
    assert checkpoint["head_hash"] in page  # the checkpoint history
    ok = client.post("/audit/ledger", data={"checkpoint": json.dumps(checkpoint)}, headers=auditor)
    assert ok.status_code == 200 and "Intact." in ok.text
    forged = dict(checkpoint, head_hash="0" * 64)
    refused = client.post("/audit/ledger", data={"checkpoint": json.dumps(forged)}, headers=auditor)
    assert "Tampered." in refused.text and "signature" in refused.text
    assert client.post("/audit/ledger", data={"checkpoint": "{not json"},
                       headers=auditor).status_code == 422



def test_raw_events_of_an_account_never_show_its_password_hash(client, tracker_of, as_, world):
    account = str(tracker_of.account_by_name("saaba-police").id)
    html = client.get(f"/audit/records/{account}", headers=as_("auditor")).text
    assert "account.opened" in html and "$argon2" not in html and "(hidden)" in html


def test_the_activity_form_works_with_any_subset_of_its_fields_and_periods_go_by_business_date(
        client, as_, story):
    auditor = {**as_("auditor"), "Accept-Language": "en"}
    # The form as the browser sends it: every field, most of them empty.
    only_account = client.get("/audit/activity?account=saaba-police&party=&since=&until=&by=business",
                              headers=auditor)
    assert only_account.status_code == 200 and "Market break-ins" in only_account.text
    period = {"since": day(0).isoformat(), "until": day(40).isoformat()}
    by_business = client.get("/audit/activity", params=period, headers=auditor).text
    assert "Market break-ins" in by_business  # raised on business day 1 or so
    assert 'value="business" selected' in by_business  # the default, and it says so
    by_recorded = client.get("/audit/activity", params={**period, "by": "recorded"},
                             headers=auditor).text
    assert "Nothing in this period." in by_recorded  # all of it was typed in today
    # Names, not ids: the record's kind and title, the id on demand.
    assert "Commitment « " in by_business and "<summary>Identifier</summary>" in by_business
    assert client.get("/audit/activity", params={"since": "someday"},
                      headers=auditor).status_code == 422
