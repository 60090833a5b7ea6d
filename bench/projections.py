"""Read models and ledger: how fast a full rebuild and a full verify go, against a bare read loop.

`run()` generates a log of real domain events (commitments proposed, endorsed, agreed, assigned,
reported on, completed and verified, saved many aggregates per transaction), then measures:
- bare: read the notifications in batches and decode each into its domain event, nothing else
  (before and after the rest: the better of the two);
- rebuild: every read model and the ledger built from scratch (`ReadModels.catch_up`: from
  100,000 events on, with a helper process taking half the views);
- verify: the ledger recomputed over the whole log and compared with the stored one;
- the tree view's share: the same rebuild without it and with it, alternating (target: it adds at
  most 20 %).
Each is reported in wall time and in CPU time (the share of the other jobs of a shared machine
shows in the first, hardly in the second). Set BENCH_PROJECTIONS_EVENTS to change the log size
(default 200,000) and BENCH_PROJECTIONS_ROUNDS the tree view's rounds (0: not measured); with
TRACKER_BENCH_POSTGRES_URL set it runs on PostgreSQL too (a schema of its own, see bench/stores.py).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.stores import backends, fresh_store
from domain.base import Meta
from domain.commitment import Commitment
from projections.ledger import verify
from tracker.application import SYSTEM
from tracker.bootstrap import build_application, build_read_models
from tracker.settings import Settings

EVENTS_PER_COMMITMENT = 8
SAVE_BATCH = 250
READ_BATCH = 500
ROUNDS = int(os.environ.get("BENCH_PROJECTIONS_ROUNDS", "2"))  # rebuilds with and without the tree


def generate(app, events: int, setup=None) -> int:
    """At least `events` events: one dialogue with three parties (then `setup(app)`, if given),
    then commitments in batches."""
    app.create_dialogue(SYSTEM, slug="bench", name="Bench", country="BF", locality="Saaba")
    parties = [app.add_party(SYSTEM, "bench", name=name, kind=kind).extra["party_id"]
               for name, kind in (("Police", "police"), ("Koglweogo", "vigilante"),
                                  ("Femmes", "women"))]
    if setup is not None:
        setup(app)
    dialogue_id = str(app.dialogue_by_slug("bench").id)
    police, vigilante, _ = parties
    meta = Meta(actor=None, occurred_on=date(2026, 1, 15), party=police)
    other = Meta(actor=None, occurred_on=date(2026, 1, 16), party=vigilante)
    count = app.recorder.max_notification_id() or 0
    n = 0
    while count < events:
        batch = []
        for _ in range(SAVE_BATCH):
            c = Commitment.propose(dialogue_id=dialogue_id, title=f"Commitment {n}",
                                   description="Night patrols on market days",
                                   required_parties=[police, vigilante], meta=meta,
                                   proposed_by=police, private_note="not for the public")
            c.endorse(party_id=police, meta=meta)
            c.endorse(party_id=vigilante, meta=other)
            c.agree(meta=meta)
            c.assign(party_id=police, due_date=date(2026, 6, 30), meta=meta)
            c.report_progress(percent=50, public=n % 2 == 0, meta=meta)
            c.complete(summary="Patrols run", party_id=police, meta=meta)
            c.verify(party_id=vigilante, meta=other)
            batch.append(c)
            n += 1
        app.save(*batch)
        count += SAVE_BATCH * EVENTS_PER_COMMITMENT
    return app.recorder.max_notification_id() or 0


def bare_read(app) -> int:
    """Read and decode every notification; nothing else (the yardstick)."""
    after, count = 0, 0
    to_domain_event = app.mapper.to_domain_event
    while notes := app.recorder.select_notifications(after, READ_BATCH,
                                                     inclusive_of_start=False):
        for note in notes:
            to_domain_event(note)
        count += len(notes)
        after = notes[-1].id
    return count


def timed(work) -> tuple[int, float]:
    count, seconds, _ = timed_cpu(work)
    return count, seconds


def timed_cpu(work) -> tuple[int, float, float]:
    """What `work()` returns, the wall seconds and the CPU seconds it took (this process's, and
    those of the processes it started and waited for: a rebuild's helper)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    count = work()
    return count, time.perf_counter() - start, cpu_seconds() - cpu


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def tree_share(models) -> dict[bool, tuple[float, float]]:
    """A rebuild of every read model with the tree view and without it, ROUNDS each, alternating
    so both see the same machine: the best (wall seconds, CPU seconds) of each, by with/without.
    CPU time depends least on the other jobs of a shared machine."""
    others = [name for name in models.views if name != "tree"]

    def rebuild(names: list[str]) -> tuple[float, float]:
        for name in names:
            models.views[name].reset()
        models.feed.clear()
        started, cpu = time.perf_counter(), cpu_seconds()
        models.catch_up(names)
        return time.perf_counter() - started, cpu_seconds() - cpu

    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(ROUNDS):
        times[False].append(rebuild(others))
        times[True].append(rebuild(list(models.views)))
    return {side: (min(t[0] for t in found), min(t[1] for t in found))
            for side, found in times.items()}


def measure(settings: Settings, events: int, label: str) -> list[str]:
    app = build_application(settings)
    try:
        _, seconds = timed(lambda: generate(app, events))
        total = app.recorder.max_notification_id() or 0
        lines = [f"{label}: generated {total} events in {seconds:.1f} s "
                 f"({total / seconds:,.0f} events/s)"]
        bare_count, bare_s, bare_cpu = timed_cpu(lambda: bare_read(app))
        bare_rate = bare_count / bare_s
        models = build_read_models(settings, app)
        try:
            built, build_s, build_cpu = timed_cpu(models.catch_up)
            share = tree_share(models) if ROUNDS else None
            verify_result = None

            def check() -> int:
                nonlocal verify_result
                verify_result = verify(app, models.ledger)
                return verify_result.checked

            checked, verify_s, verify_cpu = timed_cpu(check)
        finally:
            models.close()
        # The yardstick again, after: the better of the two (one side of a shared machine's
        # noise is then not the other's).
        _, again_s, again_cpu = timed_cpu(lambda: bare_read(app))
        bare_s, bare_cpu = min(bare_s, again_s), min(bare_cpu, again_cpu)
        bare_rate = bare_count / bare_s
        assert verify_result is not None and verify_result.ok, verify_result
        build_rate, verify_rate = built / build_s, checked / verify_s
        lines += [
            f"{label}: bare read+decode {bare_rate:,.0f} events/s ({bare_s:.1f} s, "
            f"{bare_cpu:.1f} s CPU)",
            f"{label}: rebuild all read models + ledger {build_rate:,.0f} events/s ({build_s:.1f} s"
            f", {build_cpu:.1f} s CPU), ratio {build_rate / bare_rate:.2f}, CPU "
            f"{bare_cpu / bare_count * built / build_cpu:.2f} (target >= 0.5)",
            f"{label}: verify ledger {verify_rate:,.0f} events/s ({verify_s:.1f} s, "
            f"{verify_cpu:.1f} s CPU), ratio {verify_rate / bare_rate:.2f}, CPU "
            f"{bare_cpu / bare_count * checked / verify_cpu:.2f} (target >= 0.7)",
        ]
        if share is not None:
            lines.append(
                f"{label}: rebuild without the tree view {share[False][0]:.1f} s "
                f"({share[False][1]:.1f} s CPU), with it {share[True][0]:.1f} s ({share[True][1]:.1f}"
                f" s CPU), best of {ROUNDS} each, alternating: ratio "
                f"{share[True][0] / share[False][0]:.2f}, CPU {share[True][1] / share[False][1]:.2f}"
                f" (target <= 1.20)")
        return lines
    finally:
        app.close()


def run() -> list[str]:
    """Report lines for `make bench` (bench/__main__.py prints them)."""
    events = int(os.environ.get("BENCH_PROJECTIONS_EVENTS", "200000"))
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-projections-") as directory:
        for backend in backends():
            with fresh_store(backend) as url:
                lines += measure(Settings(database_url=url, var_dir=Path(directory)), events,
                                 backend)
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
