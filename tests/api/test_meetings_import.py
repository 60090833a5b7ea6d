"""Meetings and a table of their decisions through the JSON API, against the real app and store."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tracker.sheets import COLUMNS, XLSX_TYPE

HEADER = ",".join(COLUMNS)
CSV = {"Content-Type": "text/csv"}


def table(*lines: str) -> bytes:
    return ("\n".join((HEADER, *lines)) + "\n").encode()


def record_meeting(client, world, as_, who="police"):
    response = client.post(f"/api/v1/dialogues/{world.slug}/meetings", headers=as_(who), json={
        "held_on": "2017-03-12", "title": "Third session", "place": "Mairie de Saaba",
        "attendance": {world.parties["police"]: 3, world.parties["women"]: 4},
        "summary": "Night patrols agreed", "public": True})
    assert response.status_code == 201, response.text
    return response.json()["meeting_id"]


def upload(client, world, as_, data, who="police", **params):
    return client.post(f"/api/v1/dialogues/{world.slug}/import", content=data, params=params,
                       headers={**as_(who), **CSV})


def test_a_meeting_is_recorded_and_read_back_with_its_decisions(client, world, as_):
    meeting_id = record_meeting(client, world, as_)
    data = table("S-1,Night patrols,,Police nationale,Police nationale,2017-06-30,10,true",
                 "S-2,Street lights,,Police nationale,,,,")
    assert upload(client, world, as_, data, meeting=meeting_id).json()["created"] == 2
    got = client.get(f"/api/v1/dialogues/{world.slug}/meetings/{meeting_id}", headers=as_("women"))
    assert got.status_code == 200, got.text
    meeting = got.json()
    assert (meeting["held_on"], meeting["place"], meeting["public"]) == (
        "2017-03-12", "Mairie de Saaba", True)
    # S-1: proposed, endorsed, agreed, assigned, progress; S-2: proposed, endorsed
    assert [(d["ref"], d["type"]) for d in meeting["decisions"]] == [
        ("S-1", "Proposed"), ("S-1", "Endorsed"), ("S-1", "Agreed"), ("S-1", "Assigned"),
        ("S-1", "ProgressReported"), ("S-2", "Proposed"), ("S-2", "Endorsed")]
    assert {d["occurred_on"] for d in meeting["decisions"]} == {"2017-03-12"}
    # each commitment's history names the meeting
    cid = meeting["decisions"][0]["aggregate_id"]
    history = client.get(f"/api/v1/commitments/{cid}/history", headers=as_("women")).json()
    assert {e["meeting"]["held_on"] for e in history["events"]} == {"2017-03-12"}
    # the public API shows the place and, recorded as public, the summary
    public = client.get(f"/api/v1/public/dialogues/{world.slug}").json()
    assert public["meetings"][0]["summary"] == "Night patrols agreed"
    assert "Night patrols agreed" in client.get(f"/public/dialogues/{world.slug}").text


def test_a_summary_not_recorded_as_public_stays_off_the_public_pages(client, world, as_):
    response = client.post(f"/api/v1/dialogues/{world.slug}/meetings", headers=as_("police"),
                           json={"held_on": "2017-03-12", "summary": "Names of informants"})
    assert response.status_code == 201, response.text
    public = client.get(f"/api/v1/public/dialogues/{world.slug}").json()
    assert public["meetings"][0].get("summary") is None
    assert "Names of informants" not in client.get(f"/public/dialogues/{world.slug}").text


def test_import_answers_its_counts_and_a_dry_run_writes_nothing(client, world, as_):
    data = table("D-1,Night patrols,,Police nationale,,,,")
    tracker = client.app.state.tracker
    before = tracker.recorder.max_notification_id()
    dry = upload(client, world, as_, data, dry_run="true")
    assert dry.status_code == 200, dry.text
    assert {k: dry.json()[k] for k in ("created", "updated", "unchanged")} == {
        "created": 1, "updated": 0, "unchanged": 0}
    assert tracker.recorder.max_notification_id() == before
    assert upload(client, world, as_, data).json()["created"] == 1
    again = upload(client, world, as_, data).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)


def test_a_bad_table_is_a_422_naming_every_row_and_column_and_writes_nothing(client, world, as_):
    tracker = client.app.state.tracker
    before = tracker.recorder.max_notification_id()
    data = table("X-1,Patrols,,Gendarmerie,,,,", "X-2,Lights,,Police nationale,,2017-02-30,,",
                 "X-3,=1+1,,Police nationale,,,,", "X-4,Fine,,Police nationale,,,,")
    response = upload(client, world, as_, data)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert [(r["row"], r["column"]) for r in error["rows"]] == [
        (2, "required_parties"), (3, "due_date"), (4, "title")]
    assert tracker.recorder.max_notification_id() == before


def test_a_member_may_not_import_what_their_party_may_not_do(client, world, as_):
    upload(client, world, as_, table("M-1,Patrols,,Police nationale,Police nationale,2017-06-30,,"))
    response = upload(client, world, as_, table("M-1,Patrols,,,,,80,"), who="women")
    assert response.status_code == 422
    [problem] = response.json()["error"]["rows"]
    assert (problem["row"], problem["column"]) == (2, "progress")
    assert upload(client, world, as_, table("M-2,Lights,,Police nationale,,,,"),
                  who="auditor").status_code == 403


def test_the_export_imports_again_unchanged_in_both_formats(client, world, as_):
    upload(client, world, as_, table("Q-1,Patrols,Every night,Police nationale;Koglweogo,,,,",
                                     "Q-2,-5 thefts a month,,Police nationale,Police nationale,"
                                     "2017-06-30,30,false"))
    for kind, media in (("csv", "text/csv"), ("xlsx", XLSX_TYPE)):
        exported = client.get(f"/api/v1/dialogues/{world.slug}/export", params={"format": kind},
                              headers=as_("women"))
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith(media)
        again = client.post(f"/api/v1/dialogues/{world.slug}/import", content=exported.content,
                            headers={**as_("police"), "Content-Type": media}).json()
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2), again
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert sheet.cell(row=3, column=2).value == "'-5 thefts a month"  # never a formula
