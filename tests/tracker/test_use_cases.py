"""Use cases through the application service, as a dialogue's committee and its administrators live
them. Every test runs on SQLite and on PostgreSQL (the `tracker` fixture)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.account import account_id
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TransitionRefused
from domain.lifecycle import LIFECYCLE, Status
from tests.factories import PASSWORD, account, advance, make_world, propose
from tracker import policy
from tracker.application import SYSTEM, Tracker, token_digest
from tracker.bootstrap import build_application
from tracker.commands import CASE_COMMANDS, COMMITMENT_COMMANDS

DUE = date(2030, 6, 30)


def events_of(tracker: Tracker, aggregate_id: str) -> list:
    return list(tracker.aggregate_events(aggregate_id))


def stored_states(tracker: Tracker) -> list[bytes]:
    """Every stored event's payload, as bytes, read straight from the log."""
    last = tracker.recorder.max_notification_id() or 0
    return [n.state for n in tracker.recorder.select_notifications(1, last + 1)]


# --- the committee at work ------------------------------------------------------------------

def test_a_committee_takes_a_commitment_from_proposal_to_verification(tracker):
    world = make_world(tracker)
    police, vigilante, women = (world.members[k] for k in ("police", "vigilante", "women"))

    # The women's association raises the problem; the police propose a way to solve part of it,
    # and their endorsement comes with their proposal.
    case = tracker.raise_case(women, world.slug, title="Night-time break-ins near the market",
                              category="theft_burglary")
    proposal = tracker.propose_commitment(
        police, world.slug, title="Joint night patrols on market days", case_id=case.id,
        required_parties=["Police nationale", "Koglweogo"])
    commitment_id = proposal.id
    assert proposal.version == 2

    # The other required party endorses; then it adopts it for the dialogue.
    tracker.commitment_action(vigilante, commitment_id, "endorse")
    tracker.commitment_action(vigilante, commitment_id, "agree")

    # It is given to the police, who report their progress step by step.
    tracker.commitment_action(vigilante, commitment_id, "assign",
                              {"party_id": "Police nationale", "due_date": DUE})
    milestone = tracker.commitment_action(police, commitment_id, "add-milestone",
                                          {"title": "Rota agreed with the Koglweogo"})
    tracker.commitment_action(police, commitment_id, "complete-milestone",
                              {"milestone_id": milestone.extra["milestone_id"]})
    tracker.commitment_action(police, commitment_id, "progress", {"percent": 60})
    tracker.commitment_action(vigilante, commitment_id, "attach-evidence",
                              {"description": "Joint patrol log", "sha256": "ab" * 32,
                               "url": "https://example.org/saaba/patrol-log.pdf"})
    tracker.commitment_action(police, commitment_id, "complete",
                              {"summary": "Patrols run every market day since March"})

    # The Koglweogo confirm it.
    last = tracker.commitment_action(vigilante, commitment_id, "verify")

    commitment = tracker.commitment(commitment_id)
    assert commitment.status == "verified"
    assert last.version == commitment.version == 11
    assert commitment.progress == 100
    assert commitment.responsible_party == world.parties["police"]
    assert commitment.completed_by == world.parties["police"]
    assert commitment.verified_by == world.parties["vigilante"]
    assert commitment.endorsements == [world.parties["police"], world.parties["vigilante"]]
    assert commitment.milestones[0]["completed_on"] is not None
    assert commitment.evidence[0]["sha256"] == "ab" * 32
    assert tracker.get_case(case.id)["commitment_ids"] == [commitment_id]

    # The history says who did what, for which party.
    names = {world.members[k].account_id: k for k in world.members}
    parties = {v: k for k, v in world.parties.items()}
    timeline = [(type(e).__name__, names[e.meta.actor], parties[e.meta.party])
                for e in events_of(tracker, commitment_id)]
    assert timeline == [
        ("Proposed", "police", "police"),
        ("Endorsed", "police", "police"),
        ("Endorsed", "vigilante", "vigilante"),
        ("Agreed", "vigilante", "vigilante"),
        ("Assigned", "vigilante", "vigilante"),
        ("MilestoneAdded", "police", "police"),
        ("MilestoneCompleted", "police", "police"),
        ("ProgressReported", "police", "police"),
        ("EvidenceAttached", "vigilante", "vigilante"),
        ("Completed", "police", "police"),
        ("Verified", "vigilante", "vigilante"),
    ]


def test_a_member_of_another_dialogue_cannot_act_in_this_one(tracker):
    saaba = make_world(tracker)
    commitment_id = propose(tracker, saaba).id
    stranger = account(tracker, "jos-police", "member", make_world(tracker, "jos", False),
                      "Police nationale")
    position = tracker.recorder.max_notification_id()

    refused = [
        lambda: tracker.commitment_action(stranger, commitment_id, "endorse"),
        lambda: tracker.commitment_action(stranger, commitment_id, "reject",
                                          {"reason": "not ours"}),
        lambda: tracker.propose_commitment(stranger, saaba.slug, title="Patrols",
                                           required_parties=["Police nationale"]),
        lambda: tracker.raise_case(stranger, saaba.slug, title="Theft", category="other"),
        lambda: tracker.record_meeting(stranger, saaba.slug, held_on=date(2026, 3, 1),
                                       title="Session", attendance={}),
    ]
    for command in refused:
        with pytest.raises(Forbidden, match="not a member of this dialogue"):
            command()
    assert tracker.recorder.max_notification_id() == position


