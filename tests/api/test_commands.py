"""The API's commands, through HTTP, against the real app and store."""

from __future__ import annotations

import pytest


def propose(client, world, as_, who="police", **extra):
    body = {"title": "Joint night patrols on market days",
            "required_parties": [world.parties["police"], world.parties["vigilante"]], **extra}
    response = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body, headers=as_(who))
    assert response.status_code == 201, response.text
    return response.json()


def act(client, as_, who, commitment_id, action, **body):
    return client.post(f"/api/v1/commitments/{commitment_id}/{action}", json=body, headers=as_(who))


def test_a_commitment_goes_from_proposal_to_verification_through_the_api(client, world, as_):
    proposed = propose(client, world, as_)
    assert set(proposed) == {"id", "version", "position"}
    assert proposed["version"] == 2  # proposed, and endorsed by the police with it
    cid = proposed["id"]
    steps = [("vigilante", "endorse", {}), ("police", "agree", {}),
             ("police", "assign", {"party_id": world.parties["police"], "due_date": "2030-06-30"}),
             ("police", "progress", {"percent": 40}),
             ("police", "complete", {"summary": "Patrols run every market day"}),
             ("vigilante", "verify", {})]
    position = proposed["position"]
    for number, (who, action, body) in enumerate(steps, start=3):
        response = act(client, as_, who, cid, action, **body)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["id"] == cid and answer["version"] == number
        assert answer["position"] > position
        position = answer["position"]

    got = client.get(f"/api/v1/commitments/{cid}", headers=as_("women")).json()
    assert got["status"] == "verified"
    assert got["progress"] == 100
    assert got["responsible_party"] == world.parties["police"]
    assert got["dialogue"]["slug"] == world.slug
    assert sorted(got["endorsements"]) == sorted([world.parties["police"], world.parties["vigilante"]])


def test_a_stale_expected_version_is_refused_with_409_and_changes_nothing(client, world, as_):
    cid = propose(client, world, as_, who="women")["id"]  # the women's association is not required
    assert act(client, as_, "police", cid, "endorse", expected_version=1).status_code == 200
    stale = act(client, as_, "women", cid, "amend", reason="clearer", title="New", expected_version=1)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    got = client.get(f"/api/v1/commitments/{cid}", headers=as_("police")).json()
    assert got["version"] == 2 and got["title"] == "Joint night patrols on market days"


def test_add_milestone_answers_the_new_milestone_id_and_it_can_be_completed(client, world, as_):
    cid = propose(client, world, as_)["id"]
    for who, action, body in [("vigilante", "endorse", {}), ("police", "agree", {}),
                              ("police", "assign", {"party_id": world.parties["police"],
                                                    "due_date": "2030-01-01"})]:
        assert act(client, as_, who, cid, action, **body).status_code == 200
    added = act(client, as_, "police", cid, "add-milestone", title="Recruit", due_date="2029-01-01")
    assert added.status_code == 200
    milestone_id = added.json()["milestone_id"]
    assert act(client, as_, "police", cid, "complete-milestone",
               milestone_id=milestone_id).status_code == 200
    evidence = act(client, as_, "police", cid, "attach-evidence", description="Patrol log",
                   url="https://example.org/log.pdf", sha256="a" * 64)
    assert "evidence_id" in evidence.json()
    got = client.get(f"/api/v1/commitments/{cid}", headers=as_("police")).json()
    assert got["milestones"][0]["id"] == milestone_id
    assert got["milestones"][0]["completed_on"] is not None
    assert got["evidence"][0]["url"] == "https://example.org/log.pdf"


