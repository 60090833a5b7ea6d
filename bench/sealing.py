"""Encryption at rest: what TRACKER_ENCRYPTION_KEY costs the read side, as ratios from one run.

Two stores with the same log of real domain events (bench.projections.generate: one dialogue,
commitments through their whole lifecycle), one without a key and one with it (events encrypted by
the library, private read-model text sealed by projections.sealing). Measured, alternating between
the two so both see the same machine:
- rebuild: every read model but the ledger and the tree, replayed from the log;
- workspace search: one page of the dialogue's commitments matching a text (`q`): SQL `LIKE` on the
  plain store, the opened rows searched in the process on the sealed one;
- workspace filter: one page of the dialogue's commitments by status (SQL on both; only the page's
  rows are opened).
Set BENCH_SEALING_EVENTS to change the log size (default 16,000 events: 2,000 commitments in one
dialogue); with TRACKER_BENCH_POSTGRES_URL set it runs on PostgreSQL too.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from eventsourcing.cryptography import AESCipher

from bench.projections import generate
from bench.stores import backends, fresh_store
from tracker.bootstrap import build_application, build_read_models
from tracker.settings import Settings

ROUNDS = 3  # rebuilds of each store
QUERIES = 20  # queries per block
BLOCKS = 5
TODAY = date(2026, 6, 1)


def per_call(call: Callable[[], object], times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        call()
    return (time.perf_counter() - started) / times


def rebuild(models) -> float:
    started = time.perf_counter()
    models.rebuild()
    return time.perf_counter() - started


def measure(backend: str, events: int, directory: Path) -> list[str]:
    key = AESCipher.create_key(32)
    with fresh_store(backend) as plain_url, fresh_store(backend) as sealed_url:
        sides = {}
        for label, url, secret in (("plain", plain_url, ""), ("sealed", sealed_url, key)):
            settings = Settings(database_url=url, var_dir=directory / label, encryption_key=secret)
            app = build_application(settings)
            generate(app, events)
            models = build_read_models(settings, app)
            models.catch_up()
            sides[label] = (app, models, str(app.dialogue_by_slug("bench").id))
        try:
            rebuilds: dict[str, list[float]] = {"plain": [], "sealed": []}
            search: dict[str, list[float]] = {"plain": [], "sealed": []}
            status: dict[str, list[float]] = {"plain": [], "sealed": []}
            for _ in range(ROUNDS):
                for label, (_, models, _) in sides.items():
                    rebuilds[label].append(rebuild(models))
            for _ in range(BLOCKS):
                for label, (_, models, dialogue) in sides.items():
                    rows, total = models.commitments(dialogue, today=TODAY, q="Commitment 12")
                    assert rows and total > 1, (label, total)
                    search[label].append(per_call(lambda m=models, d=dialogue: m.commitments(
                        d, today=TODAY, q="commitment 12"), QUERIES))
                    status[label].append(per_call(lambda m=models, d=dialogue: m.commitments(
                        d, today=TODAY, status="verified"), QUERIES))
            count = sides["plain"][0].recorder.max_notification_id() or 0
        finally:
            for app, models, _ in sides.values():
                models.close()
                app.close()
    best = {label: min(found) for label, found in rebuilds.items()}
    q = {label: statistics.median(found) for label, found in search.items()}
    s = {label: statistics.median(found) for label, found in status.items()}
    return [
        f"{backend}: rebuild of the read models over {count} events: without the key "
        f"{best['plain']:.2f} s, with it {best['sealed']:.2f} s (best of {ROUNDS}, alternating): "
        f"ratio {best['sealed'] / best['plain']:.2f}",
        f"{backend}: workspace text search (q, one page of 50 of {count // 8} commitments): "
        f"without {q['plain'] * 1e3:.1f} ms, with {q['sealed'] * 1e3:.1f} ms "
        f"(medians of {BLOCKS} alternating blocks of {QUERIES}): ratio {q['sealed'] / q['plain']:.2f}",
        f"{backend}: workspace status filter (one page of 50): without {s['plain'] * 1e3:.1f} ms, "
        f"with {s['sealed'] * 1e3:.1f} ms: ratio {s['sealed'] / s['plain']:.2f}",
    ]


def run() -> list[str]:
    """Report lines for `make bench` (bench/__main__.py prints them)."""
    events = int(os.environ.get("BENCH_SEALING_EVENTS", "16000"))
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-sealing-") as directory:
        for backend in backends():
            lines += measure(backend, events, Path(directory))
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
