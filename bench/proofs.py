"""Proofs at a million events: how fast an inclusion proof answers, beside the bare hashing rate.

`run()` generates a log of real domain events (bench/projections.py's commitments, 8 events each,
saved 2,000 per transaction), catches every read model up, then measures:
- bare hashing: SHA-256 of a leaf-sized input (0x00 and 130 bytes), the yardstick of the tree;
- the tree view built alone over the whole log (`catch_up(["tree"])` after a reset), leaves/s;
- the public inclusion proof of one commitment (its 7 public events) through the app, in process
  (Starlette's test client, as bench/public.py), and an auditor's proof of one event by position
  straight from the proof service, and a consistency proof from a random earlier size: p50/p99.
Target: an inclusion proof answers in under 20 ms at 1,000,000 events.
BENCH_PROOFS_EVENTS changes the log size (default 1,000,000); TRACKER_BENCH_POSTGRES_URL adds
PostgreSQL (bench/stores.py).
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from bench.projections import generate
from bench.stores import backends, fresh_store
from tracker.bootstrap import build_application, build_proofs, build_read_models
from tracker.settings import Settings
from web.app import create_app

REQUESTS = 200
TARGET_MS = 20.0


def hashing_rate(count: int = 300_000) -> float:
    """Leaf hashes per second: SHA-256 over 0x00 and a 130-byte leaf, nothing else."""
    data = b"\x00" + bytes(130)
    sha256 = hashlib.sha256
    started = time.perf_counter()
    for _ in range(count):
        sha256(data).digest()
    return count / (time.perf_counter() - started)


def timed(work, count: int = REQUESTS) -> list[float]:
    """Milliseconds of each of `count` calls, and last their mean CPU time (this process: the
    client and, in process, the app), which depends least on the other jobs of the machine."""
    times = []
    cpu = time.process_time()
    for n in range(count):
        started = time.perf_counter()
        work(n)
        times.append((time.perf_counter() - started) * 1000)
    times.append((time.process_time() - cpu) * 1000 / count)
    return times


def percentiles(times: list[float]) -> str:
    ordered, cpu = sorted(times[:-1]), times[-1]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, CPU {cpu:.2f} ms each"


def commitment_ids(app, count: int) -> list[str]:
    """Some commitments spread over the whole log (the first event of each is its proposal)."""
    found = [str(n.originator_id) for n in app.recorder.select_notifications(0, 100_000)
             if n.topic == "commitment.proposed"]
    last = app.recorder.select_notifications(max(1, (app.recorder.max_notification_id() or 1) - 2000),
                                             2000)
    found += [str(n.originator_id) for n in last if n.topic == "commitment.proposed"]
    return random.Random(7).sample(found, min(count, len(found)))


def measure(settings: Settings, events: int, label: str) -> list[str]:
    app = build_application(settings)
    try:
        started = time.perf_counter()
        total = generate(app, events)
        lines = [f"{label}: generated {total:,} events in {time.perf_counter() - started:.0f} s"]
        models = build_read_models(settings, app)
        try:
            started = time.perf_counter()
            models.catch_up()
            lines.append(f"{label}: every read model caught up in {time.perf_counter() - started:.0f} s")
            models.tree.reset()
            started = time.perf_counter()
            models.catch_up(["tree"])
            tree_s = time.perf_counter() - started
            bare = hashing_rate()
            lines += [f"{label}: bare hashing {bare:,.0f} leaf hashes/s; the tree view built "
                      f"alone, reading the log included, {total / tree_s:,.0f} leaves/s "
                      f"({tree_s:.1f} s), ratio {total / tree_s / bare:.3f}"]
            proofs = build_proofs(settings, models)
            proofs.current_head()
            size = models.tree.size()
            pick = random.Random(11)
            positions = [pick.randrange(1, total + 1) for _ in range(REQUESTS)]
            by_position = timed(lambda n: proofs.events_bundle([positions[n]]))
            firsts = [pick.randrange(1, size) for _ in range(REQUESTS)]
            consistency = timed(lambda n: proofs.consistency(firsts[n], size))
        finally:
            models.close()
        ids = commitment_ids(app, REQUESTS)
    finally:
        app.close()

    with TestClient(create_app(settings)) as client:
        client.get(f"/api/v1/public/commitments/{ids[0]}/proof")  # warm up (the head is signed)
        answers = []

        def ask(n: int) -> None:
            answers.append(client.get(f"/api/v1/public/commitments/{ids[n % len(ids)]}/proof"))

        public = timed(ask)
    assert all(a.status_code == 200 and a.json()["entries"] for a in answers)
    p50 = statistics.median(public[:-1])
    lines += [
        f"{label}: public inclusion proof of a commitment ({len(answers[0].json()['entries'])} "
        f"events) through the app: {percentiles(public)} (target < {TARGET_MS:.0f} ms"
        + ("" if p50 < TARGET_MS else ", MISSED") + ")",
        f"{label}: one event's proof by position (proof service): {percentiles(by_position)}",
        f"{label}: consistency proof to the size {size:,}: {percentiles(consistency)}",
    ]
    return lines


def run() -> list[str]:
    events = int(os.environ.get("BENCH_PROOFS_EVENTS", "1000000"))
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-proofs-") as directory:
        for backend in backends():
            with fresh_store(backend) as url:
                lines += measure(Settings(database_url=url, var_dir=Path(directory),
                                          signing_key_file=Path(directory) / "key.pem",
                                          secret_key="bench"), events, backend)
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
