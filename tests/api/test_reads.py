"""The API's reads: lists with filters, a commitment now and in the past, its history, public data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

BASE = date.today() - timedelta(days=300)


def day(n: int) -> str:
    return (BASE + timedelta(days=n)).isoformat()


def propose(client, world, as_, **extra):
    """Proposed by the women's association, which is not asked to endorse it."""
    body = {"title": "Joint night patrols on market days",
            "required_parties": [world.parties["police"], world.parties["vigilante"]], **extra}
    response = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body,
                           headers=as_("women"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def act(client, as_, who, cid, action, **body):
    response = client.post(f"/api/v1/commitments/{cid}/{action}", json=body, headers=as_(who))
    assert response.status_code == 200, response.text
    return response.json()


def backdated_commitment(client, world, as_):
    """Proposed on day 0, agreed on day 10, assigned on day 20, completed on day 40."""
    cid = propose(client, world, as_, occurred_on=day(0))
    act(client, as_, "police", cid, "endorse", occurred_on=day(5))
    act(client, as_, "vigilante", cid, "endorse", occurred_on=day(6))
    act(client, as_, "police", cid, "agree", occurred_on=day(10), note="agreed at the meeting")
    recorded_when_agreed = datetime.now(UTC)
    act(client, as_, "police", cid, "assign", party_id=world.parties["police"],
        due_date=day(30), occurred_on=day(20))
    act(client, as_, "police", cid, "complete", summary="Done", occurred_on=day(40))
    return cid, recorded_when_agreed


def test_a_commitment_as_it_was_on_a_business_date_at_a_version_and_at_a_recorded_time(
        client, world, as_):
    cid, recorded_when_agreed = backdated_commitment(client, world, as_)
    url = f"/api/v1/commitments/{cid}"

    def state(**query):
        response = client.get(url, params=query, headers=as_("auditor"))
        assert response.status_code == 200, response.text
        return response.json()

    assert state(as_of_date=day(3))["status"] == "proposed"
    on_day_15 = state(as_of_date=day(15))
    assert on_day_15["status"] == "agreed" and on_day_15["version"] == 4
    on_day_25 = state(as_of_date=day(25))
    assert on_day_25["status"] == "in_progress"
    assert on_day_25["overdue"] is False  # due on day 30: not yet overdue on day 25
    assert state(as_of_date=day(35))["overdue"] is True
    assert state(as_of_date=day(41))["status"] == "completed"

    first = state(version=1)
    assert first["status"] == "proposed" and first["endorsements"] == []
    assert state(version=2)["endorsements"] == [world.parties["police"]]

    then = state(as_of=recorded_when_agreed.isoformat())
    assert then["status"] == "agreed" and then["responsible_party"] is None
    assert state()["status"] == "completed"

    before = client.get(url, params={"as_of_date": day(-1)}, headers=as_("auditor"))
    assert before.status_code == 404


def test_the_history_lists_every_event_with_position_business_date_party_and_note(client, world, as_):
    cid, _ = backdated_commitment(client, world, as_)
    events = client.get(f"/api/v1/commitments/{cid}/history", headers=as_("women")).json()["events"]
    assert [e["type"] for e in events] == ["Proposed", "Endorsed", "Endorsed", "Agreed", "Assigned",
                                           "Completed"]
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == 6
    assert [e["occurred_on"] for e in events] == [day(0), day(5), day(6), day(10), day(20), day(40)]
    assert events[3]["note"] == "agreed at the meeting"
    assert events[2]["party"]["name"] == "Koglweogo"
    assert events[4]["changes"]["status"] == ["agreed", "in_progress"]


def test_the_commitment_list_filters_by_status_party_overdue_and_words(client, world, as_):
    cid, _ = backdated_commitment(client, world, as_)  # completed
    propose(client, world, as_, title="Street lights near the school")
    late = propose(client, world, as_, title="Radio hotline", occurred_on=day(0))
    act(client, as_, "police", late, "endorse")
    act(client, as_, "vigilante", late, "endorse")
    act(client, as_, "police", late, "agree")
    act(client, as_, "police", late, "assign", party_id=world.parties["police"], due_date=day(1))

    def listing(**query):
        response = client.get(f"/api/v1/dialogues/{world.slug}/commitments", params=query,
                              headers=as_("vigilante"))
        assert response.status_code == 200, response.text
        return response.json()

    assert listing()["total"] == 3
    assert [c["id"] for c in listing(status="completed")["items"]] == [cid]
    assert [c["title"] for c in listing(q="STREET")["items"]] == ["Street lights near the school"]
    assert [c["id"] for c in listing(overdue="true")["items"]] == [late]
    assert listing(party=world.parties["police"])["total"] == 2
    page = listing(limit=1, offset=1)
    assert page["total"] == 3 and len(page["items"]) == 1


def test_dialogues_are_listed_with_their_parties_and_counts(client, world, as_):
    propose(client, world, as_)
    dialogues = client.get("/api/v1/dialogues", headers=as_("police")).json()
    assert [d["slug"] for d in dialogues] == [world.slug]
    assert dialogues[0]["counts"]["proposed"] == 1
    assert {p["name"] for p in dialogues[0]["parties"]} == {"Police nationale", "Koglweogo",
                                                           "Association des femmes"}
    one = client.get(f"/api/v1/dialogues/{world.slug}", headers=as_("auditor")).json()
    assert one["id"] == world.dialogue_id


def test_public_reads_need_no_sign_in_and_show_only_public_commitments(client, world, as_):
    shown = propose(client, world, as_, title="Public patrols")
    propose(client, world, as_, title="Quiet informant payments", public=False,
            private_note="names of informants")
    listing = client.get("/api/v1/public/dialogues")
    assert listing.status_code == 200
    assert [d["slug"] for d in listing.json()["items"]] == [world.slug]
    one = client.get(f"/api/v1/public/dialogues/{world.slug}").json()
    assert [c["id"] for c in one["commitments"]] == [shown]
    head = client.get("/api/v1/ledger/head").json()
    assert one["ledger"]["position"] <= head["position"]
    assert len(head["head_hash"]) == 64
    assert client.get("/api/v1/public/dialogues/nowhere").status_code == 404


def test_a_command_is_visible_to_the_next_read_at_once(client, world, as_):
    cid = propose(client, world, as_)
    answer = act(client, as_, "police", cid, "endorse")
    history = client.get(f"/api/v1/commitments/{cid}/history", headers=as_("police")).json()
    assert history["events"][-1]["position"] == answer["position"]


CONTRACT_ROUTES = [
    ("post", "/api/v1/dialogues"), ("get", "/api/v1/dialogues"), ("get", "/api/v1/dialogues/{slug}"),
    ("post", "/api/v1/dialogues/{slug}/parties"), ("post", "/api/v1/dialogues/{slug}/cases"),
    ("get", "/api/v1/cases/{case_id}"),
    *[("post", f"/api/v1/cases/{{case_id}}/{a}") for a in ("resolve", "close", "reopen", "link")],
    ("post", "/api/v1/dialogues/{slug}/commitments"), ("get", "/api/v1/dialogues/{slug}/commitments"),
    ("get", "/api/v1/commitments/{commitment_id}"), ("get", "/api/v1/commitments/{commitment_id}/history"),
    *[("post", f"/api/v1/commitments/{{commitment_id}}/{a}") for a in (
        "amend", "endorse", "agree", "reject", "withdraw", "cancel", "reopen", "dispute", "assign",
        "progress", "add-milestone", "complete-milestone", "attach-evidence", "complete", "verify",
        "set-visibility", "comment")],
    ("get", "/api/v1/public/dialogues"), ("get", "/api/v1/public/dialogues/{slug}"),
    ("get", "/api/v1/ledger/head"),
    ("get", "/api/v1/public/commitments/{commitment_id}/proof"),
    ("get", "/api/v1/public/ledger/consistency"), ("post", "/api/v1/public/ledger/cosignatures"),
    # beside the contract's proof routes: the latest tree head (witnesses), any event's (auditors)
    ("get", "/api/v1/public/ledger/tree-head"), ("get", "/api/v1/ledger/proof"),
    # meetings and their decisions (issue 16): the contract's two, and reading them back
    ("post", "/api/v1/dialogues/{slug}/meetings"), ("get", "/api/v1/dialogues/{slug}/meetings"),
    ("get", "/api/v1/dialogues/{slug}/meetings/{meeting_id}"),
    ("post", "/api/v1/dialogues/{slug}/import"), ("get", "/api/v1/dialogues/{slug}/export"),
]


def test_the_openapi_schema_documents_every_route_of_the_contract_and_docs_are_served(client):
    schema = client.get("/openapi.json").json()
    documented = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert set(CONTRACT_ROUTES) <= documented
    assert not {path for _, path in documented} - {path for _, path in CONTRACT_ROUTES}
    body = schema["paths"]["/api/v1/commitments/{commitment_id}/assign"]["post"]
    assert {"401", "404", "409", "422"} <= set(body["responses"])
    assert client.get("/docs").status_code == 200
