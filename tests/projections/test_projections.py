"""The read models, through the application service: what the pages will query after commands."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from projections import ReadModelTimeout
from projections.views import TimelineView
from tests.factories import advance, make_world, propose
from tests.projection_helpers import dump, public_dump
from tracker.application import SYSTEM
from tracker.bootstrap import build_application, build_read_models

ROOT = Path(__file__).resolve().parents[2]
SECRET = "the informant lives behind the mosque"


def test_a_commitment_row_follows_its_lifecycle(tracker, models):
    world = make_world(tracker)
    result = propose(tracker, world, description="Every market day, two teams")
    advance(tracker, world, result.id, "in_progress")
    tracker.commitment_action(world.members["police"], result.id, "add-milestone",
                              {"title": "First patrol"})
    position = tracker.commitment_action(world.members["police"], result.id, "progress",
                                         {"percent": 40}).position

    models.wait_for(position, timeout=5)
    row = models.commitment(result.id, today=date(2026, 1, 1))
    assert row["status"] == "in_progress"
    assert row["responsible_party"] == world.parties["police"]
    assert row["responsible_party_name"] == "Police nationale"
    assert row["due_date"] == date(2030, 6, 30)
    assert (row["progress"], row["milestones_done"], row["milestones_total"]) == (40, 0, 1)
    assert row["version"] == tracker.commitment(result.id).version
    rows, total = models.commitments(world.dialogue_id, today=date(2026, 1, 1), q="MARKET")
    assert total == 1 and rows[0]["id"] == result.id
    assert models.commitments(world.dialogue_id, today=date(2026, 1, 1), status="agreed") == ([], 0)


def test_dialogues_cases_and_meetings_are_listed(tracker, models):
    world = make_world(tracker)
    case = tracker.raise_case(world.members["women"], world.slug, title="Break-ins at night",
                              category="theft_burglary")
    commitment = propose(tracker, world, case_id=case.id)
    tracker.record_meeting(SYSTEM, world.slug, held_on=date(2026, 1, 10), title="First meeting",
                           attendance={world.parties["police"]: 4}, summary="Agreed to meet")
    models.catch_up()

    [dialogue] = models.dialogues()
    assert dialogue["slug"] == world.slug
    assert [p["name"] for p in dialogue["parties"]] == [
        "Police nationale", "Koglweogo", "Association des femmes"]
    assert dialogue["counts"]["proposed"] == 1 and dialogue["counts"]["verified"] == 0
    detail = models.dialogue(world.slug)
    assert detail["meetings"][0]["attendance"] == {world.parties["police"]: 4}
    [listed] = models.cases(world.dialogue_id)
    assert listed["raised_by_name"] == "Association des femmes"
    assert listed["commitment_ids"] == [commitment.id]
    assert models.case(case.id)["title"] == "Break-ins at night"
    assert models.dialogue("nowhere") is None


def test_the_timeline_says_who_changed_what_and_why(tracker, models):
    world = make_world(tracker)
    result = propose(tracker, world)
    advance(tracker, world, result.id, "completed")
    tracker.commitment_action(world.members["vigilante"], result.id, "dispute",
                              {"reason": "No patrol seen on Friday"}, note="Seen by residents")
    models.catch_up()

    entries = models.timeline(result.id)
    assert [e["type"] for e in entries] == ["Proposed", "Endorsed", "Endorsed", "Agreed",
                                            "Assigned", "Completed", "Disputed"]
    assert [e["version"] for e in entries] == list(range(1, 8))
    disputed = entries[-1]
    assert disputed["changes"]["status"] == ["completed", "in_progress"]
    assert disputed["reason"] == "No patrol seen on Friday"
    assert disputed["note"] == "Seen by residents"
    assert disputed["actor_name"] == f"{world.slug}-vigilante"
    assert disputed["party_name"] == "Koglweogo"
    assert entries[4]["changes"]["due_date"] == [None, "2030-06-30"]
    assert models.dialogue_activity(world.dialogue_id, limit=1)[0]["type"] == "Disputed"
    mine = models.activity(account_id=world.members["vigilante"].account_id)
    assert {e["type"] for e in mine} == {"Endorsed", "Disputed"}


def test_overdue_is_decided_by_the_date_of_the_query(tracker, models):
    world = make_world(tracker)
    result = propose(tracker, world)
    advance(tracker, world, result.id, "in_progress")  # due 2030-06-30
    models.catch_up()

    before, after = date(2030, 6, 30), date(2030, 7, 1)
    assert models.commitment(result.id, today=before)["overdue"] is False
    assert models.commitment(result.id, today=after)["overdue"] is True
    assert models.commitments(world.dialogue_id, today=after, overdue=True)[1] == 1
    assert models.commitments(world.dialogue_id, today=before, overdue=True)[1] == 0
    assert models.dashboard(world.dialogue_id, today=after)["overdue"] == 1
    assert models.dashboard(world.dialogue_id, today=before - timedelta(days=10))["due_soon"]
    police = next(c for c in models.scorecards(world.dialogue_id, today=after)
                  if c["party_id"] == world.parties["police"])
    assert (police["assigned"], police["overdue"]) == (1, 1)


def test_dashboard_and_scorecards_count_completions(tracker, models):
    world = make_world(tracker)
    done, open_ = propose(tracker, world), propose(tracker, world, title="Second")
    advance(tracker, world, done.id, "verified")
    advance(tracker, world, open_.id, "agreed")
    models.catch_up()

    board = models.dashboard(world.dialogue_id, today=date(2026, 1, 1))
    assert board["counts"]["verified"] == 1 and board["counts"]["agreed"] == 1
    assert board["completion_rate"] == 0.5
    assert len(board["recent"]) == 10
    police = next(c for c in models.scorecards(world.dialogue_id, today=date(2026, 1, 1))
                  if c["party_id"] == world.parties["police"])
    assert police["completed"] == police["verified"] == police["completed_on_time"] == 1


def test_the_public_model_holds_no_private_text(tracker, models):
    world = make_world(tracker)
    public = propose(tracker, world, private_note=SECRET, note=SECRET)
    hidden = propose(tracker, world, title="Informant protection", public=False)
    advance(tracker, world, public.id, "in_progress")
    tracker.commitment_action(world.members["police"], public.id, "progress",
                              {"percent": 30, "public": True})
    tracker.commitment_action(world.members["police"], public.id, "progress",
                              {"percent": 70, "public": False})
    tracker.commitment_action(world.members["police"], public.id, "attach-evidence",
                              {"description": "Photos showing faces"})  # not public by default
    models.catch_up()

    rows = models.public.commitments(world.dialogue_id, today=date(2026, 1, 1))
    assert [r["id"] for r in rows] == [public.id]
    assert rows[0]["progress"] == 30
    assert models.public.commitment(hidden.id, today=date(2026, 1, 1)) is None
    timeline = models.public.timeline(public.id)
    assert [e["changes"].get("progress") for e in timeline if e["type"] == "ProgressReported"] \
        == [[0, 30]]
    assert "EvidenceAttached" not in [e["type"] for e in timeline]
    everything = repr(public_dump(models))
    assert "pub_history" in everything
    for private in (SECRET, "Informant protection", f"{world.slug}-police",
                    world.members["police"].account_id):
        assert private not in everything
    assert models.public.dialogue(world.slug)["counts"]["in_progress"] == 1


def test_a_commitment_made_private_leaves_the_public_model(tracker, models):
    world = make_world(tracker)
    result = propose(tracker, world)
    models.catch_up()
    assert models.public.commitment(result.id, today=date(2026, 1, 1)) is not None
    tracker.set_commitment_visibility(world.members["police"], result.id, public=False,
                                      reason="Names a witness")
    models.catch_up()
    assert models.public.commitment(result.id, today=date(2026, 1, 1)) is None
    assert models.public.timeline(result.id) == []
    assert result.id not in repr(public_dump(models))


@pytest.mark.parametrize("batches", ["one batch", "a batch per event"])
def test_a_commitment_made_public_again_shows_only_what_followed(tracker, models, batches):
    """Its public timeline starts again at the event that makes it public again, whether the
    events before are in earlier batches or in the same one (and a rebuild gives the same)."""
    world = make_world(tracker)
    result = propose(tracker, world, by="women")
    police, women = world.members["police"], world.members["women"]
    steps = [
        lambda: tracker.commitment_action(police, result.id, "endorse", {}),
        lambda: tracker.set_commitment_visibility(police, result.id, public=False,
                                                  reason="Names a witness"),
        lambda: tracker.commitment_action(women, result.id, "amend",
                                          {"title": "Patrols", "reason": "Shorter"}),
        lambda: tracker.set_commitment_visibility(police, result.id, public=True,
                                                  reason="Reviewed"),
        lambda: tracker.commitment_action(police, result.id, "endorse", {}),
    ]
    for step in steps:
        step()
        if batches != "one batch":
            models.catch_up()
    models.catch_up()
    timeline = models.public.timeline(result.id)
    assert [e["type"] for e in timeline] == ["VisibilityChanged", "Endorsed"]
    assert [e["version"] for e in timeline] == [5, 6]
    incremental = dump(models)
    models.rebuild()
    assert dump(models) == incremental


def test_a_crash_mid_batch_applies_nothing_and_the_resume_applies_everything_once(
        tracker, models, monkeypatch):
    world = make_world(tracker)
    for n in range(3):
        advance(tracker, world, propose(tracker, world, title=f"C{n}").id, "completed")
    original = TimelineView.apply

    def crash(self, cursor, items):
        original(self, cursor, items)  # the rows are written ...
        raise RuntimeError("power cut")  # ... and the transaction dies before its commit

    monkeypatch.setattr(TimelineView, "apply", crash)
    with pytest.raises(RuntimeError):
        models.catch_up()
    assert models.views["timeline"].position() == 0
    assert models.store.fetchall("SELECT * FROM rm_timeline") == []

    monkeypatch.setattr(TimelineView, "apply", original)
    models.catch_up()
    positions = [r["position"] for r in models.store.fetchall(
        "SELECT position FROM rm_timeline ORDER BY position")]
    head = tracker.recorder.max_notification_id()
    assert positions == list(range(1, head + 1))
    incremental = dump(models)
    models.rebuild()
    assert dump(models) == incremental


def test_a_rebuild_equals_the_incremental_views(tracker, models):
    world = make_world(tracker)
    first = propose(tracker, world)
    models.catch_up()
    advance(tracker, world, first.id, "completed")
    tracker.commitment_action(world.members["vigilante"], first.id, "dispute",
                              {"reason": "Not seen"})
    models.catch_up(limit=3)
    tracker.commitment_action(world.members["police"], first.id, "complete",
                              {"summary": "Done again"})
    models.catch_up()
    incremental = dump(models)
    assert models.rebuild() > 0
    assert dump(models) == incremental
    assert models.commitment(first.id, today=date(2026, 1, 1))["disputes"] == 1


def test_wait_for_names_the_lagging_view_when_it_times_out(tracker, models):
    make_world(tracker, with_members=False)
    head = tracker.recorder.max_notification_id()
    models.wait_for(head, timeout=2)
    with pytest.raises(ReadModelTimeout, match="is at position"):
        models.wait_for(head + 5, timeout=0.05)


def test_a_new_view_version_starts_afresh(tracker, models, settings, monkeypatch):
    make_world(tracker, with_members=False)
    models.catch_up()
    monkeypatch.setattr(TimelineView, "version", TimelineView.version + 1)
    again = build_read_models(settings, tracker)
    try:
        assert again.views["timeline"].position() == 0
        assert again.store.fetchall("SELECT * FROM rm_timeline") == []
        again.catch_up()
        assert again.views["timeline"].position() == tracker.recorder.max_notification_id()
    finally:
        again.close()


def test_waiting_for_a_command_is_one_round_trip_on_the_tracking_rows(tracker, models,
                                                                      store_url):
    """After a command, the wait for its position asks the views' positions once, locks every
    view's tracking row in one statement and writes their new positions in one: three
    statements on the tracking table however many views move (they were three per view)."""
    if not store_url.startswith("sqlite"):
        pytest.skip("the statements are traced on SQLite's connections")
    world = make_world(tracker)
    result = propose(tracker, world)
    models.catch_up()
    pool = models.store.datastore.pool
    statements: list[str] = []
    for connection in [*pool._pool, *pool._in_use.values()]:
        connection._sqlite_conn.set_trace_callback(statements.append)
    position = tracker.commitment_action(world.members["police"], result.id, "amend",
                                         {"title": "Patrols at night too", "reason": "Feasts"}).position
    models.wait_for(position, timeout=5)
    statements = list(statements)
    assert all(p == position for p in models.positions().values())
    on_tracking = [s.split()[0] for s in statements if " tracking" in s]
    assert len(models.views) >= 6 and on_tracking == ["SELECT", "UPDATE", "UPDATE"], statements
    assert [s for s in statements if s == "BEGIN"] == ["BEGIN"]  # one writing transaction


@pytest.mark.postgres
def test_several_processes_apply_every_event_once(settings, tracker, models, store_url):
    if not store_url.startswith("postgresql"):
        pytest.skip("several processes share one PostgreSQL database")
    world = make_world(tracker)
    same_keys = dict(os.environ, TRACKER_BINDING_KEYS=settings.ensure_binding_keys())
    workers = [subprocess.Popen([sys.executable, "-m", "tests.projection_worker", store_url],
                                cwd=ROOT, env=same_keys, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
               for _ in range(3)]
    for n in range(12):
        result = propose(tracker, world, title=f"Commitment {n}")
        advance(tracker, world, result.id, "completed")
        tracker.commitment_action(world.members["vigilante"], result.id, "dispute",
                                  {"reason": "Not seen"})
    tracker.create_dialogue(SYSTEM, slug="the-end", name="End", country="BF", locality="Here")
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()
    head = tracker.recorder.max_notification_id()
    assert all(p == head for p in models.positions().values())
    concurrent = dump(models)
    assert sum(r["disputes"] for r in models.store.fetchall("SELECT disputes FROM rm_commitments")) == 12
    models.rebuild()
    models.rebuild("ledger")
    assert dump(models) == concurrent


def test_build_application_and_read_models_share_the_store(settings):
    app = build_application(settings)
    models = build_read_models(settings, app)
    try:
        make_world(app, with_members=False)
        assert models.catch_up() == app.recorder.max_notification_id()
        assert models.catch_up() == 0
    finally:
        models.close()
        app.close()


def test_search_takes_percent_and_underscore_literally(tracker, models):
    world = make_world(tracker)
    propose(tracker, world, title="Patrols on 50% of market days")
    propose(tracker, world, title="Patrols on 5 market days")
    models.catch_up()
    today = date(2026, 1, 1)
    assert models.commitments(world.dialogue_id, today=today, q="50%")[1] == 1
    assert models.commitments(world.dialogue_id, today=today, q="5_")[1] == 0
    assert models.commitments(world.dialogue_id, today=today, q="patrols")[1] == 2


def test_search_ignores_case_in_french_too(tracker, models):
    """SQLite's LOWER() folds only ASCII: "ÉCLAIRAGE" did not find "Éclairage" there."""
    world = make_world(tracker)
    propose(tracker, world, title="Éclairage public près de l'ÉCOLE",
            description="Réparer les lampadaires de la rue Straße")
    models.catch_up()
    today = date(2026, 1, 1)
    for q in ("éclairage", "ÉCLAIRAGE", "l'école", "STRASSE", "lampadaires"):
        assert models.commitments(world.dialogue_id, today=today, q=q)[1] == 1, q


