"""The demo data: every stage of the lifecycle, told by the right members, loaded once."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from domain.lifecycle import Status
from tests.conftest import POSTGRES_URL, postgres_schema_url
from tracker.bootstrap import build_application
from tracker.cli import main
from tracker.demo import DEMO_PASSWORD, demo_dialogues, load_demo
from tracker.settings import Settings, load_settings


def commitments(tracker):
    proposed = tracker.recorder.select_notifications(None, 100_000, topics=["commitment.proposed"])
    return [tracker.commitment(str(n.originator_id)) for n in proposed]


def event_names(tracker, aggregate_id):
    return [type(e).__name__ for e in tracker.aggregate_events(aggregate_id)]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo(request, tmp_path_factory):
    """The demo loaded once per backend for the read-only checks of this module (it takes seconds)."""
    if request.param == "sqlite":
        urls = iter([f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"])
    elif not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need TRACKER_TEST_POSTGRES_URL (CI sets it)")
    else:
        urls = postgres_schema_url()
    url = next(urls)
    app = build_application(Settings(database_url=url))
    try:
        assert load_demo(app) == len(demo_dialogues())
        yield app
    finally:
        app.close()
        next(urls, None)  # drops the PostgreSQL schema


def test_the_demo_shows_every_commitment_status(demo):
    statuses = {c.status for c in commitments(demo)}
    assert statuses == {s.value for s in Status}


def test_the_demo_has_a_disputed_a_reopened_and_a_cancelled_commitment_with_reasons(demo):
    everything = commitments(demo)
    disputed = [c for c in everything if "Disputed" in event_names(demo, c.id)]
    assert disputed and all(c.status == "in_progress" for c in disputed)
    reopened = [c for c in everything if "Reopened" in event_names(demo, c.id)]
    assert reopened and all(c.status == "in_progress" for c in reopened)
    cancelled = [c for c in everything if c.status == "cancelled"]
    assert cancelled and all(c.last_reason for c in cancelled)
    in_progress = [c for c in everything if c.status == "in_progress"]
    assert any(c.milestones and c.evidence for c in in_progress + [
        c for c in everything if c.status == "verified"])
    assert any(c.is_overdue(date.today()) for c in in_progress)


def test_the_demo_keeps_an_informant_protection_commitment_private(demo):
    private = [c for c in commitments(demo) if not c.public]
    assert len(private) == 1
    assert private[0].private_note


def test_every_demo_action_is_taken_by_a_member_for_their_own_party(demo):
    for commitment in commitments(demo):
        for event in demo.aggregate_events(commitment.id):
            account = demo.principal_by_id(event.meta.actor)
            assert account is not None and account.role == "member"
            assert account.party_in(commitment.dialogue_id) == event.meta.party


def test_demo_histories_run_forward_in_business_time(demo):
    dates_by_aggregate = defaultdict(list)
    for notification in demo.recorder.select_notifications(None, 100_000):
        event = demo.mapper.to_domain_event(notification)
        dates_by_aggregate[event.originator_id].append(event.meta.occurred_on)
    spans = [max(dates) - min(dates) for dates in dates_by_aggregate.values()]
    assert all(dates == sorted(dates) for dates in dates_by_aggregate.values())
    assert max(spans).days > 365


def test_demo_accounts_sign_in_with_the_documented_password(demo):
    assert demo.authenticate("demo-admin", DEMO_PASSWORD).role == "admin"
    assert demo.authenticate("demo-auditor", DEMO_PASSWORD).role == "auditor"
    member = demo.authenticate("demo-saaba-police", DEMO_PASSWORD)
    assert member.party_in(str(demo.dialogue_by_slug("saaba").id))


def test_loading_the_demo_twice_adds_nothing(tracker):
    assert load_demo(tracker) == len(demo_dialogues())
    position = tracker.recorder.max_notification_id()
    assert load_demo(tracker) == 0
    assert tracker.recorder.max_notification_id() == position


def test_tracker_demo_twice_on_the_command_line_leaves_one_copy(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)

    assert main(["demo", "--if-empty"]) == 0
    first = capsys.readouterr().out
    assert "4 dialogues added" in first and DEMO_PASSWORD in first

    assert main(["demo"]) == 0
    assert "nothing added" in capsys.readouterr().out

    assert main(["demo", "--if-empty"]) == 0
    assert "not empty" in capsys.readouterr().out

    app = build_application(load_settings())
    try:
        slugs = {spec.slug for spec in demo_dialogues()}
        started = app.recorder.select_notifications(None, 100_000, topics=["dialogue.started"])
        assert len(started) == len(slugs)
    finally:
        app.close()
