"""Stored events name their class by a stable topic ('commitment.assigned'), not by a Python path,
so that classes can be renamed or moved and old events still load; and an event whose fields change
gets a class version and an upcaster.

No event of the domain has changed shape yet, so none has a class version above 1. The rename and
the upcast are shown on a small aggregate of this module (topics 'test_topics.widget...'): a
separate Python process running the "old code" (another class name, the event without its new
field) writes to a SQLite file; this process, holding only the "new code", reads it back.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEvent, event
from eventsourcing.utils import get_topic, resolve_topic

from domain.account import Account, ApiToken
from domain.case import Case
from domain.commitment import Commitment
from domain.dialogue import Dialogue
from projections.binding import inner_state
from tests.factories import advance, make_world, propose
from tracker.application import SYSTEM

STABLE_TOPIC = re.compile(r"^[a-z_]+(\.[a-z_]+)?$")
AGGREGATES = (Dialogue, Case, Commitment, Account, ApiToken)


def event_classes(aggregate: type[Aggregate]) -> list[type[DomainEvent]]:
    """The aggregate's event classes, but not its `Event` base, which no stored event has."""
    return [value for value in vars(aggregate).values()
            if isinstance(value, type) and issubclass(value, DomainEvent)
            and value is not aggregate.Event]


def test_every_event_class_of_the_domain_has_a_stable_topic_of_its_own():
    topics: dict[str, type] = {}
    for aggregate in AGGREGATES:
        assert STABLE_TOPIC.match(get_topic(aggregate)), aggregate
        classes = event_classes(aggregate)
        assert len(classes) >= 2, aggregate
        for cls in classes:
            topic = get_topic(cls)
            assert STABLE_TOPIC.match(topic), (cls, topic)
            assert topic.startswith(get_topic(aggregate) + "."), (cls, topic)
            assert topic not in topics, f"{cls} and {topics[topic]} share {topic!r}"
            topics[topic] = cls
            assert resolve_topic(topic) is cls
    assert topics["commitment.assigned"].__qualname__ == "Commitment.Assigned"


def test_the_log_holds_stable_topics_not_module_paths(tracker):
    world = make_world(tracker)
    commitment_id = propose(tracker, world).id
    advance(tracker, world, commitment_id, "verified")
    tracker.raise_case(world.members["women"], world.slug, title="Theft", category="other")
    tracker.create_token(SYSTEM, "saaba-police")

    last = tracker.recorder.max_notification_id()
    topics = [n.topic for n in tracker.recorder.select_notifications(1, last)]
    assert len(topics) == last
    for topic in topics:
        assert STABLE_TOPIC.match(topic), topic
        assert ":" not in topic and "domain" not in topic
    assert {"dialogue.started", "dialogue.party_added", "account.opened",
            "account.membership_granted", "account.token_issued", "api_token.issued",
            "case.raised", "commitment.proposed", "commitment.endorsed", "commitment.agreed",
            "commitment.assigned", "commitment.completed",
            "commitment.verified"} <= set(topics)


def test_snapshots_name_the_aggregate_by_its_stable_topic(tracker):
    world = make_world(tracker)
    police = world.members["police"]
    commitment_id = propose(tracker, world).id
    advance(tracker, world, commitment_id, "in_progress")
    while tracker.commitment(commitment_id).version < 50:  # a snapshot every 50 events
        tracker.commitment_action(police, commitment_id, "progress", {"percent": 50})

    snapshots = list(tracker.snapshots.recorder.select_events(tracker.commitment(commitment_id).id))
    assert [s.originator_version for s in snapshots] == [50]
    assert json.loads(inner_state(snapshots[0].state))["topic"] == "commitment"
    # Loading goes through the snapshot and gives the same state as replaying every event.
    assert tracker.commitment(commitment_id).state() == \
        tracker.state_as_of(commitment_id, version=50)


# --- a rename and a change of shape, across two processes ---------------------------------------

class Widget(Aggregate):
    """The "new code": renamed (it was `Gadget`) and moved; `Painted` gained a `finish`, so the
    aggregate did too: its own class version upcasts the state held in old snapshots."""

    TOPIC = "test_topics.widget"
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        state["finish"] = "matt" if state["colour"] else ""

    class Created(Aggregate.Created):
        TOPIC = "test_topics.widget.created"

    @event("Made", topic="test_topics.widget.made")
    def __init__(self, name: str) -> None:
        self.name = name
        self.colour = ""
        self.finish = ""

    class Painted(Aggregate.Event):
        TOPIC = "test_topics.widget.painted"
        class_version = 2
        colour: str
        finish: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            # Paint was always matt before the finish could be chosen.
            state["finish"] = "matt"

    @event(Painted)
    def paint(self, colour: str, finish: str) -> None:
        self.colour = colour
        self.finish = finish


