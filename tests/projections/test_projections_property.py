"""Any sequence of commands, projected a bit at a time with restarts in between, leaves every read
model equal to a rebuild from scratch."""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.errors import DomainError
from tests.conftest import POSTGRES_URL, postgres_schema_url
from tests.factories import advance, make_world, propose
from tests.projection_helpers import dump
from tracker.bootstrap import build_application, build_read_models
from tracker.settings import Settings

ACTIONS = [
    ("police", "endorse", {}),
    ("vigilante", "endorse", {}),
    ("police", "agree", {}),
    ("police", "reject", {"reason": "Not workable"}),
    ("police", "withdraw", {"reason": "Replaced"}),
    ("police", "assign", {"party_id": "police", "due_date": date(2030, 6, 30)}),
    ("police", "progress", {"percent": 40, "public": True}),
    ("police", "progress", {"percent": 60, "public": False}),
    ("police", "add-milestone", {"title": "First patrol"}),
    ("police", "attach-evidence", {"description": "Patrol log"}),
    ("police", "complete", {"summary": "Patrols run"}),
    ("vigilante", "verify", {}),
    ("vigilante", "dispute", {"reason": "Not seen"}),
    ("police", "cancel", {"reason": "No fuel"}),
    ("police", "reopen", {"reason": "Fuel found"}),
]


class ReadModelsMachine(RuleBasedStateMachine):
    postgres = False

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp())
        self.schema = postgres_schema_url() if self.postgres else None
        url = next(self.schema) if self.schema else f"sqlite:///{self.directory / 'tracker.db'}"
        self.settings = Settings(database_url=url, var_dir=self.directory)
        self.app = build_application(self.settings)
        self.models = build_read_models(self.settings, self.app)
        self.world = make_world(self.app)
        self.commitments: list[str] = []

    @initialize(public=st.booleans())
    def first_commitment(self, public: bool) -> None:
        self.propose(public)

    @rule(public=st.booleans())
    def propose(self, public: bool) -> None:
        result = propose(self.app, self.world, title=f"Commitment {len(self.commitments)}",
                         public=public, private_note="private words")
        self.commitments.append(result.id)

    @precondition(lambda self: self.commitments)
    @rule(data=st.data(), action=st.sampled_from(ACTIONS))
    def act(self, data: st.DataObject, action: tuple[str, str, dict]) -> None:
        who, name, fields = action
        commitment = data.draw(st.sampled_from(self.commitments))
        fields = dict(fields)
        if "party_id" in fields:
            fields["party_id"] = self.world.parties[fields["party_id"]]
        with contextlib.suppress(DomainError):  # refused by a rule: nothing was recorded
            self.app.commitment_action(self.world.members[who], commitment, name, fields)

    @precondition(lambda self: self.commitments)
    @rule(data=st.data())
    def take_to_completion(self, data: st.DataObject) -> None:
        """A shortcut through endorse, agree, assign and complete, so that the later stages
        (dispute, verify, reopen) come up in short runs."""
        commitment = data.draw(st.sampled_from(self.commitments))
        with contextlib.suppress(DomainError):  # not a fresh proposal: a step was refused
            advance(self.app, self.world, commitment, "completed")

    @precondition(lambda self: self.commitments)
    @rule(data=st.data(), public=st.booleans())
    def change_visibility(self, data: st.DataObject, public: bool) -> None:
        commitment = data.draw(st.sampled_from(self.commitments))
        with contextlib.suppress(DomainError):
            self.app.set_commitment_visibility(self.world.members["police"], commitment,
                                               public=public, reason="Reviewed")

    @rule(share=st.floats(min_value=0.05, max_value=1.0))
    def catch_up_partly(self, share: float) -> None:
        """Catch up a share of what is pending, so batches end anywhere in the log."""
        pending = (self.app.recorder.max_notification_id() or 0) - min(
            self.models.positions().values())
        self.models.catch_up(limit=max(1, math.ceil(pending * share)))

    @precondition(lambda self: self.commitments)
    @rule(data=st.data())
    def dispute_and_complete_again(self, data: st.DataObject) -> None:
        """Counters (disputes) are where an incremental view can drift from a rebuild."""
        commitment = data.draw(st.sampled_from(self.commitments))
        with contextlib.suppress(DomainError):  # not completed: refused
            self.app.commitment_action(self.world.members["vigilante"], commitment, "dispute",
                                       {"reason": "Not seen"})
            self.app.commitment_action(self.world.members["police"], commitment, "complete",
                                       {"summary": "Done again"})

    @rule()
    def restart(self) -> None:
        self.models.close()
        self.models = build_read_models(self.settings, self.app)

    @invariant()
    def positions_never_pass_the_log(self) -> None:
        head = self.app.recorder.max_notification_id() or 0
        assert all(p <= head for p in self.models.positions().values())

    def teardown(self) -> None:
        try:
            self.models.catch_up()
            incremental = dump(self.models)
            self.models.rebuild()
            self.models.rebuild("ledger")
            assert dump(self.models) == incremental
        finally:
            self.models.close()
            self.app.close()
            shutil.rmtree(self.directory, ignore_errors=True)
            if self.schema:
                self.schema.close()  # drops the schema


# New random sequences every run (no example database: CI starts clean anyway).
ReadModelsMachine.TestCase.settings = settings(
    max_examples=50, stateful_step_count=50, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow])
test_read_models_equal_a_rebuild_after_any_commands = ReadModelsMachine.TestCase


class PostgresReadModelsMachine(ReadModelsMachine):
    postgres = True


PostgresReadModelsMachine.TestCase.settings = settings(
    max_examples=10, stateful_step_count=40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL tests need TRACKER_TEST_POSTGRES_URL")
class TestOnPostgres(PostgresReadModelsMachine.TestCase):
    pass
