"""The core's costs: commands per second, loading a long history, and reconstructing the past.

1. Commands through the application service (`commitment_action(..., "progress")`: authorisation,
   load, rule check, save, snapshot every 50 events) against a bare eventsourcing `Application` whose
   trivial aggregate does load, change, save with events of a similar size and the same snapshot
   interval. Both write one transaction per command.
2. Loading a commitment with 10,000 events: with snapshots (the tracker's interval of 50) and without
   (the same store read by an application with snapshotting off, so every event is replayed).
3. Reconstructing that commitment as it was at version 100: the repository (which starts from the
   nearest snapshot) and the application's `state_as_of` (which replays from the first event).

The 10,000 events are written by calling the domain command on one loaded commitment and saving in
chunks of 500 (the service would take a transaction per event); they are the same events the service
would record.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.stores import backends, fresh_store
from domain.base import Meta
from projections.database import event_store_env
from tests.factories import advance, make_world, propose
from tracker.application import BINDING_KEYS, Tracker
from tracker.bootstrap import build_application
from tracker.settings import Settings

COMMANDS = 2000
BLOCK = 100
AGGREGATES = 20
LONG_HISTORY = 10_000
PAST_VERSION = 100
BINDING_KEYS_TEXT = "bench:" + "k" * 32  # one fixed key: both applications read the same events


class Counter(Aggregate):
    """The bare baseline's aggregate: one field, one event with a payload like a progress report."""

    @event("Started")
    def __init__(self, title: str) -> None:
        self.title = title
        self.percent = 0

    @event("Reported")
    def report(self, percent: int, public: bool, meta: dict[str, Any]) -> None:
        self.percent = percent


class Bare(Application[UUID]):
    name = "bare"
    snapshotting_intervals: ClassVar = {Counter: 50}


class TrackerWithoutSnapshots(Tracker):
    """The tracker reading the same store, but replaying every event (no snapshot store)."""

    name = "tracker"
    snapshotting_intervals: ClassVar = {}


