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


def hold_the_lock(path: str, ready, release) -> None:
    """In a process of its own: hold the database's write lock until told to let it go."""
    from projections.database import write_lock

    with write_lock(path).held():
        ready.set()
        release.wait(30)


def test_the_lock_is_taken_without_waiting_only_when_no_thread_or_process_holds_it(tmp_path):
    """`WriteLock.held_if_free` (a command on the event loop, web.deps.command_hop): True when
    free, and re-entrant; False at once, holding nothing, while another thread or another
    process holds it."""
    import threading

    from projections.database import WriteLock

    path = str(tmp_path / "tracker.db")
    lock = WriteLock(path)
    with lock.held_if_free() as free:
        assert free
        with lock.held_if_free() as again, lock.held():  # (the command's own save)
            assert again

    taken, release = threading.Event(), threading.Event()

    def other_thread() -> None:
        with lock.held():
            taken.set()
            release.wait(30)

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert taken.wait(10)
    with lock.held_if_free() as free:
        assert not free
    release.set()
    thread.join(10)

    context = multiprocessing.get_context("fork")
    ready, release_process = context.Event(), context.Event()
    holder = context.Process(target=hold_the_lock, args=(path, ready, release_process))
    holder.start()
    try:
        assert ready.wait(30)
        started = time.monotonic()
        with lock.held_if_free() as free:
            assert not free
        assert time.monotonic() - started < 1  # it did not wait
    finally:
        release_process.set()
        holder.join(30)
    with lock.held_if_free() as free:
        assert free


@pytest.mark.slow
def test_a_command_waiting_for_another_process_s_write_does_not_stop_the_server(tmp_path):
    """SQLite: a command runs on the event loop only when the write lock is free. While another
    process holds it, the command waits in a worker thread and the server answers other
    requests meanwhile; once the other commits, the command is stored."""
    import threading

    import httpx

    from tests.browser_support import ServerProcess
    from tests.drill_support import bearer, drill_settings, seed

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    settings = drill_settings(url, tmp_path)
    seeded = seed(settings, commitments=1)
    commitment = seeded.commitments[0]
    with ServerProcess(url, tmp_path) as server:
        progress = f"{server.url}/api/v1/commitments/{commitment}/progress"
        police = bearer(seeded.tokens["police"])
        assert httpx.post(progress, json={"percent": 10}, headers=police).status_code == 200
        ready = multiprocessing.get_context("fork").Event()
        holder = multiprocessing.get_context("fork").Process(
            target=hold_a_write, args=(settings, ready, HOLD))
        holder.start()
        answers: list[httpx.Response] = []
        try:
            assert ready.wait(30)
            started = time.monotonic()
            command = threading.Thread(target=lambda: answers.append(httpx.post(
                progress, json={"percent": 20}, headers=police, timeout=30)))
            command.start()
            time.sleep(0.3)
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
            assert time.monotonic() - started < HOLD  # answered while the command waits
            assert not answers
            command.join(30)
        finally:
            holder.join(30)
        assert [a.status_code for a in answers] == [200], [a.text for a in answers]
        assert time.monotonic() - started > HOLD - 0.5  # it waited for the other's commit
        state = httpx.get(f"{server.url}/api/v1/commitments/{commitment}", headers=police).json()
        assert state["progress"] == 20
