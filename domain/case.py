"""The case: a security problem a dialogue has identified (break-ins, clashes, smuggling ...)."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.base import Dated, Meta, clean_text, clean_title
from domain.errors import InvalidInput, TransitionRefused

CATEGORIES = (
    "theft_burglary", "violence", "smuggling", "drugs", "public_order",
    "police_community_relations", "land_property", "other",
)
OPEN, RESOLVED, CLOSED = "open", "resolved", "closed"

# The case lifecycle: action -> the statuses it is allowed from (in this order in messages), and
# how the refusal ends ("only open cases can be resolved").
CASE_LIFECYCLE: dict[str, tuple[tuple[str, ...], str]] = {
    "resolve": ((OPEN,), "be resolved"),
    "close": ((OPEN, RESOLVED), "be closed"),
    "reopen": ((RESOLVED, CLOSED), "be reopened"),
    "link": ((OPEN, RESOLVED), "take new commitments"),
}


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise InvalidInput(f"a case's category is one of: {', '.join(CATEGORIES)}", "category")
    return category


class Case(Dated):
    TOPIC = "case"

    class Created(Aggregate.Created):
        TOPIC = "case.created"

    @event("Raised", topic="case.raised")
    def __init__(self, dialogue_id: str, title: str, description: str, category: str,
                 raised_by: str | None, meta: Meta) -> None:
        self.dialogue_id = dialogue_id
        self.title = title
        self.description = description
        self.category = category
        self.raised_by = raised_by
        self.status = OPEN
        self.commitment_ids: list[str] = []
        self.resolution = ""
        self.last_reason = ""
        self.raised_on = meta.occurred_on

    @classmethod
    def raise_case(cls, *, dialogue_id: str, title: str, category: str, meta: Meta,
                   description: str | None = None, raised_by: str | None = None) -> Case:
        return cls(dialogue_id=dialogue_id, title=clean_title(title),
                   description=clean_text(description, "description"),
                   category=check_category(category), raised_by=raised_by, meta=meta)

    def state(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "dialogue_id": self.dialogue_id,
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "raised_by": self.raised_by,
            "status": self.status,
            "version": self.version,
            "commitment_ids": list(self.commitment_ids),
            "resolution": self.resolution,
        }

    def ready(self, action: str) -> bool:
        """Whether the case lifecycle allows `action` from this status."""
        return self.status in CASE_LIFECYCLE[action][0]

    def check_when(self, action: str) -> None:
        """TransitionRefused, saying why, if the case lifecycle does not allow `action` now."""
        self._require(action)

    def _require(self, action: str) -> None:
        allowed, what = CASE_LIFECYCLE[action]
        if self.status not in allowed:
            raise TransitionRefused(
                f"only {' or '.join(allowed)} cases can {what}; this one is {self.status}"
            )

    def resolve(self, *, summary: str, meta: Meta) -> None:
        self._require("resolve")
        self._resolved(summary=clean_text(summary, "summary", required=True), meta=meta)

    @event("Resolved", topic="case.resolved")
    def _resolved(self, summary: str, meta: Meta) -> None:
        self.status = RESOLVED
        self.resolution = summary

    def close(self, *, reason: str, meta: Meta) -> None:
        self._require("close")
        self._closed(reason=clean_text(reason, "reason", required=True), meta=meta)

    @event("Closed", topic="case.closed")
    def _closed(self, reason: str, meta: Meta) -> None:
        self.status = CLOSED
        self.last_reason = reason

    def reopen(self, *, reason: str, meta: Meta) -> None:
        self._require("reopen")
        self._reopened(reason=clean_text(reason, "reason", required=True), meta=meta)

    @event("Reopened", topic="case.reopened")
    def _reopened(self, reason: str, meta: Meta) -> None:
        self.status = OPEN
        self.last_reason = reason

    def link(self, *, commitment_id: str, meta: Meta) -> None:
        if not self.ready("link"):
            raise TransitionRefused("a closed case cannot take new commitments; reopen it first")
        if commitment_id in self.commitment_ids:
            raise InvalidInput("this commitment is already linked to the case", "commitment_id")
        self._linked(commitment_id=commitment_id, meta=meta)

    @event("CommitmentLinked", topic="case.commitment_linked")
    def _linked(self, commitment_id: str, meta: Meta) -> None:
        self.commitment_ids.append(commitment_id)