def test_a_view_takes_one_event_through_the_library_entry_point(tracker, models):
    from eventsourcing.persistence import Tracking

    make_world(tracker, with_members=False)
    timeline = models.views["timeline"]
    timeline.process_event(None, Tracking(tracker.name, 1))
    assert timeline.position() == 1
    assert [e["type"] for e in models.timeline(tracker.dialogue_by_slug("saaba").id)] == ["Started"]


def test_a_private_note_leaves_no_public_entry_and_a_public_one_leaves_no_words(tracker, models):
    world = make_world(tracker)
    result = propose(tracker, world)
    women = world.members["women"]
    tracker.commitment_action(women, result.id, "comment", {"note": SECRET})
    tracker.commitment_action(women, result.id, "comment",
                              {"note": "Seen by everyone", "public": True})
    models.catch_up()
    assert [e["type"] for e in models.public.timeline(result.id)].count("Commented") == 1
    assert SECRET not in repr(public_dump(models))
    assert [e["note"] for e in models.timeline(result.id) if e["type"] == "Commented"] == [
        SECRET, "Seen by everyone"]


def test_after_a_restart_an_event_is_written_as_a_rebuild_writes_it(settings, tracker):
    """A restart empties the decoder's memory, so the next event of a commitment is decoded from
    the aggregate loaded from the store rather than from the state kept in memory: the text of its
    changes must not depend on which (found by the read-model state machine: the evidence entries
    came out with their fields in another order)."""
    world = make_world(tracker)
    commitment = propose(tracker, world, public=False).id
    advance(tracker, world, commitment, "in_progress")
    tracker.commitment_action(world.members["police"], commitment, "attach-evidence",
                              {"description": "Patrol log"})
    tracker.commitment_action(world.members["police"], commitment, "add-milestone",
                              {"title": "First patrol"})
    first = build_read_models(settings, tracker)
    first.catch_up()
    first.close()
    restarted = build_read_models(settings, tracker)
    try:
        for action, fields in (("attach-evidence", {"description": "Second log"}),
                               ("complete-milestone", None)):
            if fields is None:
                fields = {"milestone_id": tracker.commitment(commitment).milestones[0]["id"]}
            tracker.commitment_action(world.members["police"], commitment, action, fields)
            restarted.catch_up()
            restarted.close()
            restarted = build_read_models(settings, tracker)
        restarted.catch_up()
        incremental = dump(restarted, ["timeline", "commitments"])
        restarted.rebuild()
        assert dump(restarted, ["timeline", "commitments"]) == incremental
    finally:
        restarted.close()