def timed(work: Callable[[], object], repeat: int) -> float:
    """Median seconds of `repeat` runs of `work`."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, secret_key="bench", binding_keys=BINDING_KEYS_TEXT)


def stored_size(app: Application[UUID], aggregate_id: UUID) -> int:
    return len(app.recorder.select_events(aggregate_id, desc=True, limit=1)[0].state)


# --- 1. commands per second -----------------------------------------------------------------------


def tracker_setup(url: str) -> tuple[Tracker, Callable[[int], object], Callable[[], int]]:
    """The application service with AGGREGATES commitments in progress; one command per call."""
    app = build_application(settings_for(url))
    world = make_world(app)
    ids = []
    for number in range(AGGREGATES):
        commitment = propose(app, world, title=f"Commitment {number}")
        advance(app, world, commitment.id, "in_progress")
        ids.append(commitment.id)
    police = world.members["police"]

    def command(number: int) -> object:
        # (today: an event may not be dated before the commitment's previous one)
        return app.commitment_action(police, ids[number % AGGREGATES], "progress",
                                     {"percent": number % 101})

    return app, command, lambda: stored_size(app, UUID(ids[0]))


def bare_setup(url: str) -> tuple[Bare, Callable[[int], object], Callable[[], int]]:
    """A bare application with AGGREGATES counters; one load-change-save per call."""
    app = Bare(env=event_store_env(url))
    ids = []
    for number in range(AGGREGATES):
        counter = Counter(title=f"Commitment {number}")
        app.save(counter)
        ids.append(counter.id)
    meta = {"actor": str(ids[0]), "occurred_on": "2017-01-01", "party": str(ids[1]), "note": None}

    def command(number: int) -> object:
        counter = app.repository.get(ids[number % AGGREGATES])
        counter.report(percent=number % 101, public=True, meta=meta)
        return app.save(counter)

    return app, command, lambda: stored_size(app, ids[0])


def command_rates(tracker_url: str, bare_url: str) -> dict[str, float]:
    """Both kinds of command in alternating blocks, so both see the same load on a shared machine."""
    tracker, tracker_command, tracker_size = tracker_setup(tracker_url)
    bare, bare_command, bare_size = bare_setup(bare_url)
    spent = {"tracker": 0.0, "bare": 0.0, "tracker_cpu": 0.0, "bare_cpu": 0.0}
    try:
        for block in range(0, COMMANDS, BLOCK):
            for side, command in (("tracker", tracker_command), ("bare", bare_command)):
                started, started_cpu = time.perf_counter(), time.process_time()
                for number in range(block, block + BLOCK):
                    command(number)
                spent[side] += time.perf_counter() - started
                spent[f"{side}_cpu"] += time.process_time() - started_cpu
        return {"tracker": COMMANDS / spent["tracker"], "bare": COMMANDS / spent["bare"],
                "tracker_cpu_ms": spent["tracker_cpu"] / COMMANDS * 1000,
                "bare_cpu_ms": spent["bare_cpu"] / COMMANDS * 1000,
                "tracker_size": tracker_size(), "bare_size": bare_size()}
    finally:
        bare.close()
        tracker.close()


# --- 2 and 3. a long history ----------------------------------------------------------------------


def long_history(app: Tracker) -> str:
    world = make_world(app)
    commitment_id = propose(app, world, title="A commitment with a long history").id
    advance(app, world, commitment_id, "in_progress")
    commitment = app.commitment(commitment_id)
    meta = Meta(actor=world.members["police"].account_id, occurred_on=date(2017, 1, 1),
                party=world.parties["police"])
    while commitment.version < LONG_HISTORY:
        for _ in range(min(500, LONG_HISTORY - commitment.version)):
            commitment.report_progress(percent=commitment.version % 101, meta=meta)
        app.save(commitment)
    return commitment_id


def history_loads(url: str) -> dict[str, float]:
    """Loads timed with the library's aggregate cache off (`Tracker.env` turns it on: a load would
    then be a fast-forward from the kept aggregate, measuring neither snapshots nor replays)."""
    app = build_application(settings_for(url))
    # (the same keys: they read the events the service bound)
    env = {**event_store_env(url), BINDING_KEYS: BINDING_KEYS_TEXT,
           Tracker.AGGREGATE_CACHE_MAXSIZE: ""}
    snapshots, plain = Tracker(env=env), TrackerWithoutSnapshots(env=env)
    try:
        commitment_id = long_history(app)
        assert plain.snapshots is None and snapshots.repository.cache is None
        uid = UUID(commitment_id)
        assert (snapshots.repository.get(uid).version == plain.repository.get(uid).version
                == LONG_HISTORY)
        return {
            "with": timed(lambda: snapshots.repository.get(uid), 20),
            "without": timed(lambda: plain.repository.get(uid), 3),
            "past_repository": timed(lambda: snapshots.repository.get(uid, version=PAST_VERSION),
                                     20),
            "past_plain": timed(lambda: plain.repository.get(uid, version=PAST_VERSION), 20),
            "past_state_as_of": timed(lambda: snapshots.state_as_of(commitment_id,
                                                                    version=PAST_VERSION), 3),
        }
    finally:
        plain.close()
        snapshots.close()
        app.close()


# --- the report -----------------------------------------------------------------------------------


def run() -> list[str]:
    lines = []
    for backend in backends():
        with fresh_store(backend) as tracker_url, fresh_store(backend) as bare_url:
            rates = command_rates(tracker_url, bare_url)
        with fresh_store(backend) as url:
            loads = history_loads(url)
        tracker_rate, bare_rate = rates["tracker"], rates["bare"]
        tracker_size, bare_size = rates["tracker_size"], rates["bare_size"]
        ratio = tracker_rate / bare_rate
        lines += [
            f"[{backend}] commands: {COMMANDS} progress reports over {AGGREGATES} commitments",
            f"  application service  {tracker_rate:8.0f} commands/s  "
            f"({rates['tracker_cpu_ms']:.2f} ms CPU each, event {tracker_size} bytes)",
            f"  bare eventsourcing   {bare_rate:8.0f} commands/s  "
            f"({rates['bare_cpu_ms']:.2f} ms CPU each, event {bare_size} bytes)",
            f"  ratio                {ratio:8.2f}  (target at least 0.6)"
            + ("" if ratio >= 0.6 else "  BELOW TARGET"),
            f"[{backend}] loading a commitment with {LONG_HISTORY:,} events",
            f"  with snapshots       {loads['with'] * 1000:8.2f} ms",
            f"  without snapshots    {loads['without'] * 1000:8.2f} ms",
            f"  ratio                {loads['without'] / loads['with']:8.0f} x faster with snapshots",
            f"[{backend}] the same commitment as of version {PAST_VERSION}",
            f"  repository.get(version=)           {loads['past_repository'] * 1000:8.2f} ms"
            "  (from the snapshot at that version)",
            f"  repository.get(version=), no snapshots {loads['past_plain'] * 1000:8.2f} ms",
            f"  Tracker.state_as_of(version=)      {loads['past_state_as_of'] * 1000:8.2f} ms",
        ]
    return lines
