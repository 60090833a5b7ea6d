"""Proofs over HTTP: inclusion proofs of a public commitment's events and of any event for auditors,
consistency proofs, signed tree heads and witnesses' cosignatures. Every proof is checked with the
RFC 9162 verifier of tests/rfc9162.py and every signature with `cryptography` over the README's text.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from projections.proofs import key_id, public_key_hex, sign_cosignature
from tests import rfc9162
from tests.factories import advance, propose
from tracker.application import SYSTEM

HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def witness_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def settings(settings, witness_key):
    """The suite's settings, with one registered witness."""
    return settings.model_copy(update={"witness_keys": f"Observatoire-citoyen={public_key_hex(witness_key)}"})


def stored_leaves(client) -> list[bytes]:
    app = client.app.state.tracker
    rows = client.app.state.read_models.store.stored_events(app.recorder.events_table_name, 0, 100_000)
    return [rfc9162.leaf(*row) for row in rows]


def head_signature_holds(head) -> bool:
    text = f"jsd-tracker-tree-head-v1\n{head['tree_size']}\n{head['root_hash']}\n{head['signed_at']}"
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(head["public_key"])).verify(
            bytes.fromhex(head["signature"]), text.encode())
    except Exception:
        return False
    return hashlib.sha256(bytes.fromhex(head["public_key"])).hexdigest()[:16] == head["key_id"]


def check_bundle(client, bundle) -> None:
    """Every entry is in the signed head by the RFC's verifier; the leaves are the stored rows'."""
    head = bundle["tree_head"]
    assert head_signature_holds(head)
    leaves = stored_leaves(client)
    assert HEX64.fullmatch(head["root_hash"])
    assert bytes.fromhex(head["root_hash"]) == rfc9162.mth(leaves[:head["tree_size"]])
    for entry in bundle["entries"]:
        leaf = base64.b64decode(entry["leaf"], validate=True)
        assert leaf == leaves[entry["leaf_index"]]
        assert int.from_bytes(leaf[:8], "big") == entry["position"]
        assert all(HEX64.fullmatch(h) for h in entry["audit_path"])
        assert rfc9162.verify_inclusion(entry["leaf_index"], head["tree_size"],
                                        rfc9162.sha256(b"\x00" + leaf),
                                        [bytes.fromhex(h) for h in entry["audit_path"]],
                                        bytes.fromhex(head["root_hash"])), entry["position"]


def public_positions(client, commitment_id):
    return [e["position"] for e in client.app.state.read_models.public.timeline(commitment_id)]


def test_a_public_commitments_proof_covers_its_public_events_and_passes_the_rfc_verifier(
        client, tracker_of, world):
    done = propose(tracker_of, world).id
    advance(tracker_of, world, done, "in_progress")
    hidden = tracker_of.commitment_action(world.members["police"], done, "progress",
                                          {"percent": 40, "public": False}).position
    tracker_of.commitment_action(world.members["police"], done, "complete", {"summary": "Done"})
    tracker_of.commitment_action(world.members["vigilante"], done, "verify", {})
    propose(tracker_of, world, title="Another commitment")  # events after it: audit paths to the right

    answer = client.get(f"/api/v1/public/commitments/{done}/proof")
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert set(bundle) == {"tree_head", "commitment_id", "entries"}
    assert set(bundle["tree_head"]) >= {"tree_size", "root_hash", "signed_at", "signature",
                                        "public_key", "key_id"}
    assert [e["position"] for e in bundle["entries"]] == public_positions(client, done)
    assert hidden not in [e["position"] for e in bundle["entries"]]  # a progress report given as not public
    assert all(set(e) == {"position", "leaf_index", "leaf", "audit_path"} for e in bundle["entries"])
    assert bundle["tree_head"]["tree_size"] == tracker_of.recorder.max_notification_id()
    check_bundle(client, bundle)