def test_catching_up_after_commands_takes_what_arrives_meanwhile_in_one_more_round(
        tracker, models, monkeypatch):
    """`catch_up_coalesced` (what the API runs after each command's answer): while one thread
    catches up, the calls of commands that land meanwhile return at once and that thread goes
    round once more for all of them; nothing is left behind."""
    import threading

    world = make_world(tracker)
    models.catch_up()
    rounds, inside, release = [], threading.Event(), threading.Event()
    real = models.catch_up

    def watched(*args, **kwargs):
        rounds.append(tracker.recorder.max_notification_id())
        if len(rounds) == 1:
            inside.set()
            assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(models, "catch_up", watched)
    first = threading.Thread(target=models.catch_up_coalesced)
    first.start()
    assert inside.wait(10)
    propose(tracker, world)  # two commands land while the first round runs
    models.catch_up_coalesced()  # returns at once: the running thread will take them
    propose(tracker, world)
    assert models.join_running_catch_up()  # (the web app's check on its loop: the same)
    assert len(rounds) == 1
    release.set()
    first.join(10)
    head = tracker.recorder.max_notification_id()
    assert len(rounds) == 2 and rounds[1] == head  # one more round, for both commands
    assert set(models.positions().values()) == {head}
    assert not models.join_running_catch_up()  # none under way now, and none started
    assert len(rounds) == 2
    models.catch_up_coalesced()  # and the next call, alone, runs a round itself
    assert len(rounds) == 3