def test_an_auditor_is_refused_every_command(tracker):
    world = make_world(tracker)
    auditor = account(tracker, "auditor-1", "auditor")
    police = world.members["police"]

    # A commitment in every status where some action is allowed, so that only the role refuses.
    at = {}
    for status in ("proposed", "agreed", "in_progress", "completed"):
        at[status] = propose(tracker, world).id
        if status != "proposed":
            advance(tracker, world, at[status], status)
    milestone = tracker.commitment_action(police, at["in_progress"], "add-milestone",
                                          {"title": "Rota"}).extra["milestone_id"]
    case_id = tracker.raise_case(police, world.slug, title="Theft", category="other").id

    fields = {
        "amend": {"title": "Patrols also on feast days", "reason": "feasts"},
        "endorse": {}, "agree": {}, "reject": {"reason": "no"}, "withdraw": {"reason": "no"},
        "assign": {"party_id": world.parties["police"], "due_date": DUE},
        "progress": {"percent": 50}, "add-milestone": {"title": "Second rota"},
        "complete-milestone": {"milestone_id": milestone},
        "attach-evidence": {"description": "Patrol log"}, "complete": {"summary": "done"},
        "verify": {}, "dispute": {"reason": "no"}, "cancel": {"reason": "no"},
        "reopen": {"reason": "again"}, "set-visibility": {"public": False, "reason": "informants"},
        "comment": {"note": "Seen at the market"},
    }
    assert set(fields) == set(COMMITMENT_COMMANDS)
    position = tracker.recorder.max_notification_id()

    for action, action_fields in fields.items():
        status = next(s for s in at if action not in LIFECYCLE
                      or Status(s) in LIFECYCLE[action].sources)
        with pytest.raises(Forbidden, match="auditors read everything and change nothing"):
            tracker.commitment_action(auditor, at[status], action, action_fields)
    case_fields = {"resolve": {"summary": "words"}, "close": {"reason": "words"},
                   "reopen": {"reason": "words"}, "link": {"commitment_id": at["proposed"]}}
    assert set(case_fields) == set(CASE_COMMANDS)
    for action, action_fields in case_fields.items():
        with pytest.raises(Forbidden):
            tracker.case_action(auditor, case_id, action, action_fields)
    other_commands = [
        lambda: tracker.create_dialogue(auditor, slug="jos", name="Jos", country="NG",
                                        locality="Jos"),
        lambda: tracker.add_party(auditor, world.slug, name="Imams", kind="religious"),
        lambda: tracker.record_meeting(auditor, world.slug, held_on=date(2026, 3, 1),
                                       title="Session", attendance={}),
        lambda: tracker.conclude_dialogue(auditor, world.slug, reason="over"),
        lambda: tracker.raise_case(auditor, world.slug, title="Theft", category="other"),
        lambda: tracker.propose_commitment(auditor, world.slug, title="Patrols",
                                           required_parties=["Police nationale"]),
        lambda: tracker.set_commitment_visibility(auditor, at["proposed"], public=False,
                                                  reason="sensitive"),
        lambda: tracker.add_account(auditor, name="someone", role="member", password=PASSWORD),
        lambda: tracker.grant_membership(auditor, "auditor-1", slug=world.slug, party="Koglweogo"),
        lambda: tracker.revoke_membership(auditor, "saaba-police", slug=world.slug),
        lambda: tracker.create_token(auditor, "saaba-police"),
        lambda: tracker.deactivate_account(auditor, "saaba-police", reason="left"),
    ]
    for command in other_commands:
        with pytest.raises(Forbidden):
            command()
    assert tracker.recorder.max_notification_id() == position
    assert policy.commitment_offers(auditor, tracker.commitment(at["proposed"]),
                                    list(world.parties.values())) == []


def test_a_member_acts_only_for_their_own_party_and_an_admin_must_name_one(tracker):
    world = make_world(tracker)
    police = world.members["police"]
    admin = account(tracker, "admin-1", "admin")
    commitment_id = propose(tracker, world, by="women").id

    for other in (world.parties["vigilante"], "Koglweogo", "koglweogo"):
        with pytest.raises(Forbidden, match="only for your own party"):
            tracker.commitment_action(police, commitment_id, "endorse", {"party_id": other})
    with pytest.raises(Forbidden, match="only for your own party"):
        propose(tracker, world, proposed_by=world.parties["vigilante"])
    with pytest.raises(Forbidden, match="only for your own party"):
        tracker.raise_case(police, world.slug, title="Theft", category="other",
                           raised_by="Koglweogo")
    with pytest.raises(InvalidInput, match="must say for which party"):
        tracker.raise_case(admin, world.slug, title="Theft", category="other")
    assert tracker.commitment(commitment_id).endorsements == []

    # Naming one's own party (by id or by name) is fine.
    tracker.commitment_action(police, commitment_id, "endorse", {"party_id": "Police nationale"})

    with pytest.raises(InvalidInput, match="an administrator must say for which party they act"):
        tracker.commitment_action(admin, commitment_id, "endorse")
    with pytest.raises(InvalidInput, match="no such party"):
        tracker.commitment_action(admin, commitment_id, "endorse", {"party_id": "The army"})
    tracker.commitment_action(admin, commitment_id, "endorse", {"party_id": "Koglweogo"})

    commitment = tracker.commitment(commitment_id)
    assert commitment.endorsements == [world.parties["police"], world.parties["vigilante"]]
    endorsed_by_admin = events_of(tracker, commitment_id)[-1]
    assert endorsed_by_admin.meta.actor == admin.account_id
    assert endorsed_by_admin.meta.party == world.parties["vigilante"]


