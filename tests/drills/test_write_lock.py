"""Writers wait on a lock, not on a sleep-and-retry loop (`projections.database.WriteLock`).

Another process holds a write transaction for longer than the writer's SQLite busy timeout: on a
SQLite file the writer queues on the file lock beside the database and writes once the other
commits (SQLite's busy handler alone would give up with "database is locked"); on PostgreSQL the
save blocks on the events table's lock, with no lock timeout, and then writes.
"""

from __future__ import annotations

import multiprocessing
import time

import pytest

from projections.database import event_store_env
from tracker.application import BINDING_KEYS, SYSTEM, Tracker
from tracker.bootstrap import build_application

HOLD = 2.5  # seconds the other process keeps its write transaction open
BUSY_TIMEOUT = "1"  # seconds SQLite's busy handler retries before "database is locked"


def hold_a_write(settings, ready, release_after: float) -> None:
    """In a process of its own: begin a write transaction, write, keep it open, then commit."""
    app = build_application(settings)
    try:
        if settings.database_url.startswith("sqlite"):
            with app.factory.datastore.transaction(commit=True) as cursor:
                cursor.execute("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
                cursor.execute("INSERT INTO held VALUES (1)")
                ready.set()
                time.sleep(release_after)
        else:
            with app.factory.datastore.transaction(commit=True) as cursor:
                schema = app.factory.datastore.schema
                table = f"{schema}.{app.recorder.events_table_name}" if schema else \
                    app.recorder.events_table_name
                cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                ready.set()
                time.sleep(release_after)
    finally:
        app.close()


@pytest.mark.slow
def test_a_writer_waits_for_another_process_s_write_and_then_writes(settings):
    env = {**event_store_env(settings.database_url), BINDING_KEYS: settings.ensure_binding_keys(),
           "SQLITE_LOCK_TIMEOUT": BUSY_TIMEOUT}
    writer = Tracker(env=env)
    try:
        writer.create_dialogue(SYSTEM, slug="before", name="Before", country="BF",
                               locality="Saaba", description="")
        ready = multiprocessing.get_context("fork").Event()
        holder = multiprocessing.get_context("fork").Process(
            target=hold_a_write, args=(settings, ready, HOLD))
        holder.start()
        try:
            assert ready.wait(30), "the other process did not begin its write"
            started = time.monotonic()
            writer.create_dialogue(SYSTEM, slug="after", name="After", country="BF",
                                   locality="Saaba", description="")
            waited = time.monotonic() - started
        finally:
            holder.join(30)
        assert holder.exitcode == 0
        # It waited for the other's commit (longer than the busy timeout), then wrote.
        assert waited > float(BUSY_TIMEOUT) + 0.5
        assert writer.dialogue_by_slug("after").name == "After"
    finally:
        writer.close()