def test_catching_up_after_commands_first_gathers_the_commands_that_land_meanwhile(
        tracker, models, monkeypatch):
    """With `gather` set (the server's `catch_up_gather_seconds`), a round of
    `catch_up_coalesced` waits that long before it catches up: the commands answered during the
    wait are applied in the same round, not one round each."""
    import threading
    import time

    world = make_world(tracker)
    models.catch_up()
    models.gather = 0.25
    rounds, waiting, release = [], threading.Event(), threading.Event()
    real_catch_up, real_sleep = models.catch_up, time.sleep

    def watched(*args, **kwargs):
        rounds.append(tracker.recorder.max_notification_id())
        return real_catch_up(*args, **kwargs)

    def sleep(seconds):
        if seconds != 0.25:
            return real_sleep(seconds)
        waiting.set()
        assert release.wait(10)
        return None

    monkeypatch.setattr(models, "catch_up", watched)
    monkeypatch.setattr(time, "sleep", sleep)
    first = threading.Thread(target=models.catch_up_coalesced)
    first.start()
    assert waiting.wait(10)
    assert rounds == []  # it waits before its first round
    for _ in range(3):  # three commands are answered meanwhile
        propose(tracker, world)
        models.catch_up_coalesced()  # each returns at once
    release.set()
    first.join(10)
    head = tracker.recorder.max_notification_id()
    # One round for all three; then one more (asked meanwhile) that finds nothing new.
    assert rounds == [head, head]
    assert set(models.positions().values()) == {head}


