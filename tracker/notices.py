"""Who is told what: one table of (event, party relative to the record) -> the cause of a notice.

The policy table (tracker/policy.py) says who may act; this table says who hears of it. A row reads:
when a commitment records this event, the members of the party in this relation to it are told,
for this cause. The relations are those of the policy's roles, read from the commitment's state
right after the event (`before` for a completion that a dispute has just cleared). The member who
acted is never told of their own action.

Besides the table: anyone who may read a commitment may watch it or its dialogue (every change,
cause `watched`), and two reminders follow from the read models' due dates with the date of the
run (`waiting_for`): seven days before the due date, and once it has passed. `waiting_for` is also
the member's home list, "what needs my party".

The outbox view (projections/outbox.py) asks `told(event_type, before, after)` for each event
once; `tracker.mailer` delivers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from domain.errors import N_
from domain.lifecycle import Status, is_overdue

if TYPE_CHECKING:
    from projections.feed import Feed
    from projections.outbox import OutboxView
    from projections.store import Store

REMINDER_DAYS = 7  # the first reminder, this many days before the due date


class Cause(StrEnum):
    """Why someone is told (also the second part of a notice's key)."""

    ENDORSE = "endorse"  # your party's endorsement is needed
    RESPONSIBLE = "responsible"  # your party is made responsible
    DUE_SOON = "due_soon"  # due in seven days or fewer
    OVERDUE = "overdue"  # the due date has passed
    VERIFIED = "verified"  # your party's completion is verified
    DISPUTED = "disputed"  # your party's completion is disputed
    AGREED = "agreed"  # your party's proposal is agreed
    REJECTED = "rejected"  # ... rejected
    AMENDED = "amended"  # ... amended
    TO_REPORT = "to_report"  # (home list only) in progress, your party reports on it
    TO_VERIFY = "to_verify"  # (home list only) completed by another party, yours may verify
    WATCHED = "watched"  # a change to something you watch
    PUBLIC = "public"  # a public change, for the public's subscribers


class Told(StrEnum):
    """The party told, relative to the commitment (the policy's roles)."""

    OTHER_REQUIRED = "required, other than the proposer"  # (the proposer endorses as it proposes)
    NOT_YET_ENDORSED = "required, not yet endorsed"
    PROPOSER = "proposer"
    RESPONSIBLE = "responsible"
    COMPLETER = "completer"  # the party whose completion it was


@dataclass(frozen=True)
class Notice:
    event: str
    told: Told
    cause: Cause


NOTICES: tuple[Notice, ...] = (
    Notice("Proposed", Told.OTHER_REQUIRED, Cause.ENDORSE),
    Notice("Amended", Told.NOT_YET_ENDORSED, Cause.ENDORSE),  # an amendment clears endorsements
    Notice("Amended", Told.PROPOSER, Cause.AMENDED),
    Notice("Agreed", Told.PROPOSER, Cause.AGREED),
    Notice("Rejected", Told.PROPOSER, Cause.REJECTED),
    Notice("Assigned", Told.RESPONSIBLE, Cause.RESPONSIBLE),
    Notice("Verified", Told.COMPLETER, Cause.VERIFIED),
    Notice("Disputed", Told.COMPLETER, Cause.DISPUTED),
)

# What each cause says, as the mail's line and the home list's heading (translated in the catalogues).
CAUSE_TEXT: dict[Cause, str] = {
    Cause.ENDORSE: N_("Your party's endorsement is needed"),
    Cause.RESPONSIBLE: N_("Your party is now responsible for this commitment"),
    Cause.DUE_SOON: N_("Due within seven days"),
    Cause.OVERDUE: N_("Overdue: the due date has passed"),
    Cause.VERIFIED: N_("Your party's completion was verified"),
    Cause.DISPUTED: N_("Your party's completion was disputed"),
    Cause.AGREED: N_("Your party's proposal was agreed"),
    Cause.REJECTED: N_("Your party's proposal was rejected"),
    Cause.AMENDED: N_("Your party's proposal was amended"),
    Cause.TO_REPORT: N_("To report on"),
    Cause.TO_VERIFY: N_("To verify"),
    Cause.WATCHED: N_("A change to something you watch"),
    Cause.PUBLIC: N_("A public change"),
}

_BY_EVENT: dict[str, tuple[Notice, ...]] = {}
for _notice in NOTICES:
    _BY_EVENT[_notice.event] = (*_BY_EVENT.get(_notice.event, ()), _notice)


def parties_told(told: Told, before: Mapping[str, Any] | None,
                 after: Mapping[str, Any]) -> list[str]:
    """The parties in this relation to the commitment, once the event is applied."""
    if told is Told.OTHER_REQUIRED:
        return [p for p in after.get("required_parties") or () if p != after.get("proposed_by")]
    if told is Told.NOT_YET_ENDORSED:
        return [p for p in after.get("required_parties") or ()
                if p not in (after.get("endorsements") or ())]
    if told is Told.PROPOSER:
        return [after["proposed_by"]] if after.get("proposed_by") else []
    if told is Told.RESPONSIBLE:
        return [after["responsible_party"]] if after.get("responsible_party") else []
    completer = after.get("completed_by") or (before or {}).get("completed_by")
    return [completer] if completer else []


def told(event_type: str, before: Mapping[str, Any] | None,
         after: Mapping[str, Any]) -> list[tuple[Cause, str]]:
    """(cause, party id) for every party told of this commitment event, by the table."""
    found: list[tuple[Cause, str]] = []
    for notice in _BY_EVENT.get(event_type, ()):
        for party in parties_told(notice.told, before, after):
            if (notice.cause, party) not in found:
                found.append((notice.cause, party))
    return found


def is_notice_event(event_type: str) -> bool:
    return event_type in _BY_EVENT


# --- what waits for a party: the reminders and the member's home ----------------------------------

def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def waiting_for(party: str, commitments: Iterable[Mapping[str, Any]],
                today: date) -> list[tuple[Cause, Mapping[str, Any]]]:
    """What the party has to do or watch, as (cause, commitment row), one cause per commitment:
    to endorse (proposed, required, not yet endorsed by it), overdue or due within seven days
    (in progress, its responsibility), to report on (in progress, its responsibility), to verify
    (completed by another party, it is required). Rows need `status`, `required_parties`,
    `endorsements`, `responsible_party`, `due_date`, `completed_by` (lists, or JSON text).
    `projections.queries.PrivateQueries.waiting` picks the same rows in SQL (a workspace counts
    them there and reads ten): a change to this rule is made there too, and
    tests/projections/test_waiting_query.py fails until it is."""
    import json

    found = []
    for row in commitments:
        required = row.get("required_parties") or []
        endorsed = row.get("endorsements") or []
        if isinstance(required, str):
            required = json.loads(required)
        if isinstance(endorsed, str):
            endorsed = json.loads(endorsed)
        status = row.get("status")
        due = _day(row.get("due_date"))
        cause = None
        if status == Status.PROPOSED and party in required and party not in endorsed:
            cause = Cause.ENDORSE
        elif status == Status.IN_PROGRESS and row.get("responsible_party") == party:
            if is_overdue(status, due, today):
                cause = Cause.OVERDUE
            elif due is not None and due - today <= timedelta(days=REMINDER_DAYS):
                cause = Cause.DUE_SOON
            else:
                cause = Cause.TO_REPORT
        elif (status == Status.COMPLETED and party in required
              and row.get("completed_by") != party):
            cause = Cause.TO_VERIFY
        if cause is not None:
            found.append((cause, row))
    return found


REMINDERS = (Cause.DUE_SOON, Cause.OVERDUE)  # the causes of `waiting_for` that are mailed


def outbox_view(store: Store, feed: Feed) -> OutboxView:
    """The outbox view, told by this table (see `tracker.bootstrap.build_read_models`)."""
    from projections.outbox import OutboxView

    return OutboxView(store, feed, told=told)  # type: ignore[arg-type]