def test_only_the_responsible_party_reports_progress_milestones_and_completion(tracker):
    world = make_world(tracker)
    police, vigilante = world.members["police"], world.members["vigilante"]
    commitment_id = propose(tracker, world).id
    advance(tracker, world, commitment_id, "in_progress")  # assigned to the police
    milestone = tracker.commitment_action(police, commitment_id, "add-milestone",
                                          {"title": "Rota"}).extra["milestone_id"]
    version = tracker.commitment(commitment_id).version

    for action, fields in (("progress", {"percent": 30}), ("add-milestone", {"title": "Mine"}),
                           ("complete-milestone", {"milestone_id": milestone}),
                           ("complete", {"summary": "done"})):
        with pytest.raises(Forbidden, match="only the responsible party can"):
            tracker.commitment_action(vigilante, commitment_id, action, fields)
    assert tracker.commitment(commitment_id).version == version

    def offered(principal):
        return [o.action for o in policy.commitment_offers(
            principal, tracker.commitment(commitment_id), list(world.parties.values()))]

    assert "progress" not in offered(vigilante)
    assert "progress" in offered(police)

    tracker.commitment_action(police, commitment_id, "progress", {"percent": 30})
    tracker.commitment_action(police, commitment_id, "complete-milestone",
                              {"milestone_id": milestone})
    tracker.commitment_action(police, commitment_id, "complete", {"summary": "done"})
    assert tracker.commitment(commitment_id).status == "completed"
    # ... and the police cannot verify their own completion.
    with pytest.raises(Forbidden, match="other than the completing party"):
        tracker.commitment_action(police, commitment_id, "verify")


def test_proposing_with_a_case_links_the_commitment_to_the_case(tracker):
    world = make_world(tracker)
    case = tracker.raise_case(world.members["women"], world.slug, category="theft_burglary",
                              title="Night-time break-ins near the market")
    result = propose(tracker, world, case_id=case.id)

    assert tracker.commitment(result.id).case_id == case.id
    linked = tracker.get_case(case.id)
    assert linked["commitment_ids"] == [result.id]
    assert linked["version"] == 2
    # Both changes went into the log in one go; the answer's position is the last of them.
    assert result.position == tracker.recorder.max_notification_id()


def test_every_required_party_must_be_a_party_of_the_dialogue(tracker):
    world = make_world(tracker)
    position = tracker.recorder.max_notification_id()
    for required, message in (([], "at least one party"),
                              ([""], "name each party that must endorse"),
                              (["Police nationale", ""], "name each party that must endorse"),
                              (["The army"], "no such party")):
        with pytest.raises(InvalidInput, match=message):
            tracker.propose_commitment(world.members["police"], world.slug, title="Patrols",
                                       required_parties=required)
    assert tracker.recorder.max_notification_id() == position


def test_only_the_proposing_party_withdraws_its_proposal(tracker):
    world = make_world(tracker)
    commitment_id = propose(tracker, world, by="police").id
    with pytest.raises(Forbidden, match="only the party that proposed"):
        tracker.commitment_action(world.members["vigilante"], commitment_id, "withdraw",
                                  {"reason": "we prefer ours"})
    tracker.commitment_action(world.members["police"], commitment_id, "withdraw",
                              {"reason": "replaced by a joint proposal"})
    assert tracker.commitment(commitment_id).status == "withdrawn"


def test_dates_that_are_not_calendar_dates_are_refused_with_a_message(tracker):
    world = make_world(tracker)
    police = world.members["police"]
    commitment_id = propose(tracker, world).id
    advance(tracker, world, commitment_id, "agreed")
    version = tracker.commitment(commitment_id).version
    with pytest.raises(InvalidInput, match="due date must be a date"):
        tracker.commitment_action(police, commitment_id, "assign",
                                  {"party_id": "Police nationale", "due_date": "30/06/2030"})
    with pytest.raises(InvalidInput, match="occurred on must be a date"):
        tracker.commitment_action(police, commitment_id, "cancel", {"reason": "no budget"},
                                  occurred_on=datetime.now(UTC))
    assert tracker.commitment(commitment_id).version == version


def test_a_case_of_another_dialogue_cannot_be_named(tracker):
    world = make_world(tracker)
    make_world(tracker, "jos", with_members=False)
    jos_case = tracker.raise_case(SYSTEM, "jos", title="Clashes at the cattle market",
                                  category="violence", raised_by="Police nationale")
    with pytest.raises(InvalidInput, match="another dialogue"):
        propose(tracker, world, case_id=jos_case.id)
    assert tracker.get_case(jos_case.id)["commitment_ids"] == []


def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(tracker):
    world = make_world(tracker)
    police, vigilante = world.members["police"], world.members["vigilante"]
    commitment_id = propose(tracker, world, by="women").id

    # The police and the Koglweogo both opened the proposal at version 1; the police save first.
    tracker.commitment_action(police, commitment_id, "endorse", expected_version=1)
    position = tracker.recorder.max_notification_id()

    with pytest.raises(Conflict, match="now at version 2, you had version 1"):
        tracker.commitment_action(vigilante, commitment_id, "endorse", expected_version=1)

    assert tracker.commitment(commitment_id).version == 2
    assert len(events_of(tracker, commitment_id)) == 2
    assert tracker.recorder.max_notification_id() == position
    # With the current version it goes through.
    assert tracker.commitment_action(vigilante, commitment_id, "endorse",
                                     expected_version=2).version == 3


def test_a_backdated_action_keeps_its_business_date_and_the_recorded_time_is_the_store_s(tracker):
    world = make_world(tracker)
    police = world.members["police"]
    last_week = date.today() - timedelta(days=7)
    commitment_id = propose(tracker, world, by="women", occurred_on=last_week).id

    before = datetime.now(UTC)
    tracker.commitment_action(police, commitment_id, "endorse", occurred_on=last_week,
                              note="Endorsed at last week's meeting")
    after = datetime.now(UTC)

    endorsed = events_of(tracker, commitment_id)[-1]
    assert endorsed.meta.occurred_on == last_week
    assert endorsed.meta.note == "Endorsed at last week's meeting"
    assert before <= endorsed.timestamp <= after

    # Nobody can give the recorded time.
    for smuggled in ("timestamp", "recorded_at"):
        with pytest.raises(InvalidInput, match=f"does not take {smuggled}"):
            tracker.commitment_action(police, commitment_id, "agree",
                                      {smuggled: "2020-01-01T00:00:00+00:00"})
    assert tracker.commitment(commitment_id).version == 2