OLD_CODE = '''
import sys
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

class Gadget(Aggregate):
    TOPIC = "test_topics.widget"

    class Created(Aggregate.Created):
        TOPIC = "test_topics.widget.created"

    @event("Made", topic="test_topics.widget.made")
    def __init__(self, name):
        self.name = name
        self.colour = ""

    @event("Painted", topic="test_topics.widget.painted")
    def paint(self, colour):
        self.colour = colour

app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": sys.argv[1],
                       "IS_SNAPSHOTTING_ENABLED": "y"})
gadget = Gadget(name="market stall")
gadget.paint(colour="green")
app.save(gadget)
if sys.argv[2:] == ["snapshot"]:
    app.take_snapshot(gadget.id)
app.close()
print(gadget.id)
'''


def written_by_the_old_code(database: Path, *args: str) -> UUID:
    """Run the old code in a process of its own; it answers the id of the widget it saved."""
    done = subprocess.run([sys.executable, "-c", OLD_CODE, str(database), *args],
                          capture_output=True, text=True, timeout=120, check=True)
    return UUID(done.stdout.strip())


def sqlite_app(database: Path) -> Application:
    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                            "SQLITE_DBNAME": str(database), "IS_SNAPSHOTTING_ENABLED": "y"})


def test_events_written_under_an_old_class_name_load_into_the_renamed_class(tmp_path):
    database = tmp_path / "widgets.db"
    widget_id = written_by_the_old_code(database)

    app = sqlite_app(database)
    try:
        stored = app.recorder.select_events(widget_id)
        assert [s.topic for s in stored] == ["test_topics.widget.made",
                                             "test_topics.widget.painted"]
        widget = app.repository.get(widget_id)
        assert type(widget) is Widget
        assert (widget.name, widget.colour, widget.version) == ("market stall", "green", 2)
    finally:
        app.close()


def test_an_old_event_without_a_new_field_is_upcast_when_read(tmp_path):
    database = tmp_path / "widgets.db"
    widget_id = written_by_the_old_code(database)

    app = sqlite_app(database)
    try:
        old_painted = app.recorder.select_events(widget_id)[1]
        assert "finish" not in json.loads(old_painted.state)
        assert "class_version" not in json.loads(old_painted.state)

        widget = app.repository.get(widget_id)
        assert widget.finish == "matt"

        # The new code writes version 2 events, which are read as they are.
        widget.paint(colour="red", finish="gloss")
        app.save(widget)
        new_painted = app.recorder.select_events(widget_id)[2]
        assert json.loads(new_painted.state)["class_version"] == 2
        reloaded = app.repository.get(widget_id)
        assert (reloaded.colour, reloaded.finish, reloaded.version) == ("red", "gloss", 3)
        history = [(e.colour, e.finish) for e in app.events.get(widget_id)
                   if isinstance(e, Widget.Painted)]
        assert history == [("green", "matt"), ("red", "gloss")]
    finally:
        app.close()


def test_a_snapshot_taken_by_the_old_code_is_upcast_when_loaded(tmp_path):
    """A snapshot holds the aggregate's attributes, not events: when the aggregate gains one, its
    class version and upcaster bring old snapshots along (the tracker's aggregates, snapshotted
    every 50 events, must do the same; or delete their snapshots, which are derived)."""
    database = tmp_path / "widgets.db"
    widget_id = written_by_the_old_code(database, "snapshot")

    app = sqlite_app(database)
    try:
        stored = app.snapshots.recorder.select_events(widget_id)
        assert len(stored) == 1 and "finish" not in json.loads(stored[0].state)["state"]
        widget = app.repository.get(widget_id)  # from the snapshot, not the events
        assert (widget.name, widget.colour, widget.finish, widget.version) == (
            "market stall", "green", "matt", 2)
        widget.paint(colour="red", finish="gloss")
        app.save(widget)
        app.take_snapshot(widget_id)  # a new snapshot records the new class version
        newest = json.loads(app.snapshots.recorder.select_events(widget_id)[-1].state)["state"]
        assert (newest["class_version"], newest["finish"]) == (2, "gloss")
        assert app.repository.get(widget_id).finish == "gloss"
    finally:
        app.close()
