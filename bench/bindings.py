"""What the bindings cost (projections.binding): the command path and `verify`.

1. Progress reports through the application service on a store whose events are bound, against
   the same service on a store whose mapper is the library's own (no binding), in alternating
   blocks in one run, so both see the same load, each store made first once. Target: bound at
   most 1.10 times the time.
2. `verify` (every row read raw, out-of-place and binding checks, the hash chain, the comparison
   with the ledger) over a log of bench.core.LONG_HISTORY events, against the bare decode loop: the same log
   read in batches and decoded by the library's mapper, nothing else. Target: verify at least
   0.7 times the loop's speed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent

from bench.core import long_history, settings_for, timed
from bench.stores import backends, fresh_store
from projections.binding import inner_state
from projections.database import event_store_env
from projections.ledger import verify
from tests.factories import advance, make_world, propose
from tracker.application import Tracker
from tracker.bootstrap import build_application, build_read_models

COMMANDS = 500
BLOCK = 25
AGGREGATES = 10
READ_BATCH = 2000


class UnboundTracker(Tracker):
    """The tracker with the library's own mapper: nothing bound, nothing checked."""

    def construct_mapper(self) -> Mapper[UUID]:
        return Application.construct_mapper(self)


def commands_on(app: Tracker) -> Callable[[int], object]:
    world = make_world(app)
    ids = []
    for number in range(AGGREGATES):
        commitment = propose(app, world, title=f"Commitment {number}")
        advance(app, world, commitment.id, "in_progress")
        ids.append(commitment.id)
    police = world.members["police"]
    return lambda n: app.commitment_action(police, ids[n % AGGREGATES], "progress",
                                           {"percent": n % 101})


def command_times(bound_url: str, unbound_url: str, bound_first: bool) -> dict[str, float]:
    """Seconds spent by each side, and the median of the ratios of neighbouring blocks (a load
    spike on the shared machine then spoils one pair, not the figure)."""
    made: dict[str, Tracker] = {}
    for side in (("bound", "unbound") if bound_first else ("unbound", "bound")):
        made[side] = (build_application(settings_for(bound_url)) if side == "bound"
                      else UnboundTracker(env=event_store_env(unbound_url)))
    spent = {"bound": 0.0, "unbound": 0.0, "bound_cpu": 0.0, "unbound_cpu": 0.0}
    ratios = []
    try:
        sides = [(side, commands_on(app)) for side, app in made.items()]
        for block in range(0, COMMANDS, BLOCK):
            pair = {}
            for side, command in (sides if block // BLOCK % 2 else sides[::-1]):
                started, started_cpu = time.perf_counter(), time.process_time()
                for number in range(block, block + BLOCK):
                    command(number)
                pair[side] = time.perf_counter() - started
                spent[side] += pair[side]
                spent[f"{side}_cpu"] += time.process_time() - started_cpu
            ratios.append(pair["bound"] / pair["unbound"])
        spent["ratio"] = statistics.median(ratios)
        return spent
    finally:
        for app in made.values():
            app.close()


def both_orders(backend: str) -> dict[str, float]:
    """`command_times` with each store made first once (whichever is made first runs a few
    percent slower here, bound or not), COMMANDS commands each time; ratios as geometric means."""
    runs = []
    for bound_first in (True, False):
        with fresh_store(backend) as bound_url, fresh_store(backend) as unbound_url:
            runs.append(command_times(bound_url, unbound_url, bound_first))
    total = {key: sum(run[key] for run in runs) for key in runs[0] if key != "ratio"}
    total["ratio"] = statistics.geometric_mean(run["ratio"] for run in runs)
    total["commands"] = COMMANDS * len(runs)
    return total


def decode_loop(app: Tracker) -> int:
    """The bare loop: read the log in batches, decode every event with the library's mapper."""
    mapper = Mapper(app.mapper.transcoder, compressor=app.mapper.compressor,
                    cipher=app.mapper.cipher)
    count, after = 0, 0
    while batch := app.recorder.select_notifications(after, READ_BATCH, inclusive_of_start=False):
        for n in batch:
            mapper.to_domain_event(StoredEvent(n.originator_id, n.originator_version, n.topic,
                                               inner_state(n.state)))
        count += len(batch)
        after = batch[-1].id
    return count


def verify_times(url: str) -> dict[str, float]:
    settings = settings_for(url)
    app = build_application(settings)
    models = build_read_models(settings, app)
    try:
        long_history(app)
        models.catch_up(["ledger"])
        events = decode_loop(app)
        assert verify(app, models.ledger).ok
        return {"events": events, "verify": timed(lambda: verify(app, models.ledger), 3),
                "decode": timed(lambda: decode_loop(app), 3)}
    finally:
        models.close()
        app.close()


def run() -> list[str]:
    lines = []
    for backend in backends():
        spent = both_orders(backend)
        commands = spent["commands"]
        with fresh_store(backend) as url:
            checks = verify_times(url)
        cost = spent["ratio"]
        speed = checks["decode"] / checks["verify"]
        lines += [
            f"[{backend}] {commands:.0f} progress reports a side, alternating blocks of {BLOCK}",
            f"  bound (HMAC per event)  {spent['bound'] / commands * 1000:8.3f} ms each  "
            f"({spent['bound_cpu'] / commands * 1000:.3f} ms CPU)",
            f"  unbound                 {spent['unbound'] / commands * 1000:8.3f} ms each  "
            f"({spent['unbound_cpu'] / commands * 1000:.3f} ms CPU)",
            f"  ratio                   {cost:8.3f}  (median of neighbouring blocks; "
            f"totals {spent['bound'] / spent['unbound']:.3f}, CPU "
            f"{spent['bound_cpu'] / spent['unbound_cpu']:.3f}; target at most 1.10)"
            + ("" if cost <= 1.10 else "  ABOVE TARGET"),
            f"[{backend}] a log of {checks['events']:,} events",
            f"  verify                  {checks['events'] / checks['verify']:8.0f} events/s",
            f"  bare decode loop        {checks['events'] / checks['decode']:8.0f} events/s",
            f"  ratio                   {speed:8.2f}  (target at least 0.7)"
            + ("" if speed >= 0.7 else "  BELOW TARGET"),
        ]
    return lines
