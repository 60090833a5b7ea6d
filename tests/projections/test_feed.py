"""The feed moves most commitment states forward without the domain (projections.feed.UPDATES):
for every event of a log that takes commitments through every action, the states before and after
and the changes must be exactly those the domain itself gives (values and field order). And a
catch-up from the start of a long log, which builds the indexes at the end, fills the same rows."""

from __future__ import annotations

from datetime import date

import pytest

from projections.feed import UPDATES, Feed
from tests.factories import advance, make_world, propose
from tracker.application import SYSTEM


def act(tracker, world, commitment_id, who, action, fields=None):
    return tracker.commitment_action(world.members[who], commitment_id, action, fields or {})


@pytest.fixture
def rich_log(tracker):
    """Commitments through every action (and back), plus dialogue, case and account events."""
    world = make_world(tracker)
    case = tracker.raise_case(world.members["women"], world.slug, title="Break-ins",
                              category="theft_burglary")
    first = propose(tracker, world, case_id=case.id, description="Two teams").id
    act(tracker, world, first, "police", "amend", {"title": "Three teams", "reason": "More"})
    advance(tracker, world, first, "in_progress")
    milestone = act(tracker, world, first, "police", "add-milestone",
                    {"title": "First patrol", "due_date": date(2030, 1, 1)}).extra["milestone_id"]
    act(tracker, world, first, "police", "add-milestone", {"title": "Second patrol"})
    act(tracker, world, first, "police", "complete-milestone", {"milestone_id": milestone})
    act(tracker, world, first, "police", "progress", {"percent": 40, "public": False})
    act(tracker, world, first, "police", "progress", {"percent": 40})
    act(tracker, world, first, "police", "attach-evidence",
        {"description": "Patrol log", "url": "https://example.org/log"})
    act(tracker, world, first, "police", "assign",
        {"party_id": world.parties["police"], "due_date": date(2030, 7, 1)})
    act(tracker, world, first, "police", "complete", {"summary": "Patrols run"})
    act(tracker, world, first, "vigilante", "dispute", {"reason": "Not seen"})
    act(tracker, world, first, "police", "complete", {"summary": "Patrols run again"})
    act(tracker, world, first, "vigilante", "verify")
    act(tracker, world, first, "police", "reopen", {"reason": "Stopped"})
    tracker.set_commitment_visibility(world.members["police"], first, public=False,
                                      reason="Sensitive")
    act(tracker, world, first, "police", "cancel", {"reason": "No fuel"})
    act(tracker, world, first, "police", "reopen", {"reason": "Fuel found"})
    tracker.set_commitment_visibility(world.members["police"], first, public=True,
                                      reason="Reviewed")
    second = propose(tracker, world, public=False).id  # endorsed by the police with it
    act(tracker, world, second, "vigilante", "reject", {"reason": "Not workable"})
    third = propose(tracker, world).id
    act(tracker, world, third, "police", "withdraw", {"reason": "Replaced"})
    fourth = propose(tracker, world).id
    advance(tracker, world, fourth, "agreed")
    act(tracker, world, fourth, "police", "cancel", {"reason": "Moot"})
    act(tracker, world, fourth, "police", "reopen", {"reason": "Back on"})
    tracker.record_meeting(SYSTEM, world.slug, held_on=date(2026, 1, 10), title="Meeting",
                           attendance={world.parties["police"]: 4})
    tracker.case_action(world.members["women"], case.id, "resolve", {"summary": "Calm"})
    tracker.set_language(world.members["women"], "en")
    return tracker


def all_items(feed: Feed, tracker, batch: int, clear_every: int | None = None):
    items, after, batches = [], 0, 0
    while notifications := feed.read(after, batch):
        items += feed.decode(notifications)
        after = notifications[-1].id
        batches += 1
        if clear_every and batches % clear_every == 0:
            feed.clear()  # as after a restart: the next events find no state in memory
    return items


def same(item, expected):
    return (item.position, item.type, item.kind, item.aggregate_id, item.recorded_at) == (
        expected.position, expected.type, expected.kind, expected.aggregate_id,
        expected.recorded_at) and [
        None if item.before is None else list(item.before.items()),
        list(item.after.items()), list(item.changes.items())] == [
        None if expected.before is None else list(expected.before.items()),
        list(expected.after.items()), list(expected.changes.items())]


@pytest.mark.parametrize(("batch", "clear_every"), [(1000, None), (3, None), (4, 2)])
def test_direct_states_and_changes_equal_the_domains(rich_log, batch, clear_every):
    tracker = rich_log
    expected = all_items(Feed(tracker, direct=False), tracker, 1000)
    items = all_items(Feed(tracker), tracker, batch, clear_every)
    assert len(items) == len(expected) == tracker.recorder.max_notification_id()
    for item, wanted in zip(items, expected, strict=True):
        assert same(item, wanted), (item.type, item.changes, wanted.changes)


def test_the_log_exercises_every_direct_update(rich_log):
    seen = {(item.kind, item.type) for item in all_items(Feed(rich_log), rich_log, 1000)}
    missing = {(kind, name) for kind, table in UPDATES.items() for name in table} - seen
    assert not missing


def index_names(models) -> set[str]:
    if models.store.tracking_table == "tracking":  # SQLite
        statement = "SELECT name FROM sqlite_master WHERE type='index' AND name LIKE ? ESCAPE '!'"
    else:
        statement = ("SELECT indexname AS name FROM pg_indexes "
                     "WHERE schemaname=current_schema() AND indexname LIKE ? ESCAPE '!'")
    return {row["name"] for row in models.store.fetchall(statement, ("ix!_%",))}


def test_a_long_catch_up_from_the_start_builds_indexes_at_the_end_with_the_same_rows(
        rich_log, settings):
    from tests.projection_helpers import dump
    from tracker.bootstrap import build_read_models

    models = build_read_models(settings, rich_log)
    try:
        all_indexes = index_names(models)
        assert len(all_indexes) == sum(len(v.indexes) for v in models.views.values())
        models.catch_up()
        incremental = dump(models)
        models.bulk_load = 1  # any log is long: indexes dropped, rows loaded, indexes rebuilt
        models.batch = 5
        models.rebuild()
        assert dump(models) == incremental
        assert index_names(models) == all_indexes
    finally:
        models.close()
