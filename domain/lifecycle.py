"""The commitment lifecycle as one table: which action is allowed from which status, and where it leads.

Read a row as: action -> (statuses it is allowed from, status it leads to). `None` as the target
means the status does not change. `reopen` is the one action whose target depends on history; the
commitment decides it (back to in progress if it was ever assigned, else back to agreed).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import NamedTuple

from domain.errors import N_, TransitionRefused


class Status(StrEnum):
    PROPOSED = "proposed"
    AGREED = "agreed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    VERIFIED = "verified"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


P, A, IP = Status.PROPOSED, Status.AGREED, Status.IN_PROGRESS
C, V = Status.COMPLETED, Status.VERIFIED
REOPEN = "reopen"  # marker target: decided by the commitment's history

class Rule(NamedTuple):
    sources: frozenset[Status]
    target: Status | str | None
    phrase: str  # completes "only an agreed commitment can ..."


LIFECYCLE: dict[str, Rule] = {
    "amend": Rule(frozenset({P}), None, N_("be amended")),
    "endorse": Rule(frozenset({P}), None, N_("be endorsed")),
    "agree": Rule(frozenset({P}), A, N_("be agreed")),
    "reject": Rule(frozenset({P}), Status.REJECTED, N_("be rejected")),
    "withdraw": Rule(frozenset({P}), Status.WITHDRAWN, N_("be withdrawn")),
    "assign": Rule(frozenset({A, IP}), IP, N_("be assigned")),
    "progress": Rule(frozenset({IP}), None, N_("have progress reported")),
    "add-milestone": Rule(frozenset({A, IP}), None, N_("get a new milestone")),
    "complete-milestone": Rule(frozenset({IP}), None, N_("have a milestone completed")),
    "attach-evidence": Rule(frozenset({IP, C, V}), None, N_("receive evidence")),
    "complete": Rule(frozenset({IP}), C, N_("be completed")),
    "verify": Rule(frozenset({C}), V, N_("be verified")),
    "dispute": Rule(frozenset({C}), IP, N_("be disputed")),
    "cancel": Rule(frozenset({A, IP}), Status.CANCELLED, N_("be cancelled")),
    "reopen": Rule(frozenset({C, V, Status.CANCELLED}), REOPEN, N_("be reopened")),
}

ACTIONS: tuple[str, ...] = tuple(LIFECYCLE)

# Statuses in which a commitment can no longer be overdue: done, or off the table.
NEVER_OVERDUE: frozenset[Status] = frozenset(
    {C, V, Status.REJECTED, Status.WITHDRAWN, Status.CANCELLED})


def is_overdue(status: str, due_date: date | None, today: date) -> bool:
    """The one rule for "overdue": a due date before today, and neither done nor off the table."""
    return bool(due_date and due_date < today and status not in NEVER_OVERDUE)

# How a status reads in a sentence ("this one is still proposed").
_STATUS_WORDS = {
    Status.PROPOSED: N_("still proposed"),
    Status.AGREED: N_("agreed but not yet assigned"),
    Status.IN_PROGRESS: N_("in progress"),
    Status.COMPLETED: N_("completed and waiting for verification"),
    Status.VERIFIED: N_("already verified"),
    Status.REJECTED: N_("rejected"),
    Status.WITHDRAWN: N_("withdrawn"),
    Status.CANCELLED: N_("cancelled"),
}
_ALLOWED_WORDS = {
    Status.PROPOSED: N_("a proposed"),
    Status.AGREED: N_("an agreed"),
    Status.IN_PROGRESS: N_("an in-progress"),
    Status.COMPLETED: N_("a completed"),
    Status.VERIFIED: N_("a verified"),
    Status.CANCELLED: N_("a cancelled"),
}
_ORDER = list(Status)


def allowed_actions(status: Status) -> list[str]:
    """Every action the lifecycle allows from this status, in table order."""
    return [action for action, rule in LIFECYCLE.items() if status in rule.sources]


def check_transition(action: str, status: Status) -> Status | str | None:
    """Return the action's target, or raise TransitionRefused with a sentence saying why."""
    try:
        rule = LIFECYCLE[action]
    except KeyError:
        raise TransitionRefused(f"unknown action {action!r}") from None
    if status not in rule.sources:
        allowed = " or ".join(_ALLOWED_WORDS[s] for s in sorted(rule.sources, key=_ORDER.index))
        raise TransitionRefused(
            f"only {allowed} commitment can {rule.phrase}; this one is {_STATUS_WORDS[status]}"
        )  # its catalogue entry: web/labels.py
    return rule.target
