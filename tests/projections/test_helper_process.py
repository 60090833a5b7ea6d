"""A rebuild of a long log shares its views with a helper process (`tracker.bootstrap.helper_process`):
the same read models as a rebuild in one process, a refused event refused there too, and a helper
that fails named in one error. Real processes on the real stores; the threshold lowered so that a
short log counts as long."""

from __future__ import annotations

import pytest

from projections.binding import UnboundEvent
from projections.runner import HELPED
from tests.factories import advance, make_world, propose
from tests.projection_helpers import Tamper, dump
from tests.projections.test_bindings import forged_verification, insert_row
from tracker.bootstrap import build_read_models


@pytest.fixture
def models(settings, tracker):
    read_models = build_read_models(settings, tracker)
    read_models.parallel_from = 1
    try:
        yield read_models
    finally:
        read_models.close()


@pytest.fixture
def log(tracker):
    """Commitments in every state the views tell apart, and a case: every view has rows."""
    world = make_world(tracker)
    ids = {}
    for state in ("proposed", "agreed", "in_progress", "completed", "verified"):
        commitment = propose(tracker, world, title=f"Joint patrols, {state}")
        if state != "proposed":
            advance(tracker, world, commitment.id, state)
        ids[state] = commitment.id
    return world, ids


def rebuild_everything(models) -> None:
    for view in models.views.values():
        view.reset()
    models.feed.clear()


def test_a_rebuild_with_a_helper_gives_the_read_models_of_one_process(models, log, tracker):
    head = tracker.recorder.max_notification_id()
    rebuild_everything(models)
    assert models.catch_up() == head
    assert models.helped == head, "the helper process replayed the whole log into its views"
    assert set(models.positions().values()) == {head}
    shared = dump(models)

    rebuild_everything(models)
    models.helper, models.helped = None, 0
    assert models.catch_up() == head
    assert models.helped == 0
    assert dump(models) == shared
    assert all(shared[table] for table in ("rm_commitments", "rm_timeline", "pub_commitments")), \
        "the views compared are not empty"


def test_a_rebuild_of_a_few_views_or_a_short_log_stays_in_one_process(models, log, tracker):
    head = tracker.recorder.max_notification_id()
    rebuild_everything(models)
    models.parallel_from = head + 1  # (the log is shorter than that)
    models.catch_up()
    assert models.helped == 0
    models.parallel_from = 1
    for names in (sorted(HELPED), ["timeline", "public"]):  # (the helper's alone, or none of them)
        for name in names:
            models.views[name].reset()
        models.catch_up(names)
        assert models.helped == 0
        assert set(models.positions(names).values()) == {head}


def test_an_event_the_tracker_did_not_write_stops_both_processes_before_it(
        models, log, tracker, settings):
    world, ids = log
    originator_id, version, topic, plain_state, _ = forged_verification(
        tracker, ids["verified"], ids["completed"])
    head = tracker.recorder.max_notification_id()
    insert_row(Tamper(settings.database_url), head + 1, originator_id, version, topic,
               plain_state)
    rebuild_everything(models)
    with pytest.raises(UnboundEvent, match=f"position {head + 1} of the log is not bound"):
        models.catch_up()
    assert set(models.positions().values()) == {head}, "no view, in either process, adopted it"


def test_a_helper_that_fails_is_named_and_a_catch_up_in_one_process_completes(
        models, log, tracker, settings):
    from functools import partial

    from eventsourcing.cryptography import AESCipher

    from tracker.bootstrap import helper_process

    head = tracker.recorder.max_notification_id()
    # The helper opens the store with a key it was not sealed with, so it cannot start.
    wrong = settings.model_copy(update={"encryption_key": AESCipher.create_key(32)})
    models.helper = partial(helper_process, wrong)
    rebuild_everything(models)
    with pytest.raises(ChildProcessError, match=r"the process catching up commitments, .* failed: "
                                                r"WrongKey"):
        models.catch_up()
    positions = models.positions()
    assert {positions[name] for name in models.views if name not in HELPED} == {head}
    assert {positions[name] for name in HELPED} == {0}
    models.helper = None
    models.catch_up()
    assert set(models.positions().values()) == {head}
