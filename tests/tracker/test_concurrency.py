"""Many people acting on one commitment at once, on both backends (on SQLite the threads share one
database file). Without an expected version no update may be lost; with one, exactly one of the
writers who read the same version wins."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from domain.errors import Conflict
from tests.factories import advance, make_world, propose
from tracker.application import SYSTEM
from tracker.bootstrap import build_application

THREADS = 16
COMMANDS_PER_THREAD = 10


def run_together(count: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` in `count` threads released at the same moment; return results or errors."""
    barrier = threading.Barrier(count)

    def task(i: int) -> object:
        barrier.wait()
        try:
            return work(i)
        except Exception as error:  # collected and checked by the test
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(task, range(count)))


def test_concurrent_progress_reports_without_expected_version_lose_no_update(tracker):
    world = make_world(tracker)
    police = world.members["police"]
    commitment_id = propose(tracker, world).id
    advance(tracker, world, commitment_id, "in_progress")
    initial = tracker.commitment(commitment_id).version

    def report(thread: int) -> list[object]:
        outcomes = []
        for n in range(COMMANDS_PER_THREAD):
            try:
                outcomes.append(tracker.commitment_action(
                    police, commitment_id, "progress", {"percent": (thread * 7 + n) % 101}))
            except Conflict as conflict:  # "too many people": allowed, but must change nothing
                outcomes.append(conflict)
        return outcomes

    outcomes = [o for per_thread in run_together(THREADS, report) for o in per_thread]
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert set(kinds) <= {"CommandResult", "Conflict"}, kinds
    succeeded = [o for o in outcomes if type(o).__name__ == "CommandResult"]

    final = tracker.commitment(commitment_id)
    assert final.version == initial + len(succeeded)
    # Every success got a version of its own: nobody overwrote anybody.
    assert sorted(o.version for o in succeeded) == list(range(initial + 1, final.version + 1))
    assert len({o.position for o in succeeded}) == len(succeeded)
    reported = [e for e in tracker.aggregate_events(commitment_id)
                if type(e).__name__ == "ProgressReported"]
    assert len(reported) == len(succeeded)
    # Almost all of them go through; report how many had to give up.
    assert len(succeeded) >= THREADS * COMMANDS_PER_THREAD * 0.9, kinds


def test_of_writers_racing_with_the_same_expected_version_exactly_one_wins(tracker):
    world = make_world(tracker)
    police = world.members["police"]
    commitment_id = propose(tracker, world).id
    advance(tracker, world, commitment_id, "in_progress")
    version = tracker.commitment(commitment_id).version
    position = tracker.recorder.max_notification_id()
    writers = 8

    results = run_together(writers, lambda i: tracker.commitment_action(
        police, commitment_id, "progress", {"percent": 10 + i}, expected_version=version))

    winners = [r for r in results if type(r).__name__ == "CommandResult"]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1, results
    assert len(losers) == writers - 1, results
    final = tracker.commitment(commitment_id)
    assert final.version == version + 1 == winners[0].version
    assert final.progress == 10 + results.index(winners[0])
    assert tracker.recorder.max_notification_id() == position + 1


def test_tokens_created_at_once_for_one_account_all_work(tracker):
    make_world(tracker)
    tokens = run_together(8, lambda i: tracker.create_token(SYSTEM, "saaba-police",
                                                            label=f"device {i}"))
    assert all(isinstance(t, str) for t in tokens), tokens
    for token in tokens:
        principal = tracker.principal_for_token(token)
        assert principal is not None and principal.name == "saaba-police"
    assert len(tracker.account_by_name("saaba-police").tokens) == 8


def test_commitments_proposed_at_once_under_one_case_are_all_linked_to_it(tracker):
    world = make_world(tracker)
    case_id = tracker.raise_case(world.members["women"], world.slug, category="theft_burglary",
                                 title="Night-time break-ins near the market").id
    kinds = ("police", "vigilante", "women") * 2

    results = run_together(len(kinds), lambda i: propose(
        tracker, world, by=kinds[i], required=(kinds[i],), case_id=case_id,
        title=f"Proposal {i}"))

    assert all(type(r).__name__ == "CommandResult" for r in results), results
    case = tracker.get_case(case_id)
    assert sorted(case["commitment_ids"]) == sorted(r.id for r in results)
    for result in results:
        assert tracker.commitment(result.id).case_id == case_id


def test_of_two_dialogues_started_at_once_with_one_slug_one_wins(tracker):
    results = run_together(4, lambda i: tracker.create_dialogue(
        SYSTEM, slug="saaba", name=f"Dialogue {i}", country="BF", locality="Saaba"))

    winners = [r for r in results if type(r).__name__ == "CommandResult"]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict) for r in results if r is not winners[0]), results
    assert tracker.dialogue_by_slug("saaba").name == f"Dialogue {results.index(winners[0])}"


def test_two_application_objects_on_one_store_lose_no_update(tracker, settings):
    """The web server and a command line writing to the same database at the same time."""
    other = build_application(settings)
    try:
        world = make_world(tracker)
        police = world.members["police"]
        commitment_id = propose(tracker, world).id
        advance(tracker, world, commitment_id, "in_progress")
        initial = tracker.commitment(commitment_id).version

        def report(thread: int) -> list[object]:
            app = (tracker, other)[thread % 2]
            return [app.commitment_action(police, commitment_id, "progress", {"percent": n})
                    for n in range(5)]

        results = run_together(8, report)
        assert all(isinstance(r, list) for r in results), results
        assert other.commitment(commitment_id).version == initial + 8 * 5
        assert tracker.commitment(commitment_id).version == initial + 8 * 5
    finally:
        other.close()
