"""Every refusal under /api is JSON {"error": {"code", "message"}}, with the right status."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def as_(world_people):
    return world_people[1]


def error_of(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error


def test_an_anonymous_call_is_a_401_asking_for_a_token(client):
    response = client.get("/api/v1/dialogues")
    assert error_of(response, 401)["code"] == "not_signed_in"
    assert response.headers["www-authenticate"] == "Bearer"
    assert error_of(client.get("/api/v1/dialogues", headers={"Authorization": "Bearer nope"}), 401)
    assert error_of(client.post("/api/v1/dialogues", json={"slug": "x"}), 401)


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/api/v1/dialogues"),  # its principal looked up before the body is validated
    ("post", f"/api/v1/commitments/{uuid.uuid4()}/progress"),  # looked up in the endpoint
    ("post", f"/api/v1/commitments/{uuid.uuid4()}/attach-evidence"),  # the body read inside
])
def test_a_token_that_identifies_no_one_is_a_401_whatever_the_body(client, method, path):
    """The credentials are wrong before the body is: a caller with a bad token is told so, not
    that its body does not parse (which it could only fix to be refused again)."""
    headers = {"Authorization": "Bearer nope", "Content-Type": "application/json"}
    for body in ("{not json", '{"percent": "many"}', "[]"):
        response = getattr(client, method)(path, content=body, headers=headers)
        assert error_of(response, 401)["code"] == "not_signed_in", body


def test_an_unknown_route_under_api_is_a_json_404(client):
    assert error_of(client.get("/api/v1/no-such-thing"), 404)["code"] == "not_found"
    assert error_of(client.post("/api/v2/dialogues", json={}), 404)["code"] == "not_found"
    assert error_of(client.get("/api"), 404)["code"] == "not_found"


def test_a_known_route_with_the_wrong_method_is_a_json_405(client):
    response = client.delete("/api/v1/dialogues")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


def test_a_missing_field_is_a_422_naming_it(client, as_):
    error = error_of(client.post("/api/v1/dialogues", json={"slug": "x"}, headers=as_("admin")), 422)
    assert error["code"] == "invalid"
    assert "name" in error["message"]


def test_a_wrong_type_in_the_query_is_a_422(client, as_):
    error = error_of(client.get("/api/v1/dialogues/saaba/commitments?limit=many",
                                headers=as_("admin")), 422)
    assert error["field"] == "limit"


def test_a_body_that_is_not_json_is_a_400(client, as_):
    response = client.post("/api/v1/dialogues", content=b"{not json",
                           headers={**as_("admin"), "content-type": "application/json"})
    assert error_of(response, 400)["code"] == "bad_request"


def test_a_body_over_a_megabyte_is_a_413_and_changes_nothing(client, as_, world_people):
    world = world_people[0]
    body = {"title": "x", "description": "y" * 1_100_000, "required_parties": [world.parties["police"]]}
    response = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body,
                           headers=as_("police"))
    assert error_of(response, 413)["code"] == "too_large"


def test_an_unknown_commitment_is_a_404_whatever_the_id_looks_like(client, as_):
    assert error_of(client.get(f"/api/v1/commitments/{uuid.uuid4()}", headers=as_("auditor")), 404)
    assert error_of(client.get("/api/v1/commitments/not-a-uuid", headers=as_("auditor")), 404)
    assert error_of(client.post("/api/v1/commitments/not-a-uuid/agree", json={},
                                headers=as_("admin")), 404)


def test_an_unknown_field_in_a_command_body_is_refused(client, as_, world_people):
    world = world_people[0]
    response = client.post(f"/api/v1/dialogues/{world.slug}/cases", headers=as_("police"),
                           json={"title": "t", "category": "other", "priority": "high"})
    assert error_of(response, 422)["field"] == "priority"


def test_a_point_in_time_without_an_offset_or_two_points_at_once_are_refused(client, as_, world_people):
    world = world_people[0]
    cid = client.post(f"/api/v1/dialogues/{world.slug}/commitments", headers=as_("police"),
                      json={"title": "t", "required_parties": [world.parties["police"]]}).json()["id"]
    naive = client.get(f"/api/v1/commitments/{cid}?as_of=2026-01-01T10:00:00", headers=as_("police"))
    assert error_of(naive, 422)["field"] == "as_of"
    both = client.get(f"/api/v1/commitments/{cid}?version=1&as_of_date=2026-01-01",
                      headers=as_("police"))
    assert error_of(both, 422)["code"] == "invalid"


def test_a_member_of_another_dialogue_cannot_read_this_one(client, tracker_of, world_people):
    from tests.factories import make_world
    from tracker.application import SYSTEM

    make_world(tracker_of, slug="jos")
    outsider = {"Authorization": f"Bearer {tracker_of.create_token(SYSTEM, 'jos-police')}"}
    assert error_of(client.get("/api/v1/dialogues/saaba/commitments", headers=outsider), 403)
    assert error_of(client.get("/api/v1/dialogues/saaba", headers=outsider), 403)


def test_a_case_id_is_not_a_commitment_even_in_the_past(client, as_, world_people):
    world = world_people[0]
    case = client.post(f"/api/v1/dialogues/{world.slug}/cases", headers=as_("police"),
                       json={"title": "t", "category": "other"}).json()["id"]
    for query in ("", "?version=1", "?as_of_date=2030-01-01"):
        assert error_of(client.get(f"/api/v1/commitments/{case}{query}", headers=as_("auditor")), 404)


def test_a_row_written_behind_the_trackers_back_is_a_503_naming_it_and_nothing_changes(
        client, world, as_, settings, tracker_of):
    """A forged row of a commitment (plain JSON at position 0, as someone with database access
    could write): a command on it is refused with the JSON shape, not a 500, and records nothing."""
    from tests.projection_helpers import Tamper

    body = {"title": "Joint night patrols", "required_parties": [world.parties["police"]]}
    made = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body,
                       headers=as_("police"))
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    tamper = Tamper(settings.database_url)
    oid = cid if tamper.pg else uuid.UUID(cid).hex
    tamper.run(("INSERT INTO stored_events (originator_id, originator_version, topic, state, {id})"
                " VALUES (?,?,?,?,?)", (oid, 3, "commitment.agreed", b"{}", 0)))
    head = tracker_of.recorder.max_notification_id()

    refused = client.post(f"/api/v1/commitments/{cid}/comment", json={"note": "hello"},
                          headers=as_("police"))
    error = error_of(refused, 503)
    assert error["code"] == "record_unbound"
    assert "tracker verify" in error["message"]
    assert tracker_of.recorder.max_notification_id() == head
