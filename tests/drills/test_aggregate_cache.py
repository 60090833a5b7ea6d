"""Two server processes keep the same commitment in their aggregate caches (tracker/application.py:
the library's cache with fast-forward). Commands sent to each in turn must act on the version
the other one stored: each names the version the last answer gave and is accepted (a process
acting on the version it kept would refuse it: 409), a stale version is refused by either one,
and commands without a version, sent to both at once, all land: none is lost. A token both
keep (tracker/application.py keeps tokens per version, and each process its answer to a read per
position of the log) stops working in both once revoked.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.browser_support import ServerProcess
from tests.drill_support import bearer, drill_settings, seed
from tracker.application import SYSTEM
from tracker.bootstrap import build_application

ROUNDS = 10
CONCURRENT = 8  # commands without a version, per server, sent at the same time


@pytest.mark.slow
def test_two_processes_caching_one_commitment_never_act_on_a_stale_version(store_url, tmp_path):
    settings = drill_settings(store_url, tmp_path)
    seeded = seed(settings, commitments=1)
    commitment_id = seeded.commitments[0]
    police = bearer(seeded.tokens["police"])
    servers = [ServerProcess(store_url, tmp_path, name=f"server-{n}") for n in (1, 2)]
    try:
        for server in servers:
            server.start()
        urls = [server.url for server in servers]

        def progress(url: str, percent: int, version: int | None = None) -> httpx.Response:
            body = {"percent": percent} | ({"expected_version": version} if version else {})
            return httpx.post(f"{url}/api/v1/commitments/{commitment_id}/progress", json=body,
                              headers=police, timeout=30)

        # Both processes load the commitment, and so keep it.
        for url in urls:
            answer = httpx.get(f"{url}/api/v1/commitments/{commitment_id}", headers=police)
            assert answer.status_code == 200, answer.text
            assert answer.json()["version"] == seeded.versions[commitment_id]

        version = seeded.versions[commitment_id]
        for n in range(ROUNDS):
            # Each process in turn, at the version the other one has just stored.
            answer = progress(urls[n % 2], n + 1, version)
            assert answer.status_code == 200, (n, answer.text)
            assert answer.json()["version"] == version + 1
            version += 1
            # The version before it is stale in both processes.
            for url in urls:
                stale = progress(url, 99, version - 1)
                assert stale.status_code == 409, (n, stale.text)
                assert stale.json()["error"]["code"] == "conflict"

        # Commands without a version, to both processes at once: every one is stored.
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def send(url: str, percent: int) -> None:
            response = progress(url, percent)
            with lock:
                answers.append(response)

        threads = [threading.Thread(target=send, args=(urls[k % 2], 50 + k))
                   for k in range(2 * CONCURRENT)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert [a.status_code for a in answers] == [200] * 2 * CONCURRENT, \
            [a.text for a in answers if a.status_code != 200]
        versions = sorted(a.json()["version"] for a in answers)
        assert versions == list(range(version + 1, version + 1 + 2 * CONCURRENT))
        version += 2 * CONCURRENT

        # Each process reads the same present state, and one more command is accepted by each.
        for url in urls:
            answer = httpx.get(f"{url}/api/v1/commitments/{commitment_id}", headers=police)
            assert answer.json()["version"] == version
            assert progress(url, 7, version).status_code == 200
            version += 1

        # A token both processes keep, revoked by a third (the command line's way): refused by
        # both at their next request.
        # (A commitment read twice: the second answer is the one each process keeps for this
        # position of the log, given to a token it checked at that position: web.deps.read_hop.)
        vigilante = bearer(seeded.tokens["vigilante"])
        read_url = f"/api/v1/commitments/{commitment_id}"
        for url in urls:
            assert httpx.get(f"{url}/api/v1/dialogues", headers=vigilante).status_code == 200
            for _ in range(2):
                assert httpx.get(url + read_url, headers=vigilante).json()["version"] == version
        other = build_application(settings)
        try:
            other.revoke_tokens(SYSTEM, f"{seeded.slug}-vigilante")
        finally:
            other.close()
        for url in urls:
            assert httpx.get(f"{url}/api/v1/dialogues", headers=vigilante).status_code == 401
            assert httpx.get(url + read_url, headers=vigilante).status_code == 401
    finally:
        for server in servers:
            server.stop()

    app = build_application(settings)
    try:
        events = list(app.aggregate_events(commitment_id))
        assert events[-1].originator_version == version == app.commitment(commitment_id).version
        reported = [e.percent for e in events if type(e).__name__ == "ProgressReported"]
        assert reported[-(ROUNDS + 2 * CONCURRENT + 2):-(2 * CONCURRENT + 2)] == \
            list(range(1, ROUNDS + 1))
        assert sorted(reported[-(2 * CONCURRENT + 2):-2]) == list(range(50, 50 + 2 * CONCURRENT))
    finally:
        app.close()
