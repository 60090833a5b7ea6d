"""The outbox's cost: on a rebuild of every read model, and on the command path.

1. Rebuild: a log of commitments (bench.projections' generator) in a dialogue whose parties have
   two members each and one watcher, so most events write notices; every read model (the ledger
   and the tree too, as a store is built afresh) rebuilt without the outbox view and with it,
   alternating, best of ROUNDS.
2. Command path: proposals through the application service, each followed by the wait for the
   read models a route does (read your writes), on two stores set up alike, one whose read models
   have the outbox and one without, alternating blocks. Each proposal tells the other parties'
   members (the outbox's busiest case).
Target: the outbox adds at most 10 % to each (ratios <= 1.10). BENCH_OUTBOX_EVENTS sets the log
size (default 40,000); TRACKER_BENCH_POSTGRES_URL adds PostgreSQL (bench/stores.py).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from bench.projections import cpu_seconds, generate
from bench.stores import backends, fresh_store
from projections.readmodels import ReadModels
from projections.store import open_store
from tracker.application import SYSTEM
from tracker.bootstrap import build_application, build_read_models
from tracker.settings import Settings

ROUNDS = 5  # best of: a rebuild of 40,000 events takes about 2 s, and varies by a tenth
COMMANDS = 200  # per side
BLOCK = 25
PASSWORD = "bench-password-123"


def members(app, slug: str) -> None:
    """Two members per party, and one account watching the dialogue."""
    dialogue = app.dialogue_by_slug(slug)
    for party in dialogue.parties:
        for n in range(2):
            app.add_account(SYSTEM, name=f"{slug}-{party['kind']}-{n}", role="member",
                            password=PASSWORD, email=f"{party['kind']}{n}@example.org",
                            memberships=[(slug, party["id"])])
    app.add_account(SYSTEM, name=f"{slug}-watcher", role="auditor", password=PASSWORD,
                    email="watcher@example.org")
    watcher = app.authenticate(f"{slug}-watcher", PASSWORD)
    app.watch(watcher, str(dialogue.id))


def rebuild_share(models: ReadModels) -> dict[bool, tuple[float, float]]:
    kept = list(models.views)  # every view, the ledger and the tree too: a store built afresh
    without = [name for name in kept if name != "outbox"]

    def rebuild(names: list[str]) -> tuple[float, float]:
        for name in names:
            models.views[name].reset()
        models.feed.clear()
        started, cpu = time.perf_counter(), cpu_seconds()
        models.catch_up(names)
        return time.perf_counter() - started, cpu_seconds() - cpu

    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(ROUNDS):
        times[False].append(rebuild(without))
        times[True].append(rebuild(kept))
    return {side: (min(t[0] for t in found), min(t[1] for t in found))
            for side, found in times.items()}


def command_path(settings_of: dict[bool, Settings]) -> dict[bool, tuple[float, float]]:
    """Seconds per proposal (with its wait for the read models), wall and CPU, with and without
    the outbox (CPU time depends least on the other jobs of a shared machine)."""
    sides = {}
    for with_outbox, settings in settings_of.items():
        app = build_application(settings)
        app.create_dialogue(SYSTEM, slug="cmd", name="Commands", country="BF", locality="Saaba")
        parties = [app.add_party(SYSTEM, "cmd", name=name, kind=kind).extra["party_id"]
                   for name, kind in (("Police", "police"), ("Koglweogo", "vigilante"),
                                      ("Femmes", "women"))]
        members(app, "cmd")
        models = build_read_models(settings, app) if with_outbox else \
            ReadModels(app, open_store(settings.database_url))
        models.catch_up()
        proposer = app.authenticate("cmd-police-0", PASSWORD)
        sides[with_outbox] = (app, models, proposer, parties)
    spent = {True: 0.0, False: 0.0}
    cpu = {True: 0.0, False: 0.0}
    for block in range(COMMANDS // BLOCK):
        for with_outbox in ((True, False) if block % 2 else (False, True)):
            app, models, proposer, parties = sides[with_outbox]
            started, cpu_started = time.perf_counter(), cpu_seconds()
            for n in range(BLOCK):
                result = app.propose_commitment(proposer, "cmd", title=f"Commitment {block}-{n}",
                                                required_parties=parties)
                models.wait_for(result.position)
            spent[with_outbox] += time.perf_counter() - started
            cpu[with_outbox] += cpu_seconds() - cpu_started
    for app, models, _, _ in sides.values():
        models.close()
        app.close()
    return {side: (spent[side] / COMMANDS, cpu[side] / COMMANDS) for side in spent}


def measure(backend: str, directory: Path, events: int) -> list[str]:
    lines = []
    with fresh_store(backend) as url:
        settings = Settings(database_url=url, var_dir=directory)
        app = build_application(settings)
        try:
            generate(app, events, setup=lambda app: members(app, "bench"))
            total = app.recorder.max_notification_id() or 0
            models = build_read_models(settings, app)
            try:
                models.catch_up()
                notices = sum(len(json.loads(row["told"])) for row in
                              models.store.fetchall("SELECT told FROM ob_events"))
                share = rebuild_share(models)
            finally:
                models.close()
        finally:
            app.close()
        lines.append(
            f"{backend}: rebuild of {total:,} events ({notices:,} notices) without the outbox "
            f"{share[False][0]:.1f} s ({share[False][1]:.1f} s CPU), with it {share[True][0]:.1f} s "
            f"({share[True][1]:.1f} s CPU), best of {ROUNDS}: ratio "
            f"{share[True][0] / share[False][0]:.2f}, CPU {share[True][1] / share[False][1]:.2f} "
            "(target <= 1.10)")
    with fresh_store(backend) as url_with, fresh_store(backend) as url_without:
        per = command_path({True: Settings(database_url=url_with, var_dir=directory),
                            False: Settings(database_url=url_without, var_dir=directory)})
    (wall, cpu), (wall_out, cpu_out) = per[False], per[True]
    lines.append(f"{backend}: a proposal and its read-your-writes wait without the outbox "
                 f"{wall * 1000:.1f} ms ({cpu * 1000:.1f} ms CPU), with it {wall_out * 1000:.1f} ms "
                 f"({cpu_out * 1000:.1f} ms CPU), {COMMANDS} each in alternating blocks: ratio "
                 f"{wall_out / wall:.2f}, CPU {cpu_out / cpu:.2f} (target <= 1.10)")
    return lines


def run() -> list[str]:
    events = int(os.environ.get("BENCH_OUTBOX_EVENTS", "40000"))
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as directory:
        for backend in backends():
            lines += measure(backend, Path(directory), events)
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
