"""Who is told what: each row of the table against expectations written out by hand (told, and
not told), and the list of what waits for a party (the reminders and the home page)."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.notices import Cause, told, waiting_for

POLICE, VIGILANTE, WOMEN, YOUTH = "p-police", "p-vigilante", "p-women", "p-youth"


def state(**fields):
    base = {"status": "proposed", "proposed_by": POLICE, "required_parties": [POLICE, VIGILANTE, WOMEN],
            "endorsements": [POLICE], "responsible_party": None, "completed_by": None,
            "due_date": None}
    base.update(fields)
    return base


def test_a_proposal_tells_the_required_parties_but_the_proposer_which_endorses_with_it():
    # (its endorsement is the event after the proposal)
    assert told("Proposed", None, state(endorsements=[])) == [
        (Cause.ENDORSE, VIGILANTE), (Cause.ENDORSE, WOMEN)]
    assert told("Proposed", None, state(proposed_by=YOUTH, endorsements=[])) == [
        (Cause.ENDORSE, POLICE), (Cause.ENDORSE, VIGILANTE), (Cause.ENDORSE, WOMEN)]


def test_an_amendment_asks_every_required_party_again_and_tells_the_proposer():
    after = state(endorsements=[])
    assert told("Amended", state(), after) == [
        (Cause.ENDORSE, POLICE), (Cause.ENDORSE, VIGILANTE), (Cause.ENDORSE, WOMEN),
        (Cause.AMENDED, POLICE)]


def test_an_endorsement_tells_nobody():
    assert told("Endorsed", state(), state(endorsements=[POLICE, VIGILANTE])) == []


@pytest.mark.parametrize("event, cause", [("Agreed", Cause.AGREED), ("Rejected", Cause.REJECTED)])
def test_agreeing_or_rejecting_tells_the_proposer_only(event, cause):
    after = state(status=event.lower(), endorsements=[POLICE, VIGILANTE, WOMEN])
    assert told(event, state(), after) == [(cause, POLICE)]


def test_a_withdrawal_tells_nobody():
    assert told("Withdrawn", state(), state(status="withdrawn")) == []


def test_assigning_tells_the_responsible_party_only():
    after = state(status="in_progress", responsible_party=YOUTH, due_date="2030-01-01")
    assert told("Assigned", state(status="agreed"), after) == [(Cause.RESPONSIBLE, YOUTH)]


@pytest.mark.parametrize("event", ["ProgressReported", "MilestoneAdded", "EvidenceAttached",
                                   "Completed", "Cancelled", "Reopened", "Commented"])
def test_other_events_tell_no_party(event):
    after = state(status="in_progress", responsible_party=YOUTH, completed_by=YOUTH)
    assert told(event, after, after) == []


def test_a_verification_tells_the_party_that_completed():
    before = state(status="completed", responsible_party=YOUTH, completed_by=YOUTH)
    after = dict(before, status="verified")
    assert told("Verified", before, after) == [(Cause.VERIFIED, YOUTH)]


def test_a_dispute_tells_the_party_whose_completion_it_was_though_the_dispute_clears_it():
    before = state(status="completed", responsible_party=YOUTH, completed_by=YOUTH)
    after = dict(before, status="in_progress", completed_by=None)
    assert told("Disputed", before, after) == [(Cause.DISPUTED, YOUTH)]


# --- what waits for a party ----------------------------------------------------------------------

TODAY = date(2026, 3, 10)


def row(id_, **fields):
    return dict(state(**fields), id=id_)


ROWS = [
    row("to-endorse"),  # vigilante and women have not endorsed
    row("endorsed-by-all", endorsements=[POLICE, VIGILANTE, WOMEN]),
    row("overdue", status="in_progress", responsible_party=YOUTH, due_date="2026-03-09"),
    row("due-today", status="in_progress", responsible_party=YOUTH, due_date="2026-03-10"),
    row("due-in-7", status="in_progress", responsible_party=YOUTH, due_date="2026-03-17"),
    row("due-in-8", status="in_progress", responsible_party=YOUTH, due_date="2026-03-18"),
    row("done-late", status="completed", responsible_party=YOUTH, completed_by=YOUTH,
        due_date="2026-01-01"),
    row("cancelled", status="cancelled", responsible_party=YOUTH, due_date="2026-01-01"),
]


def test_what_waits_for_each_party():
    def ids(party):
        return [(cause, r["id"]) for cause, r in waiting_for(party, ROWS, TODAY)]

    assert ids(VIGILANTE) == [(Cause.ENDORSE, "to-endorse"), (Cause.TO_VERIFY, "done-late")]
    assert ids(POLICE) == [(Cause.TO_VERIFY, "done-late")]  # it endorsed its own proposal
    assert ids(YOUTH) == [(Cause.OVERDUE, "overdue"), (Cause.DUE_SOON, "due-today"),
                          (Cause.DUE_SOON, "due-in-7"), (Cause.TO_REPORT, "due-in-8")]
    assert ids("p-nobody") == []


def test_rows_with_json_lists_read_the_same():
    import json

    rows = [dict(r, required_parties=json.dumps(r["required_parties"]),
                 endorsements=json.dumps(r["endorsements"])) for r in ROWS]
    def ids(rows_):
        return [(cause, r["id"]) for cause, r in waiting_for(WOMEN, rows_, TODAY)]

    assert ids(rows) == ids(ROWS) == [(Cause.ENDORSE, "to-endorse"), (Cause.TO_VERIFY, "done-late")]