def test_a_business_date_far_in_the_future_or_the_past_is_refused(settings):
    today = date(2026, 3, 15)
    tracker = build_application(settings, today=lambda: today)
    try:
        world = make_world(tracker)
        police = world.members["police"]
        commitment_id = propose(tracker, world, by="women", occurred_on=date(1990, 1, 1)).id
        for when in (date(1989, 12, 31), today + timedelta(days=2), date(2999, 1, 1)):
            with pytest.raises(InvalidInput, match="the date it happened must be between"):
                tracker.commitment_action(police, commitment_id, "endorse", occurred_on=when)
        assert tracker.commitment(commitment_id).version == 1

        # The earliest date and today are accepted.
        tracker.commitment_action(police, commitment_id, "endorse", occurred_on=date(1990, 1, 1))
        tracker.commitment_action(world.members["vigilante"], commitment_id, "endorse",
                                  occurred_on=today)
        assert [e.meta.occurred_on for e in events_of(tracker, commitment_id)] == \
            [date(1990, 1, 1), date(1990, 1, 1), today]
    finally:
        tracker.close()


def test_every_answer_gives_the_position_of_its_event_in_the_log(tracker):
    world = make_world(tracker)
    police, vigilante = world.members["police"], world.members["vigilante"]
    positions = []

    def remember(result):
        assert result.position == tracker.recorder.max_notification_id()
        positions.append(result.position)
        return result

    commitment_id = remember(propose(tracker, world, by="women")).id
    remember(tracker.commitment_action(police, commitment_id, "endorse"))
    remember(tracker.commitment_action(vigilante, commitment_id, "endorse"))
    remember(tracker.raise_case(police, world.slug, title="Theft", category="other"))
    remember(tracker.commitment_action(police, commitment_id, "agree"))
    remember(tracker.add_party(SYSTEM, world.slug, name="Imams", kind="religious"))
    assert positions == sorted(set(positions))
    # The answer's version is the aggregate's.
    assert tracker.commitment(commitment_id).version == 4


def test_the_past_state_by_version_by_recorded_time_and_by_business_date(tracker):
    world = make_world(tracker)
    police, vigilante = world.members["police"], world.members["vigilante"]
    today = date.today()
    commitment_id = propose(tracker, world, by="women", occurred_on=today - timedelta(days=10)).id
    tracker.commitment_action(police, commitment_id, "endorse",
                              occurred_on=today - timedelta(days=9))
    tracker.commitment_action(vigilante, commitment_id, "endorse",
                              occurred_on=today - timedelta(days=8))
    tracker.commitment_action(police, commitment_id, "agree", occurred_on=today - timedelta(days=5))
    tracker.commitment_action(police, commitment_id, "assign",
                              {"party_id": world.parties["police"], "due_date": DUE})
    events = events_of(tracker, commitment_id)

    # By version: the same as loading that version.
    for version in range(1, 6):
        then = tracker.state_as_of(commitment_id, version=version)
        assert then == tracker.commitment(commitment_id, version=version).state()
    assert tracker.state_as_of(commitment_id, version=4)["status"] == "agreed"
    assert tracker.state_as_of(commitment_id, version=3)["endorsements"] == [
        world.parties["police"], world.parties["vigilante"]]

    # By recorded time: everything recorded up to that moment.
    assert tracker.state_as_of(commitment_id, as_of=events[2].timestamp)["version"] == 3
    assert tracker.state_as_of(commitment_id, as_of=events[3].timestamp)["status"] == "agreed"
    assert tracker.state_as_of(commitment_id, as_of=datetime.now(UTC))["status"] == "in_progress"
    with pytest.raises(NotFound):
        tracker.state_as_of(commitment_id, as_of=events[0].timestamp - timedelta(seconds=1))
    with pytest.raises(InvalidInput, match="offset"):
        tracker.state_as_of(commitment_id, as_of=events[3].timestamp.replace(tzinfo=None))

    # By business date: what had happened by the end of that day.
    six_days_ago = tracker.state_as_of(commitment_id, as_of_date=today - timedelta(days=6))
    assert six_days_ago["status"] == "proposed"
    assert len(six_days_ago["endorsements"]) == 2
    assert tracker.state_as_of(commitment_id, as_of_date=today - timedelta(days=5))["status"] == \
        "agreed"
    assert tracker.state_as_of(commitment_id, as_of_date=today)["status"] == "in_progress"
    with pytest.raises(NotFound):
        tracker.state_as_of(commitment_id, as_of_date=today - timedelta(days=11))


def test_the_past_of_an_unknown_record_is_not_found(tracker):
    with pytest.raises(NotFound):
        tracker.state_as_of("7e0d8c55-9e0c-4c4e-9d6f-0a4a7f1b3c11", version=1)
    with pytest.raises(NotFound):
        tracker.state_as_of("not-a-uuid", version=1)


# --- accounts, sign-in and tokens -------------------------------------------------------------

def test_an_account_signs_in_with_its_password_only(tracker):
    result = tracker.add_account(SYSTEM, name="Aminata.Ouedraogo", role="auditor",
                                 password=PASSWORD)
    assert result.id == str(account_id("aminata.ouedraogo"))

    principal = tracker.authenticate("aminata.ouedraogo", PASSWORD)
    assert principal is not None
    assert (principal.account_id, principal.name, principal.role) == \
        (result.id, "Aminata.Ouedraogo", "auditor")
    assert tracker.authenticate("Aminata.Ouedraogo", PASSWORD + "!") is None
    assert tracker.authenticate("Aminata.Ouedraogo", "") is None
    assert tracker.authenticate("nobody-here", PASSWORD) is None