def test_a_private_commitment_has_no_public_proof(client, tracker_of, world):
    private = propose(tracker_of, world, public=False).id
    made_private = propose(tracker_of, world).id
    tracker_of.set_commitment_visibility(SYSTEM, made_private, public=False, reason="Informants")
    for cid in (private, made_private, "not-an-id", "8a7b0f0e-0000-4000-8000-000000000000"):
        answer = client.get(f"/api/v1/public/commitments/{cid}/proof")
        assert answer.status_code == 404, cid
        assert answer.json()["error"]["code"] == "not_found"


def test_a_new_head_is_signed_only_once_the_log_has_grown(client, tracker_of, world):
    cid = propose(tracker_of, world).id
    first = client.get(f"/api/v1/public/commitments/{cid}/proof").json()["tree_head"]
    again = client.get("/api/v1/public/ledger/tree-head").json()
    assert again == first  # the same head: nothing new to sign
    tracker_of.commitment_action(world.members["vigilante"], cid, "endorse", {})
    later = client.get("/api/v1/public/ledger/tree-head").json()
    assert later["tree_size"] == first["tree_size"] + 1 and head_signature_holds(later)
    assert client.get("/api/v1/ledger/head").json()["tree_head"]["tree_size"] == later["tree_size"]


def test_since_adds_the_proof_that_the_head_extends_an_earlier_one(client, tracker_of, world):
    cid = propose(tracker_of, world).id
    earlier = client.get(f"/api/v1/public/commitments/{cid}/proof").json()["tree_head"]
    advance(tracker_of, world, cid, "agreed")
    bundle = client.get(f"/api/v1/public/commitments/{cid}/proof",
                        params={"since": earlier["tree_size"]}).json()
    head, part = bundle["tree_head"], bundle["consistency"]
    assert (part["first"], part["second"]) == (earlier["tree_size"], head["tree_size"])
    assert rfc9162.verify_consistency(earlier["tree_size"], head["tree_size"],
                                      bytes.fromhex(earlier["root_hash"]), bytes.fromhex(head["root_hash"]),
                                      [bytes.fromhex(h) for h in part["proof"]])
    check_bundle(client, bundle)
    tracker_of.commitment_action(world.members["police"], cid, "assign",
                                 {"party_id": world.parties["police"], "due_date": date(2030, 1, 1)})
    signed = len(client.app.state.read_models.tree.heads(100))
    for since in (head["tree_size"] + 1, head["tree_size"] + 5, 0, -1, 2**70):
        answer = client.get(f"/api/v1/public/commitments/{cid}/proof", params={"since": since})
        assert answer.status_code == 422, since
    assert len(client.app.state.read_models.tree.heads(100)) == signed  # refused: nothing signed


def test_consistency_proofs_between_any_two_sizes_and_the_heads_signed_at_them(
        client, tracker_of, world):
    cid = propose(tracker_of, world).id
    signed = client.get("/api/v1/public/ledger/tree-head").json()
    advance(tracker_of, world, cid, "verified")
    size = tracker_of.recorder.max_notification_id()
    leaves = stored_leaves(client)
    roots = rfc9162.roots(leaves)
    for first in range(1, size):
        answer = client.get("/api/v1/public/ledger/consistency", params={"first": first, "second": size})
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert (found["first"], found["second"]) == (first, size)
        assert rfc9162.verify_consistency(first, size, roots(first), roots(size),
                                          [bytes.fromhex(h) for h in found["proof"]]), first
        # The signed heads of both sizes, when there are some: here only the one signed above.
        assert found["first_head"] == (signed if first == signed["tree_size"] else None)
        assert found["second_head"] is None


@pytest.mark.parametrize("query", [
    "first=0&second=3", "first=3&second=3", "first=4&second=3", "first=1&second=100000",
    "first=abc&second=3", "first=1", "second=2", f"first=1&second={2**70}", f"first={-2**70}&second=2",
])
def test_bad_sizes_are_refused_with_a_422(client, tracker_of, world, query):
    propose(tracker_of, world)
    answer = client.get(f"/api/v1/public/ledger/consistency?{query}")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid"


