"""`GET /api/v1/commitments/{id}` answers from the read models (projections.states) the same JSON
the aggregate itself gives."""

from __future__ import annotations

from datetime import date, timedelta

from web.api import commitment_out


def test_the_present_state_from_the_read_models_is_the_aggregates_own(client, world, as_,
                                                                       tracker_of):
    body = {"title": "Street lights", "required_parties": [world.parties["police"]],
            "private_note": "the informant's name"}
    cid = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body,
                      headers=as_("police")).json()["id"]
    due = (date.today() + timedelta(days=30)).isoformat()
    for action, fields in (("agree", {}), ("assign", {"party_id": world.parties["police"],
                                                      "due_date": due}),
                           ("add-milestone", {"title": "Poles bought", "due_date": due}),
                           ("progress", {"percent": 40}),
                           ("attach-evidence", {"description": "Photos of the poles"})):
        answer = client.post(f"/api/v1/commitments/{cid}/{action}", json=fields,
                             headers=as_("police"))
        assert answer.status_code == 200, answer.text
    answer = client.get(f"/api/v1/commitments/{cid}", headers=as_("police"))
    assert answer.status_code == 200, answer.text
    read_models = client.app.state.read_models
    aggregate = tracker_of.commitment(cid)
    expected = commitment_out(aggregate.state(), read_models.dialogue_by_id(world.dialogue_id),
                              date.today())
    got = answer.json()
    assert got["version"] == aggregate.version and got["private_note"] == "the informant's name"
    assert got["milestones"][0]["title"] == "Poles bought" and got["evidence"]
    assert got["due_date"] == due and got["overdue"] is False
    from web.api_models import CommitmentOut

    assert got == CommitmentOut.model_validate(expected).model_dump(mode="json")
    missing = client.get("/api/v1/commitments/00000000-0000-0000-0000-000000000000",
                         headers=as_("police"))
    assert missing.status_code == 404


def test_with_an_encryption_key_the_present_state_is_kept_sealed(settings):
    from eventsourcing.cryptography import AESCipher

    from tests.webclient import running_app, world_and_people

    sealed = settings.model_copy(update={"encryption_key": AESCipher.create_key(32)})
    with running_app(sealed) as client:
        world, people = world_and_people(client.app.state.tracker)
        body = {"title": "Street lights", "required_parties": [world.parties["police"]],
                "private_note": "the informant's name"}
        cid = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body,
                          headers=people("police")).json()["id"]
        answer = client.get(f"/api/v1/commitments/{cid}", headers=people("police"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["private_note"] == "the informant's name"
        store = client.app.state.read_models.store
        with store.transaction(commit=False) as cursor:  # the row as stored, not opened
            cursor.execute(store.sql("SELECT state FROM rm_states WHERE id=?"), (cid,))
            stored = cursor.fetchone()
        assert "informant" not in str(dict(stored)["state"])


def test_the_present_answer_is_shared_between_changes_yet_always_current(client, world, as_,
                                                                         tracker_of):
    """Readers between two changes share one answer (kept per log position); a change, by the
    API or behind it, shows on the next read; and every reader's right to see it is checked on
    every read, answer kept or not."""
    from tests.factories import make_world
    from tracker.application import SYSTEM
    from tracker.commands import AssignCommitment

    body = {"title": "Street lights", "required_parties": [world.parties["police"]]}
    cid = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body,
                      headers=as_("police")).json()["id"]
    url = f"/api/v1/commitments/{cid}"
    first = client.get(url, headers=as_("police"))
    assert first.status_code == 200 and first.json()["status"] == "proposed"
    assert client.get(url, headers=as_("vigilante")).json() == first.json()
    other = make_world(tracker_of, slug="jos")
    outsider = {"Authorization": f"Bearer {tracker_of.create_token(SYSTEM, 'jos-police')}"}
    assert client.get(url, headers=outsider).status_code == 403  # kept, still not theirs
    assert client.post(f"{url}/agree", json={}, headers=as_("police")).status_code == 200
    assert client.get(url, headers=as_("vigilante")).json()["status"] == "agreed"
    tracker_of.act(SYSTEM, cid, AssignCommitment(party_id=world.parties["police"],
                                                 due_date=date.today()))
    now = client.get(url, headers=as_("police")).json()  # written behind the API's back
    assert now["status"] == "in_progress" and now["responsible_party_name"] == "Police nationale"
    assert now["version"] == first.json()["version"] + 2
    assert client.get(url, headers=outsider).status_code == 403 and other.slug == "jos"