def test_an_account_name_is_taken_whatever_its_case(tracker):
    tracker.add_account(SYSTEM, name="saaba-police", role="member", password=PASSWORD)
    position = tracker.recorder.max_notification_id()
    with pytest.raises(Conflict, match="an account called 'SAABA-Police' exists"):
        tracker.add_account(SYSTEM, name="SAABA-Police", role="admin", password="another password")
    assert tracker.recorder.max_notification_id() == position
    assert tracker.authenticate("saaba-police", PASSWORD).role == "member"


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "x", "role": "member", "password": PASSWORD}, "account name is 2 to 64"),
    ({"name": "a b", "role": "member", "password": PASSWORD}, "account name is 2 to 64"),
    ({"name": "amina", "role": "king", "password": PASSWORD}, "a role is one of"),
    ({"name": "amina", "role": "member", "password": "short"}, "at least 8 characters"),
])
def test_an_account_needs_a_good_name_a_known_role_and_a_long_enough_password(tracker, fields,
                                                                              message):
    with pytest.raises(InvalidInput, match=message):
        tracker.add_account(SYSTEM, **fields)
    assert not tracker.recorder.max_notification_id()


def test_only_an_admin_adds_accounts(tracker):
    world = make_world(tracker)
    with pytest.raises(Forbidden, match="only an administrator"):
        tracker.add_account(world.members["police"], name="friend", role="admin",
                            password=PASSWORD)


def test_a_deactivated_account_can_no_longer_sign_in_nor_use_its_tokens(tracker):
    world = make_world(tracker)
    token = tracker.create_token(SYSTEM, "saaba-police")
    admin = account(tracker, "admin-1", "admin")

    tracker.deactivate_account(admin, "saaba-police", reason="Transferred to Ouagadougou")
    assert tracker.authenticate("saaba-police", PASSWORD) is None
    assert tracker.principal_for_token(token) is None
    assert tracker.principal_by_id(world.members["police"].account_id) is None
    with pytest.raises(TransitionRefused, match="already deactivated"):
        tracker.deactivate_account(admin, "saaba-police", reason="again")
    deactivated = events_of(tracker, world.members["police"].account_id)[-1]
    assert type(deactivated).__name__ == "Deactivated"
    assert deactivated.meta.actor == admin.account_id

    tracker.reactivate_account(admin, "saaba-police")
    assert tracker.authenticate("saaba-police", PASSWORD).name == "saaba-police"
    assert tracker.principal_for_token(token).name == "saaba-police"


def test_a_signed_in_account_follows_changes_made_through_another_server(tracker, settings):
    """A server asks for the signed-in account on every request and keeps it per version: a
    deactivation or a membership change made through another process counts at its next request."""
    world = make_world(tracker)
    police = world.members["police"].account_id
    admin = account(tracker, "admin-1", "admin")
    other = build_application(settings)  # a second server on the same store
    try:
        assert tracker.principal_by_id(police).memberships == {
            world.dialogue_id: world.parties["police"]}
        assert tracker.principal_by_id(police) is tracker.principal_by_id(police)  # kept

        other.revoke_membership(admin, "saaba-police", slug=world.slug)
        assert tracker.principal_by_id(police).memberships == {}
        other.deactivate_account(admin, "saaba-police", reason="Transferred")
        assert tracker.principal_by_id(police) is None
        other.reactivate_account(admin, "saaba-police")
        other.grant_membership(admin, "saaba-police", slug=world.slug, party="Koglweogo")
        assert tracker.principal_by_id(police).memberships == {
            world.dialogue_id: world.parties["vigilante"]}
        assert tracker.principal_by_id(world.dialogue_id) is None  # not an account
        assert tracker.principal_by_id("not-an-id") is None
    finally:
        other.close()


def test_a_signed_in_account_checked_at_the_log_s_head_is_asked_again_once_the_log_grows(
        tracker, settings, monkeypatch):
    """A read gives the log's head it has just asked (`head=`): at the same head the account is
    not asked for again (nothing but an event can change it, and every event moves the head);
    a change made through another server moves it, and counts at once."""
    world = make_world(tracker)
    police = world.members["police"].account_id
    admin = account(tracker, "admin-1", "admin")
    asked = []
    latest_versions = tracker.latest_versions
    monkeypatch.setattr(tracker, "latest_versions",
                        lambda ids: asked.append(ids) or latest_versions(ids))
    other = build_application(settings)
    try:
        head = tracker.recorder.max_notification_id()
        assert tracker.principal_by_id(police, head=head).name == "saaba-police"
        assert len(asked) == 1
        assert tracker.principal_by_id(police, head=head).name == "saaba-police"
        assert len(asked) == 1  # the same head: not asked again
        assert tracker.principal_by_id(police) is not None
        assert len(asked) == 2  # no head: asked

        other.deactivate_account(admin, "saaba-police", reason="Transferred")
        assert tracker.principal_by_id(police, head=tracker.recorder.max_notification_id()) is None
        assert len(asked) == 3
    finally:
        other.close()


def test_an_api_token_is_shown_once_and_only_its_digest_is_stored(tracker):
    world = make_world(tracker)
    token = tracker.create_token(SYSTEM, "saaba-police", label="phone")

    principal = tracker.principal_for_token(token)
    assert principal is not None
    assert principal.name == "saaba-police"
    assert principal.memberships == {world.dialogue_id: world.parties["police"]}
    assert tracker.principal_for_token(token + "x") is None
    assert tracker.principal_for_token("") is None
    assert tracker.principal_for_token("x" * 500) is None

    # Neither the token nor any password is anywhere in the log; the token's digest is.
    states = stored_states(tracker)
    assert len(states) == tracker.recorder.max_notification_id()
    assert not any(token.encode() in state for state in states)
    assert not any(PASSWORD.encode() in state for state in states)
    assert any(token_digest(token).encode() in state for state in states)


