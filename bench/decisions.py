"""A table of 1,000 decisions: previewed (a dry run), applied, applied again, and read by the views.

The table is what a committee secretary uploads after a big meeting: 1,000 rows, each a new
commitment the police propose, agree, assign to themselves and report progress on (5 events a
row, 5,000 in all, in one transaction). Measured on each backend: reading the CSV file, the
preview, the import that writes, the same file again (nothing to write: every row compared with
its record), and the read models catching up with the 5,000 events. The floor, measured in the
same run, is the same 5,000 events given one command at a time through the application service
for 100 rows (scaled to 1,000): the ratio says what entering them at once saves. The issue asks
for preview and apply under 10 s each. Run: `python -m bench decisions` (PostgreSQL too with
TRACKER_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import time
from datetime import date

from bench.stores import backends, fresh_store

ROWS = 1000
FLOOR_ROWS = 100


def table(rows: int, prefix: str = "B") -> bytes:
    from tracker.sheets import write_table

    return write_table([{"ref": f"{prefix}-{i:04}", "title": f"Patrol sector {i}",
                         "description": "Night patrols on market days",
                         "required_parties": "Police nationale",
                         "responsible_party": "Police nationale", "due_date": date(2017, 9, 30),
                         "progress": 20, "public": True} for i in range(rows)], "csv")


def timed(call):  # noqa: ANN001, ANN202
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def run() -> list[str]:
    from tests.factories import make_world
    from tracker.bootstrap import build_application, build_read_models
    from tracker.commands import ImportDecisions
    from tracker.settings import Settings
    from tracker.sheets import read_table

    lines = []
    for backend in backends():
        with fresh_store(backend) as url:
            app = build_application(Settings(database_url=url, secret_key="bench"))
            views = build_read_models(Settings(database_url=url, secret_key="bench"), app)
            try:
                world = make_world(app)
                police = world.members["police"]
                meeting = app.record_meeting(police, world.slug, held_on=date(2017, 3, 12),
                                             title="Big session", attendance={}).extra[
                    "meeting_id"]
                command = ImportDecisions(meeting_id=meeting)
                data = table(ROWS)
                rows, read = timed(lambda: read_table(data))  # noqa: B023
                preview, dry = timed(lambda: app.import_decisions(  # noqa: B023
                    police, world.slug, command, rows, dry_run=True))  # noqa: B023
                applied, wet = timed(lambda: app.import_decisions(  # noqa: B023
                    police, world.slug, command, rows))  # noqa: B023
                again, same = timed(lambda: app.import_decisions(  # noqa: B023
                    police, world.slug, command, rows))  # noqa: B023
                _, caught = timed(views.catch_up)
                assert preview.created == applied.created == again.unchanged == ROWS
                floor = one_by_one(app, world, FLOOR_ROWS) * ROWS / FLOOR_ROWS
            finally:
                views.close()
                app.close()
        lines.append(f"{backend}: {ROWS} rows ({ROWS * 5} events): read CSV {read:.2f} s, "
                     f"preview {dry:.2f} s, apply {wet:.2f} s, same file again {same:.2f} s, "
                     f"read models catch up {caught:.2f} s; one command at a time "
                     f"{floor:.2f} s (from {FLOOR_ROWS} rows), ratio apply/one-by-one "
                     f"{wet / floor:.2f}")
    return lines


def one_by_one(app, world, rows: int) -> float:  # noqa: ANN001
    """The same rows as single commands (propose, agree, assign, progress), each its own save."""
    police, party = world.members["police"], world.parties["police"]
    started = time.perf_counter()
    for i in range(rows):
        cid = app.propose_commitment(police, world.slug, title=f"Patrol sector {i}",
                                     description="Night patrols on market days",
                                     required_parties=[party], occurred_on=date(2017, 3, 12)).id
        app.commitment_action(police, cid, "agree", occurred_on=date(2017, 3, 12))
        app.commitment_action(police, cid, "assign", {"party_id": party,
                                                      "due_date": date(2017, 9, 30)},
                              occurred_on=date(2017, 3, 12))
        app.commitment_action(police, cid, "progress", {"percent": 20},
                              occurred_on=date(2017, 3, 12))
    return time.perf_counter() - started
