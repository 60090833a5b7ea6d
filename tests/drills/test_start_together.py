"""Processes that start at once on one new store (the web workers, `tracker projections follow`,
`tracker notify`, as a process manager starts them) all start: each creates the event store's
tables and the tracker's own (read models, sessions, idempotency keys, photos, subscriptions, the
sealing check). PostgreSQL refuses all but one of simultaneous DDL on one name ("tuple
concurrently updated", or a duplicate key in pg_type): the library's tables are tried again, the
tracker's are created one process after another (`Store.schema_change`)."""

from __future__ import annotations

import multiprocessing

import pytest

from tracker.bootstrap import (
    build_application,
    build_idempotency,
    build_photos,
    build_read_models,
    build_sessions,
    build_subscriptions,
)

PROCESSES = 6


def start(settings, started) -> None:
    try:
        app = build_application(settings)
        read_models = build_read_models(settings, app)
        for build in (build_sessions, build_idempotency, build_photos, build_subscriptions):
            build(settings, read_models)
        read_models.close()
        app.close()
        started.put("started")
    except Exception as error:  # (said in the test's failure)
        started.put(repr(error)[:300])


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(3))
def test_processes_starting_at_once_on_a_new_store_all_start(settings, attempt):
    settings.ensure_binding_keys()  # (as `tracker serve` does before anything else)
    context = multiprocessing.get_context("fork")
    started = context.Queue()
    processes = [context.Process(target=start, args=(settings, started))
                 for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    answers = [started.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
    assert answers == ["started"] * PROCESSES