def test_a_member_creates_tokens_for_themselves_only(tracker):
    world = make_world(tracker)
    police = world.members["police"]
    own = tracker.create_token(police, "saaba-police")
    assert tracker.principal_for_token(own).account_id == police.account_id
    with pytest.raises(Forbidden, match="only for yourself"):
        tracker.create_token(police, "saaba-vigilante")


def test_granting_and_revoking_membership_are_events_naming_who_did_it(tracker):
    world = make_world(tracker, with_members=False)
    admin = account(tracker, "admin-1", "admin")
    tracker.add_account(admin, name="issa", role="member", password=PASSWORD)

    tracker.grant_membership(admin, "issa", slug=world.slug, party="Koglweogo",
                             note="Elected at the March meeting")
    issa = tracker.authenticate("issa", PASSWORD)
    assert issa.memberships == {world.dialogue_id: world.parties["vigilante"]}
    tracker.raise_case(issa, world.slug, title="Cattle theft", category="theft_burglary")

    tracker.revoke_membership(admin, "issa", slug=world.slug, note="Left the Koglweogo")
    issa = tracker.authenticate("issa", PASSWORD)
    assert issa.memberships == {}
    with pytest.raises(Forbidden):
        tracker.raise_case(issa, world.slug, title="Cattle theft", category="theft_burglary")

    history = [(type(e).__name__, e.meta.actor, e.meta.note)
               for e in events_of(tracker, issa.account_id)]
    assert history == [
        ("Opened", admin.account_id, None),
        ("MembershipGranted", admin.account_id, "Elected at the March meeting"),
        ("MembershipRevoked", admin.account_id, "Left the Koglweogo"),
    ]
    granted = events_of(tracker, issa.account_id)[1]
    assert (granted.dialogue_id, granted.party_id) == (world.dialogue_id,
                                                       world.parties["vigilante"])


def test_only_members_belong_to_dialogues(tracker):
    world = make_world(tracker, with_members=False)
    tracker.add_account(SYSTEM, name="auditor-1", role="auditor", password=PASSWORD)
    with pytest.raises(InvalidInput, match="only a member account"):
        tracker.grant_membership(SYSTEM, "auditor-1", slug=world.slug, party="Koglweogo")
    with pytest.raises(InvalidInput, match="name the party"):
        tracker.grant_membership(SYSTEM, "auditor-1", slug=world.slug, party="")


def test_the_past_of_every_kind_of_record_can_be_shown(tracker):
    world = make_world(tracker)
    case_id = tracker.raise_case(world.members["women"], world.slug, title="Theft",
                                 category="other").id
    commitment_id = propose(tracker, world).id
    token = tracker.create_token(SYSTEM, "saaba-police", label="phone")
    token_id = tracker.account_by_name("saaba-police").tokens[0]

    for record_id in (world.dialogue_id, case_id, commitment_id,
                      world.members["police"].account_id, token_id):
        then = tracker.state_as_of(record_id, version=1)
        assert then["id"] == str(record_id)
        assert then["version"] == 1
    token_state = tracker.state_as_of(token_id, version=1)
    assert token_state["label"] == "phone"
    assert token_state["revoked"] is False
    assert token_digest(token) not in token_state.values()
    assert "password_hash" not in tracker.state_as_of(world.members["police"].account_id,
                                                      version=1)


def test_a_case_is_resolved_closed_reopened_and_gathers_commitments(tracker):
    world = make_world(tracker)
    women, police = world.members["women"], world.members["police"]
    case_id = tracker.raise_case(women, world.slug, title="Night-time break-ins",
                                 category="theft_burglary", description="Three shops in March").id
    assert tracker.get_case(case_id)["raised_by"] == world.parties["women"]
    commitment_id = propose(tracker, world).id

    tracker.case_action(police, case_id, "link", {"commitment_id": commitment_id})
    with pytest.raises(InvalidInput, match="already linked"):
        tracker.case_action(police, case_id, "link", {"commitment_id": commitment_id})
    with pytest.raises(NotFound):
        tracker.case_action(police, case_id, "link", {"commitment_id": "no-such-commitment"})
    with pytest.raises(InvalidInput, match="summary is required"):
        tracker.case_action(police, case_id, "resolve", {})
    with pytest.raises(NotFound, match="cases have no action 'archive'"):
        tracker.case_action(police, case_id, "archive", {"reason": "old"})

    tracker.case_action(women, case_id, "resolve", {"summary": "Patrols stopped them"})
    tracker.case_action(women, case_id, "close", {"reason": "Nothing more to do"})
    with pytest.raises(TransitionRefused, match="closed case cannot take new commitments"):
        tracker.case_action(police, case_id, "link", {"commitment_id": propose(tracker, world).id})
    result = tracker.case_action(women, case_id, "reopen", {"reason": "They started again"},
                                 expected_version=4)

    case = tracker.get_case(case_id)
    assert (case["status"], case["version"], result.version) == ("open", 5, 5)
    assert case["commitment_ids"] == [commitment_id]
    assert case["resolution"] == "Patrols stopped them"