def _synchronous(cursor, postgres: bool) -> str:
    """How this transaction commits: PostgreSQL's `synchronous_commit`, SQLite's `synchronous`
    (1: NORMAL, no fsync at each commit in WAL mode)."""
    cursor.execute("SHOW synchronous_commit" if postgres else "PRAGMA synchronous")
    row = cursor.fetchone()
    return str(row["synchronous_commit"] if postgres else row[0])


def test_only_the_views_batches_commit_without_waiting_for_the_disk(tracker, models, store_url,
                                                                   monkeypatch):
    """A crash may lose a view's last batches, rows and position together (the log gives them
    again); every other write of the store (sessions, idempotency keys, deliveries) waits."""
    postgres = store_url.startswith("postgresql")
    seen = []
    timeline = models.views["timeline"]
    apply = timeline.apply

    def probe(cursor, items):
        seen.append(_synchronous(cursor, postgres))
        apply(cursor, items)

    monkeypatch.setattr(timeline, "apply", probe)
    world = make_world(tracker)
    models.wait_for(propose(tracker, world).position, timeout=5)
    with models.store.transaction(commit=True) as cursor:
        other = _synchronous(cursor, postgres)
    assert seen and set(seen) == {"off" if postgres else "1"}
    assert other == ("on" if postgres else "1")