def test_admins_create_dialogues_and_parties_and_members_raise_cases(client, world, as_):
    created = client.post("/api/v1/dialogues", headers=as_("admin"), json={
        "slug": "jos-north", "name": "Jos North", "country": "NG", "locality": "Jos"})
    assert created.status_code == 201, created.text
    party = client.post("/api/v1/dialogues/jos-north/parties", headers=as_("admin"),
                        json={"name": "Vigilance Group", "kind": "vigilante", "note": "first"})
    assert party.status_code == 201 and party.json()["party_id"]
    assert party.json()["version"] == 2

    case = client.post(f"/api/v1/dialogues/{world.slug}/cases", headers=as_("women"),
                       json={"title": "Break-ins at the market", "category": "theft_burglary"})
    assert case.status_code == 201
    cid = propose(client, world, as_)["id"]
    linked = client.post(f"/api/v1/cases/{case.json()['id']}/link", headers=as_("women"),
                         json={"commitment_id": cid})
    assert linked.status_code == 200
    got = client.get(f"/api/v1/cases/{case.json()['id']}", headers=as_("auditor")).json()
    assert got["commitment_ids"] == [cid]
    # both sides: the commitment names the case too
    assert client.get(f"/api/v1/commitments/{cid}", headers=as_("auditor")).json()["case_id"] == \
        case.json()["id"]
    resolved = client.post(f"/api/v1/cases/{case.json()['id']}/resolve", headers=as_("women"),
                           json={"summary": "Patrols stopped it"})
    assert resolved.status_code == 200 and resolved.json()["version"] == 3


@pytest.mark.parametrize(("who", "status", "code"), [
    ("auditor", 403, "forbidden"),   # auditors change nothing
    ("women", 403, "forbidden"),     # a member may not act for another party
])
def test_refused_commands_answer_the_domain_error_as_json(client, world, as_, who, status, code):
    cid = propose(client, world, as_)["id"]
    response = act(client, as_, who, cid, "endorse", party_id=world.parties["police"])
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_an_action_not_allowed_in_the_status_is_a_409_with_the_reason(client, world, as_):
    cid = propose(client, world, as_)["id"]
    url = f"/api/v1/commitments/{cid}/complete"
    response = client.post(url, json={"summary": "done"},
                           headers={**as_("police"), "Accept-Language": "en"})
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "transition_refused",
        "message": "only an in-progress commitment can be completed; this one is still proposed"}
    # The same sentence in the reader's language, its values (action, status) translated too.
    for language, message in (
            ("fr", "seul un engagement en cours peut être achevé ; celui-ci est encore proposé"),
            ("ar", "لا يُنجز إلا الالتزام قيد التنفيذ؛ وهذا الالتزام ما زال مقترحًا")):
        response = client.post(url, json={"summary": "done"},
                               headers={**as_("police"), "Accept-Language": language})
        assert response.json()["error"]["message"] == message


def test_a_domain_refusal_of_a_value_is_a_422_naming_the_field(client, world, as_):
    cid = propose(client, world, as_)["id"]
    response = act(client, as_, "vigilante", cid, "reject", reason="   ")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reason"
    future = act(client, as_, "vigilante", cid, "reject", reason="no", occurred_on="2999-01-01")
    assert future.status_code == 422 and future.json()["error"]["field"] == "occurred_on"


def test_a_signed_in_session_uses_the_api_with_its_csrf_token(client, world):
    from tests.web.support import sign_in

    token = sign_in(client, "saaba-police")
    assert client.get("/api/v1/dialogues").status_code == 200  # the session cookie suffices to read
    body = {"title": "Patrols", "required_parties": [world.parties["police"]]}
    refused = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    accepted = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body,
                           headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201


def test_set_visibility_and_public_evidence(client, world, as_):
    cid = propose(client, world, as_)["id"]
    refused = act(client, as_, "women", cid, "set-visibility", public=False, reason="Names a witness")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    missing = act(client, as_, "police", cid, "set-visibility", public=False)
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "reason"
    done = act(client, as_, "police", cid, "set-visibility", public=False, reason="Names a witness")
    assert done.status_code == 200, done.text
    assert client.get(f"/api/v1/commitments/{cid}", headers=as_("police")).json()["public"] is False

    for who, action, body in [("vigilante", "endorse", {}), ("police", "agree", {}),
                              ("police", "assign", {"party_id": world.parties["police"],
                                                    "due_date": "2030-01-01"})]:
        assert act(client, as_, who, cid, action, **body).status_code == 200
    act(client, as_, "police", cid, "attach-evidence", description="Photos of the patrol")
    act(client, as_, "vigilante", cid, "attach-evidence", description="Patrol log", public=True)
    evidence = client.get(f"/api/v1/commitments/{cid}", headers=as_("police")).json()["evidence"]
    assert [(e["description"], e["public"]) for e in evidence] == [
        ("Photos of the patrol", False), ("Patrol log", True)]