def test_a_dialogue_is_started_once_meets_and_concludes(tracker):
    world = make_world(tracker)
    police = world.members["police"]
    with pytest.raises(Conflict, match="a dialogue called 'saaba' exists"):
        tracker.create_dialogue(SYSTEM, slug="saaba", name="Another", country="BF",
                                locality="Saaba")
    with pytest.raises(Forbidden, match="only an administrator"):
        tracker.add_party(police, world.slug, name="Imams", kind="religious")
    with pytest.raises(NotFound):
        tracker.dialogue_by_slug("Not A Slug")

    meeting = tracker.record_meeting(police, world.slug, held_on=date.today() - timedelta(days=2),
                                     title="March session",
                                     attendance={"Police nationale": 4, "Koglweogo": 6})
    with pytest.raises(InvalidInput, match="no party 'Army'"):
        tracker.record_meeting(police, world.slug, held_on=date.today(), title="Session",
                               attendance={"Army": 2})
    tracker.conclude_dialogue(SYSTEM, world.slug, reason="The project year is over")

    for refused in (lambda: propose(tracker, world),
                    lambda: tracker.raise_case(police, world.slug, title="Theft",
                                               category="other"),
                    lambda: tracker.add_party(SYSTEM, world.slug, name="Imams", kind="religious")):
        with pytest.raises(TransitionRefused, match="concluded"):
            refused()

    dialogue = tracker.dialogue_by_slug(world.slug)
    assert dialogue.concluded
    assert dialogue.meetings[0]["id"] == meeting.extra["meeting_id"]
    assert dialogue.meetings[0]["attendance"] == {world.parties["police"]: 4,
                                                  world.parties["vigilante"]: 6}
    assert dialogue.meetings[0]["held_on"] == date.today() - timedelta(days=2)
    tracker.reopen_dialogue(SYSTEM, world.slug, reason="New break-ins")
    assert propose(tracker, world).version == 2  # proposed, and endorsed by the police


def test_the_actions_offered_to_each_person_are_exactly_those_that_succeed(tracker):
    """What `policy.commitment_offers` offers (the buttons on a commitment's page) is what the
    command allows: tried for every person, every status and every command on a commitment."""
    world = make_world(tracker)
    admin = account(tracker, "admin-1", "admin")
    people = dict(world.members, admin=admin)
    parties = list(world.parties.values())

    def build(status: str) -> str:
        commitment_id = propose(tracker, world, by="women").id
        if status == "endorsed":
            for kind in ("police", "vigilante"):
                tracker.commitment_action(world.members[kind], commitment_id, "endorse")
        elif status == "cancelled":
            advance(tracker, world, commitment_id, "in_progress")
            tracker.commitment_action(SYSTEM, commitment_id, "cancel", {"reason": "no budget"})
        elif status != "proposed":
            advance(tracker, world, commitment_id, status)
        if status == "in_progress":
            tracker.commitment_action(world.members["police"], commitment_id, "add-milestone",
                                      {"title": "Rota"})
        return commitment_id

    def fields_for(action: str, commitment, offer) -> dict:
        fields = {
            "amend": {"title": "Patrols also on feast days", "reason": "feasts"},
            "reject": {"reason": "no"}, "withdraw": {"reason": "no"},
            "assign": {"party_id": "Police nationale", "due_date": DUE},
            "progress": {"percent": 50}, "add-milestone": {"title": "Second rota"},
            "complete-milestone": {"milestone_id": (commitment.milestones or [{"id": "-"}])[0]["id"]},
            "attach-evidence": {"description": "Patrol log"}, "complete": {"summary": "done"},
            "dispute": {"reason": "no"}, "cancel": {"reason": "no"}, "reopen": {"reason": "again"},
            "set-visibility": {"public": not commitment.public, "reason": "informants"},
            "comment": {"note": "The market road is still dark"},
        }.get(action, {})
        if offer is not None and offer.parties:  # an administrator names a party it may act for
            fields = dict(fields, **{offer.command.party_field: offer.parties[0]})
        return fields

    tried = refused = 0
    for status in ("proposed", "endorsed", "agreed", "in_progress", "completed", "verified",
                   "cancelled"):
        commitment_id = None
        for action in COMMITMENT_COMMANDS:
            for who, principal in people.items():
                # A refused command changes nothing, so a new commitment is needed only after
                # a success.
                commitment_id = commitment_id or build(status)
                commitment = tracker.commitment(commitment_id)
                offers = {o.action: o for o in policy.commitment_offers(principal, commitment,
                                                                        parties)}
                try:
                    tracker.commitment_action(principal, commitment_id, action,
                                              fields_for(action, commitment, offers.get(action)))
                    succeeded, commitment_id = True, None
                except (Forbidden, TransitionRefused, InvalidInput):
                    succeeded = False
                    assert tracker.commitment(commitment_id).version == commitment.version
                assert (action in offers) == succeeded, (who, action, status)
                tried += 1
                refused += not succeeded
    # Both answers occur: the test is not comparing two empty lists.
    assert 0 < refused < tried
    assert tried == 7 * len(COMMITMENT_COMMANDS) * len(people)


# --- business time, links, evidence ---------------------------------------------------------------

def test_an_event_may_not_be_dated_before_the_record_s_previous_event(tracker):
    world = make_world(tracker)
    police, vigilante = world.members["police"], world.members["vigilante"]
    today = date.today()
    commitment_id = propose(tracker, world, occurred_on=today - timedelta(days=5)).id
    position = tracker.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as refused:
        tracker.commitment_action(vigilante, commitment_id, "endorse",
                                  occurred_on=today - timedelta(days=6))
    assert refused.value.field == "occurred_on"
    assert (today - timedelta(days=5)).isoformat() in refused.value.message
    assert tracker.recorder.max_notification_id() == position
    # the same day, or later, is fine
    tracker.commitment_action(vigilante, commitment_id, "endorse",
                              occurred_on=today - timedelta(days=5))
    tracker.commitment_action(police, commitment_id, "agree", occurred_on=today - timedelta(days=1))

    # a case too
    case_id = tracker.raise_case(police, world.slug, title="Theft", category="other",
                                 occurred_on=today - timedelta(days=2)).id
    with pytest.raises(InvalidInput, match="may not be before"):
        tracker.case_action(police, case_id, "resolve", {"summary": "Calm"},
                            occurred_on=today - timedelta(days=3))
    # a meeting keeps the date it was held, whatever happened to the dialogue since
    tracker.add_party(SYSTEM, world.slug, name="Imams", kind="religious")
    tracker.record_meeting(police, world.slug, held_on=today - timedelta(days=30),
                           title="Last month's session", attendance={})


