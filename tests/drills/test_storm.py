"""The concurrency storm: 50 clients over real HTTP (`tracker serve` in its own process) change one
commitment and 20 others at once, each with the version it just read as `expected_version`.

Every answer is 2xx or 409 (never 5xx, never a lost connection); each commitment's final version is
its starting version plus its number of 2xx answers, each 2xx got a version of its own; the read
models, caught up by the server, equal a rebuild from the log. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict

import httpx
import pytest

from tests.browser_support import ServerProcess
from tests.drill_support import bearer, check_views_equal_rebuild, drill_settings, seed
from tracker.bootstrap import build_application

CLIENTS = 50
OTHERS = 20
ROUNDS = 6  # commands per client: 300 in all, every other one on the contested commitment
TIME_LIMIT = 60.0  # seconds for the whole storm; a client stops when it is over


@pytest.mark.slow
def test_fifty_clients_at_once_get_2xx_or_409_and_every_2xx_is_one_version(store_url, tmp_path):
    settings = drill_settings(store_url, tmp_path)
    seeded = seed(settings, commitments=1 + OTHERS)
    contested, others = seeded.commitments[0], seeded.commitments[1:]
    token = seeded.tokens["police"]
    answers: list[tuple[str, int, int | None]] = []  # (commitment, status, version if 2xx)
    refusals: Counter[str] = Counter()  # the error codes of the 409s
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    with ServerProcess(store_url, tmp_path) as server:
        deadline = time.monotonic() + TIME_LIMIT

        def client(number: int) -> None:
            try:
                with httpx.Client(base_url=server.url, headers=bearer(token), timeout=30) as http:
                    start.wait(timeout=30)
                    for turn in range(ROUNDS):
                        if time.monotonic() > deadline:
                            return
                        target = contested if turn % 2 == 0 else others[(number + turn) % OTHERS]
                        read = http.get(f"/api/v1/commitments/{target}")
                        assert read.status_code == 200, read.text
                        sent = http.post(f"/api/v1/commitments/{target}/progress", json={
                            "percent": (number + turn) % 101,
                            "expected_version": read.json()["version"]})
                        answer = sent.json()
                        version = answer.get("version") if sent.status_code < 300 else None
                        with lock:
                            answers.append((target, sent.status_code, version))
                            if sent.status_code == 409:
                                refusals[answer["error"]["code"]] += 1
            except BaseException as error:  # reported below
                with lock:
                    failures.append(error)

        began = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIME_LIMIT + 30)
        elapsed = time.monotonic() - began
        assert not any(t.is_alive() for t in threads)
        assert not failures, failures[:3]
        # The server's views catch up on a read; afterwards they must equal a rebuild.
        head = httpx.get(f"{server.url}/api/v1/ledger/head", headers=bearer(token)).json()

    statuses = Counter(status for _, status, _ in answers)
    assert set(statuses) <= {200, 409}, statuses
    assert set(refusals) <= {"conflict"}, refusals  # stale versions, not refused transitions
    assert len(answers) == CLIENTS * ROUNDS, "the storm ran out of time"
    app = build_application(settings)
    try:
        for commitment_id in seeded.commitments:
            initial = seeded.versions[commitment_id]
            versions = sorted(v for c, s, v in answers if c == commitment_id and s == 200)
            final = app.commitment(commitment_id).version
            assert final == initial + len(versions)
            assert versions == list(range(initial + 1, final + 1))  # one version per 2xx
        log_head = app.recorder.max_notification_id()
    finally:
        app.close()
    assert head["position"] == log_head
    assert check_views_equal_rebuild(settings) == log_head
    won: dict[str, int] = defaultdict(int)
    for c, s, _ in answers:
        won[c] += s == 200
    print(f"\nstorm ({store_url.split(':')[0]}): {len(answers)} commands by {CLIENTS} clients in "
          f"{elapsed:.1f} s: {statuses[200]} x 2xx, {statuses[409]} x 409; "
          f"contested commitment: {won[contested]} of {sum(c == contested for c, _, _ in answers)} won")
