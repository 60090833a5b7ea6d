"""Processes that start at once on one new store (the web workers, `tracker projections follow`,
`tracker notify`, as a process manager starts them) all start: the event store's tables are
created by each of them, and PostgreSQL refuses all but one of simultaneous DDL ("tuple
concurrently updated"), which the losers try again."""

from __future__ import annotations

import multiprocessing

import pytest

from tracker.bootstrap import build_application

PROCESSES = 6


def start(settings, started) -> None:
    try:
        build_application(settings).close()
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