def test_linking_a_case_and_a_commitment_changes_both_records_at_once(tracker):
    world = make_world(tracker)
    women, police = world.members["women"], world.members["police"]
    case_id = tracker.raise_case(women, world.slug, title="Break-ins", category="other").id
    other_case = tracker.raise_case(women, world.slug, title="Clashes", category="violence").id
    commitment_id = propose(tracker, world).id

    result = tracker.case_action(police, case_id, "link", {"commitment_id": commitment_id})
    assert tracker.get_case(case_id)["commitment_ids"] == [commitment_id]
    commitment = tracker.commitment(commitment_id)
    assert commitment.case_id == case_id
    linked = events_of(tracker, commitment_id)[-1]
    assert type(linked).__name__ == "LinkedToCase"
    assert tracker.mapper.to_stored_event(linked).topic == "commitment.linked_to_case"
    assert result.position == tracker.recorder.max_notification_id()

    position = tracker.recorder.max_notification_id()
    with pytest.raises(InvalidInput, match="already linked to another case"):
        tracker.case_action(police, other_case, "link", {"commitment_id": commitment_id})
    assert tracker.recorder.max_notification_id() == position
    assert tracker.get_case(other_case)["commitment_ids"] == []


def test_evidence_is_private_unless_said_public_and_old_evidence_reads_as_private(tracker):
    import json

    from eventsourcing.persistence import StoredEvent

    from projections.binding import inner_state

    world = make_world(tracker)
    police = world.members["police"]
    commitment_id = propose(tracker, world).id
    advance(tracker, world, commitment_id, "in_progress")
    tracker.commitment_action(police, commitment_id, "attach-evidence",
                              {"description": "Photo of the patrol, faces visible"})
    tracker.commitment_action(police, commitment_id, "attach-evidence",
                              {"description": "Signed patrol log", "public": True})
    assert [e["public"] for e in tracker.commitment(commitment_id).evidence] == [False, True]

    # an EvidenceAttached stored before the fields existed (version 1: no `public`, no `photo`)
    recent = events_of(tracker, commitment_id)[-1]
    stored = tracker.mapper.to_stored_event(recent)
    state = json.loads(inner_state(stored.state))
    assert state.pop("class_version") == 3 and state.pop("public") is True
    assert state.pop("photo") == ""
    old = StoredEvent(originator_id=stored.originator_id,
                      originator_version=stored.originator_version, topic=stored.topic,
                      state=tracker.mapper.binder.bind(stored.topic, str(stored.originator_id),
                                                       stored.originator_version,
                                                       json.dumps(state).encode()))
    assert tracker.mapper.to_domain_event(old).public is False
    assert tracker.mapper.to_domain_event(old).photo == ""


def test_a_required_party_or_an_admin_sets_who_can_see_a_commitment(tracker):
    world = make_world(tracker)
    commitment_id = propose(tracker, world).id
    with pytest.raises(Forbidden, match="change who can see the commitment"):
        tracker.set_commitment_visibility(world.members["women"], commitment_id, public=False,
                                          reason="Names a witness")
    tracker.set_commitment_visibility(world.members["vigilante"], commitment_id, public=False,
                                      reason="Names a witness")
    assert tracker.commitment(commitment_id).public is False
    with pytest.raises(InvalidInput, match="already private"):
        tracker.set_commitment_visibility(SYSTEM, commitment_id, public=False, reason="again")
    tracker.set_commitment_visibility(SYSTEM, commitment_id, public=True, reason="Reviewed")
    assert tracker.commitment(commitment_id).public is True


def test_any_party_of_the_dialogue_adds_a_note_in_any_status(tracker):
    """The parties that may not act can still be heard: a note, in any status, public or not."""
    world = make_world(tracker)
    women = world.members["women"]  # neither proposer, nor required, nor responsible
    commitment_id = propose(tracker, world).id
    tracker.commitment_action(world.members["police"], commitment_id, "withdraw",
                              {"reason": "Replaced"})
    tracker.commitment_action(women, commitment_id, "comment",
                              {"note": "We were not asked about the market road"})
    tracker.commitment_action(women, commitment_id, "comment",
                              {"note": "Thank you for the new proposal", "public": True})
    notes = [(type(e).__name__, e.meta.note, e.public, e.meta.party)
             for e in events_of(tracker, commitment_id)[-2:]]
    assert notes == [
        ("Commented", "We were not asked about the market road", False, world.parties["women"]),
        ("Commented", "Thank you for the new proposal", True, world.parties["women"])]
    assert tracker.commitment(commitment_id).status == "withdrawn"  # nothing else changes

    stranger = account(tracker, "jos-police", "member", make_world(tracker, "jos", False),
                       "Police nationale")
    auditor = account(tracker, "auditor-1", "auditor")
    position = tracker.recorder.max_notification_id()
    with pytest.raises(InvalidInput, match="note is required"):
        tracker.commitment_action(women, commitment_id, "comment", {"note": "   "})
    with pytest.raises(Forbidden, match="not a member of this dialogue"):
        tracker.commitment_action(stranger, commitment_id, "comment", {"note": "Hello"})
    with pytest.raises(Forbidden, match="auditors"):
        tracker.commitment_action(auditor, commitment_id, "comment", {"note": "Hello"})
    assert tracker.recorder.max_notification_id() == position