def cosign(client, key, head=None):
    head = head or client.get("/api/v1/public/ledger/tree-head").json()
    return head, client.post("/api/v1/public/ledger/cosignatures", json=sign_cosignature(key, head))


def test_a_registered_witness_cosigns_a_head_and_public_pages_show_it(
        client, tracker_of, world, witness_key):
    cid = propose(tracker_of, world).id
    client.get(f"/public/commitments/{cid}")  # a session cookie: the post needs no CSRF token anyway
    head, answer = cosign(client, witness_key)
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "Observatoire-citoyen"
    assert cosign(client, witness_key, head)[1].status_code == 200  # once per witness and head

    cosigned = client.get("/api/v1/public/ledger/tree-head").json()["cosignatures"]
    assert [c["key_id"] for c in cosigned] == [key_id(public_key_hex(witness_key))]
    for page in (f"/public/commitments/{cid}", "/public/ledger", f"/public/dialogues/{world.slug}"):
        text = client.get(page, headers={"Accept-Language": "en"}).text
        assert "Observatoire-citoyen" in text and "Cosigned by witnesses" in text, page
    # The proof bundle carries the cosignature with its head.
    assert client.get(f"/api/v1/public/commitments/{cid}/proof").json()["tree_head"]["cosignatures"]

    # Once the log grows, the latest head is not cosigned yet: pages show both.
    tracker_of.commitment_action(world.members["vigilante"], cid, "endorse", {})
    client.get("/api/v1/public/ledger/tree-head")
    text = client.get(f"/public/commitments/{cid}", headers={"Accept-Language": "en"}).text
    assert "No witness has cosigned this tree head yet." in text
    assert "Latest tree head cosigned by witnesses" in text


def test_cosignatures_from_unregistered_keys_or_of_unsigned_heads_are_refused(
        client, tracker_of, world, witness_key):
    propose(tracker_of, world)
    head, answer = cosign(client, Ed25519PrivateKey.generate())
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    assert "not a registered witness key" in answer.json()["error"]["message"]

    body = sign_cosignature(witness_key, head)
    forged = dict(body, signature=body["signature"][:-2] + ("00" if body["signature"][-2:] != "00" else "11"))
    unsigned = sign_cosignature(witness_key, dict(head, root_hash="ab" * 32))
    for bad in (forged, unsigned, dict(body, extra=1), dict(body, tree_size=-1),
                dict(body, signature="zz" * 64), {k: v for k, v in body.items() if k != "signature"}):
        answer = client.post("/api/v1/public/ledger/cosignatures", json=bad)
        assert answer.status_code == 422, (bad, answer.text)
    assert client.get("/api/v1/public/ledger/tree-head").json()["cosignatures"] == []


def test_auditors_prove_any_event_by_position_private_ones_included(
        client, tracker_of, world, as_):
    private = propose(tracker_of, world, public=False, private_note="Informant: M.").id
    position = tracker_of.commitment_action(world.members["vigilante"], private, "endorse", {}).position
    answer = client.get("/api/v1/ledger/proof", params={"position": [1, position]}, headers=as_("auditor"))
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    check_bundle(client, bundle)
    for entry in bundle["entries"]:  # the stored bytes, to check against the leaf's digest
        leaf, state = base64.b64decode(entry["leaf"]), base64.b64decode(entry["state"])
        assert leaf.endswith(hashlib.sha256(state).digest())
    member = client.get("/api/v1/ledger/proof", params={"position": 1}, headers=as_("police"))
    assert member.status_code == 403
    assert client.get("/api/v1/ledger/proof", params={"position": 1}).status_code == 401
    for params in ({"position": position + 50}, {"position": 0}, {"position": 2**70},
                   {"position": list(range(1, 102))}, {}):
        answer = client.get("/api/v1/ledger/proof", params=params, headers=as_("auditor"))
        assert answer.status_code in (404, 422), (params, answer.status_code)
