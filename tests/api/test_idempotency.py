"""`Idempotency-Key`: a command sent again answers as the first time and records nothing more, on
every backend, after a restart and across two server processes (two apps on one database)."""

from __future__ import annotations

import threading
import uuid

import pytest

from tests.webclient import running_app, world_and_people
from tracker.idempotency import KEEP_SECONDS


def propose_body(world):
    return {"title": "Joint night patrols on market days",
            "required_parties": [world.parties["police"], world.parties["vigilante"]]}


def log_size(client) -> int:
    return client.app.state.tracker.recorder.max_notification_id() or 0


def test_the_same_key_and_body_answer_the_first_answer_and_record_nothing_more(client, world, as_):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    url = f"/api/v1/dialogues/{world.slug}/commitments"
    first = client.post(url, json=propose_body(world), headers={**as_("police"), **key})
    assert first.status_code == 201, first.text
    size = log_size(client)
    # the same body, its keys in another order: the same request
    again = client.post(url, json=dict(reversed(list(propose_body(world).items()))),
                        headers={**as_("police"), **key})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert log_size(client) == size
    listed = client.get(url, headers=as_("police")).json()
    assert listed["total"] == 1


def test_a_kept_answer_is_not_given_again_to_a_token_that_no_longer_works(client, world, as_):
    """Once the account is deactivated its token gets 401, a command sent again with a key
    included: the kept answer is for someone still signed in."""
    from tracker.application import SYSTEM

    key = {"Idempotency-Key": str(uuid.uuid4())}
    url = f"/api/v1/dialogues/{world.slug}/commitments"
    first = client.post(url, json=propose_body(world), headers={**as_("police"), **key})
    assert first.status_code == 201, first.text
    client.app.state.tracker.deactivate_account(SYSTEM, f"{world.slug}-police", reason="left")
    size = log_size(client)
    again = client.post(url, json=propose_body(world), headers={**as_("police"), **key})
    assert again.status_code == 401, again.text
    assert "idempotent-replayed" not in again.headers
    assert log_size(client) == size


def test_the_same_key_with_another_body_is_refused_and_records_nothing(client, world, as_):
    key = {"Idempotency-Key": "report-1"}
    cid = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=propose_body(world),
                      headers=as_("police")).json()["id"]
    first = client.post(f"/api/v1/commitments/{cid}/comment", json={"note": "first"},
                        headers={**as_("police"), **key})
    assert first.status_code == 200
    size = log_size(client)
    other = client.post(f"/api/v1/commitments/{cid}/comment", json={"note": "second"},
                        headers={**as_("police"), **key})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in other.json()["error"]["message"]
    # another path with the key is another request too
    elsewhere = client.post(f"/api/v1/commitments/{cid}/reject", json={"note": "first"},
                            headers={**as_("police"), **key})
    assert elsewhere.status_code == 422
    assert log_size(client) == size


def test_keys_belong_to_the_account_that_sent_them(client, world, as_):
    key = {"Idempotency-Key": "same-key"}
    url = f"/api/v1/dialogues/{world.slug}/commitments"
    police = client.post(url, json=propose_body(world), headers={**as_("police"), **key})
    vigilante = client.post(url, json=propose_body(world), headers={**as_("vigilante"), **key})
    assert police.status_code == vigilante.status_code == 201
    assert police.json()["id"] != vigilante.json()["id"]


def test_a_refused_command_keeps_no_answer_so_its_key_may_be_sent_again(client, world, as_):
    key = {"Idempotency-Key": "fix-and-resend"}
    cid = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=propose_body(world),
                      headers=as_("police")).json()["id"]
    stale = client.post(f"/api/v1/commitments/{cid}/comment",
                        json={"note": "hello", "expected_version": 1},
                        headers={**as_("police"), **key})
    assert stale.status_code == 409
    fixed = client.post(f"/api/v1/commitments/{cid}/comment",
                        json={"note": "hello", "expected_version": 2},
                        headers={**as_("police"), **key})
    assert fixed.status_code == 200 and fixed.json()["version"] == 3


@pytest.mark.parametrize("key", [b"", b"x" * 201, "clé".encode(), b"two words"])
def test_a_malformed_key_is_refused(client, world, as_, key):
    size = log_size(client)
    response = client.post(f"/api/v1/dialogues/{world.slug}/commitments",
                           json=propose_body(world),
                           headers={**as_("police"), "Idempotency-Key": key})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_idempotency_key"
    assert log_size(client) == size


def test_a_key_is_still_honoured_after_a_restart_and_forgotten_after_seven_days(settings):
    key = {"Idempotency-Key": "across-restarts"}
    with running_app(settings) as client:
        world, people = world_and_people(client.app.state.tracker)
        url = f"/api/v1/dialogues/{world.slug}/commitments"
        first = client.post(url, json=propose_body(world), headers={**people("police"), **key})
        size = log_size(client)
    with running_app(settings) as client:  # a new process on the same database
        again = client.post(url, json=propose_body(world), headers={**people("police"), **key})
        assert again.json() == first.json() and log_size(client) == size
        store = client.app.state.idempotency
        assert store.count() == 1
        real_clock = store.clock
        store.clock = lambda: real_clock() + KEEP_SECONDS - 60
        assert store.prune() == 0  # kept at least seven days
        store.clock = lambda: real_clock() + KEEP_SECONDS + 60
        assert store.prune() == 1
        assert store.count() == 0


def test_kept_answers_are_encrypted_when_the_store_has_an_encryption_key(settings):
    from eventsourcing.cryptography import AESCipher

    settings = settings.model_copy(update={"encryption_key": AESCipher.create_key(32)})
    sentinel = "SENTINEL-private-note-4711"
    with running_app(settings) as client:
        world, people = world_and_people(client.app.state.tracker)
        body = {**propose_body(world), "title": sentinel}
        headers = {**people("police"), "Idempotency-Key": "secret"}
        url = f"/api/v1/dialogues/{world.slug}/commitments"
        first = client.post(url, json=body, headers=headers)
        assert first.status_code == 201
        rows = client.app.state.read_models.store.fetchall("SELECT answer FROM idempotency_keys")
        assert rows and all(row["answer"].startswith("aesgcm:") for row in rows)
        assert all(first.json()["id"] not in row["answer"] for row in rows)
        assert client.post(url, json=body, headers=headers).json() == first.json()


def test_two_server_processes_on_one_database_record_a_command_sent_to_both_once(settings):
    """The same command, same key, sent at once to two apps on one database (as an offline
    queue retrying on a reconnect that reaches another worker): one event, one answer."""
    with running_app(settings) as one, running_app(settings) as two:
        world, people = world_and_people(one.app.state.tracker)
        cid = one.post(f"/api/v1/dialogues/{world.slug}/commitments", json=propose_body(world),
                       headers=people("police")).json()["id"]
        size = log_size(one)
        headers = {**people("police"), "Idempotency-Key": "sent-twice"}
        answers: list = [None] * 6
        start = threading.Barrier(6)

        def send(index: int) -> None:
            client = (one, two)[index % 2]
            start.wait()
            answers[index] = client.post(f"/api/v1/commitments/{cid}/comment",
                                         json={"note": "once only", "expected_version": 2},
                                         headers=headers)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
        assert len({a.text for a in answers}) == 1
        assert log_size(one) == log_size(two) == size + 1
