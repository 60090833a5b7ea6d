"""Any sequence of commands, projected a bit at a time with restarts in between, leaves every read
model equal to a rebuild from scratch."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.errors import DomainError
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
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp())
        self.settings = Settings(database_url=f"sqlite:///{self.directory / 'tracker.db'}",
                                 var_dir=self.directory)
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

    @rule(limit=st.integers(min_value=1, max_value=40))
    def catch_up_partly(self, limit: int) -> None:
        self.models.catch_up(limit=limit)

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


ReadModelsMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_read_models_equal_a_rebuild_after_any_commands = ReadModelsMachine.TestCase
