"""The event log as the views see it: each stored event once decoded, with its aggregate's state
before and after it (so a view can say what changed without loading anything itself).

The states are plain dicts (`snapshot` of the aggregate), kept in a cache keyed by aggregate id and
version. Most commitment events (the bulk of any log) move a state forward directly: `UPDATES`
says, per event, which fields it sets to what, and only those fields are compared for `changes`.
Every other event is applied by the domain itself (`event.mutate` on the aggregate, then a fresh
snapshot); a miss (a restart, another process having gone further, a view catching up from an
earlier position, an event without an entry in `UPDATES`) loads the aggregate at the version just
before the event from the event store. So the states depend only on the log, never on a view's
rows; tests/test_feed.py checks that both ways give the same states and changes for every event.
"""

from __future__ import annotations

import json
import json.encoder
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from eventsourcing.persistence import Notification

from domain.account import ApiToken
from domain.case import Case
from domain.commitment import Commitment
from domain.dialogue import Dialogue
from domain.lifecycle import Status
from projections.binding import BindingMapper, UnboundEvent

CACHE_LIMIT = 20_000  # aggregates kept in memory (a few kB each)


_AS_IS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any) -> Any:
    """A JSON-able copy: dates and times as ISO text, tuples as lists."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def iso_time(value: datetime) -> str:
    """UTC, always with microseconds, so that the text sorts like the time."""
    if value.tzinfo is UTC and value.microsecond:
        return value.isoformat()  # the same text, several times faster than strftime
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _json_default(value: Any) -> str:
    if isinstance(value, date):  # datetimes are dates too
        return plain(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)
# The C encoder behind _ENCODER, made once instead of at every call (half the cost of a small
# value); without a circular-reference check, which values made of plain data do not need.
_C_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_encode = _C_MAKE_ENCODER(
    None, _json_default, json.encoder.encode_basestring,
    None, ":", ",", False, False, True) if _C_MAKE_ENCODER else None


def dumps(value: Any) -> str:
    """Compact JSON text, dates as ISO text (the same text as `_ENCODER.encode`)."""
    if _encode is None:
        return _ENCODER.encode(value)
    return "".join(_encode(value, 0))


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def snapshot(aggregate: Any) -> dict[str, Any]:
    """The aggregate's state (`state()`, copies of its lists), with what the views need beyond
    it. Dates stay dates here; views store them as ISO text, `diff` makes its values plain."""
    if isinstance(aggregate, ApiToken):
        return {"id": str(aggregate.id), "account_id": aggregate.account_id,
                "label": aggregate.label, "revoked": aggregate.revoked,
                "version": aggregate.version}
    state = aggregate.state()
    if isinstance(aggregate, Commitment):
        state["completed_on"] = aggregate.completed_on
        state["proposed_on"] = aggregate.proposed_on
        # (a snapshot stored before it existed has none: the public shows 0 until the next
        # public report, never a value given as not public)
        state["public_progress"] = getattr(aggregate, "public_progress", 0)
    elif isinstance(aggregate, Case):
        state["raised_on"] = aggregate.raised_on
    elif isinstance(aggregate, Dialogue):
        state["started_on"] = aggregate.started_on
    return state


# Fields of a state that are no change of their own: the version, and the public progress (the
# public part of a change to `progress`, worked out from the states by projections.views).
NOT_CHANGES = frozenset({"version", "public_progress"})


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for every field the event changed (the version aside), as
    JSON-able values."""
    if before is None:  # a creation: every field set
        return {key: [None, plain(value)] for key, value in after.items()
                if key not in NOT_CHANGES and value is not None}
    return {key: [plain(before.get(key)), plain(value)] for key, value in after.items()
            if key not in NOT_CHANGES and before.get(key) != value}


@dataclass(slots=True)
class Item:
    """One stored event, decoded, with its aggregate's state before and after it."""

    position: int
    notification: Notification
    event: Any
    kind: str  # aggregate type: dialogue, case, commitment, account, api_token
    type: str  # event name: Proposed, Assigned ...
    before: dict[str, Any] | None
    after: dict[str, Any]
    changes: dict[str, list[Any]]
    recorded_at: str  # the event's timestamp as UTC ISO text
    aggregate_id: str
    version: int = 0  # the aggregate's version after the event
    meta: Any = None  # the event's Meta (who, for which party, on which date), if it has one
    changes_json: str | None = None
    public_part: dict[str, list[Any]] | None = None  # `views.public_changes`, made once

    def changes_text(self) -> str:
        """`changes` as compact JSON text (made once, however many views store it)."""
        if self.changes_json is None:
            self.changes_json = dumps(self.changes)
        return self.changes_json


# --- commitment events applied to a state directly ----------------------------------------------
# Each entry gives the fields the event sets, in the order of `Commitment.state()` (then
# `snapshot`), as new values: a state is never changed in place, since the Items of a batch share
# them. They mirror the commitment's @event methods; tests/test_feed.py replays every commitment
# action both ways. An event missing here (Reopened: its status depends on history the state does
# not hold) goes through the domain.

def _endorsed(s: dict[str, Any], e: Any) -> dict[str, Any]:
    return {"endorsements": [*s["endorsements"], e.party_id]}


def _milestone_added(s: dict[str, Any], e: Any) -> dict[str, Any]:
    return {"milestones": [*s["milestones"], {"id": e.milestone_id, "title": e.title,
                                              "due_date": e.due_date, "completed_on": None}]}


def _milestone_completed(s: dict[str, Any], e: Any) -> dict[str, Any]:
    return {"milestones": [dict(m, completed_on=e.meta.occurred_on)
                           if m["id"] == e.milestone_id else m for m in s["milestones"]]}


def _evidence_attached(s: dict[str, Any], e: Any) -> dict[str, Any]:
    return {"evidence": [*s["evidence"], {"id": e.evidence_id, "description": e.description,
                                          "url": e.url, "sha256": e.sha256, "public": e.public,
                                          "photo": e.photo, "added_on": e.meta.occurred_on}]}


def _status(status: Status) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    value = status.value
    return lambda s, e: {"status": value}


UPDATES: dict[str, dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]] = {
    "commitment": {
        "Amended": lambda s, e: {"title": e.title, "description": e.description,
                                 "endorsements": []},
        "Endorsed": _endorsed,
        "Agreed": _status(Status.AGREED),
        "Rejected": _status(Status.REJECTED),
        "Withdrawn": _status(Status.WITHDRAWN),
        "Cancelled": _status(Status.CANCELLED),
        "Assigned": lambda s, e: {"status": Status.IN_PROGRESS.value,
                                  "responsible_party": e.party_id, "due_date": e.due_date},
        "ProgressReported": lambda s, e: (
            {"progress": e.percent, "public_progress": e.percent} if e.public
            else {"progress": e.percent}),
        "MilestoneAdded": _milestone_added,
        "MilestoneCompleted": _milestone_completed,
        "EvidenceAttached": _evidence_attached,
        "Completed": lambda s, e: {"status": Status.COMPLETED.value, "progress": 100,
                                   "completed_by": e.party_id, "completion_summary": e.summary,
                                   "completed_on": e.meta.occurred_on, "public_progress": 100},
        "Verified": lambda s, e: {"status": Status.VERIFIED.value, "verified_by": e.party_id},
        "Disputed": lambda s, e: {"status": Status.IN_PROGRESS.value, "completed_by": None,
                                  "completed_on": None},
        "VisibilityChanged": lambda s, e: {"public": e.public},
    },
}


class Feed:
    """Decodes notifications into Items for one application."""

    def __init__(self, app: Any, direct: bool = True) -> None:
        self.app = app
        # id (as an int) -> (version, the aggregate or None when its state moved on without it,
        # state, id as text)
        # (an OrderedDict, for the same reason as projections.binding's cache of checked rows)
        self._cache: OrderedDict[int, tuple[int, Any, dict[str, Any], str]] = OrderedDict()
        self._updates = UPDATES if direct else {}
        self._kinds: dict[str, tuple[str, str, Any]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def read(self, after: int, limit: int) -> list[Notification]:
        return list(self.app.recorder.select_notifications(after, limit, inclusive_of_start=False))

    @staticmethod
    def wrap(notifications: Sequence[Notification]) -> list[Item]:
        """Items that carry only the stored notification (for views that need nothing else)."""
        return [Item(position=n.id, notification=n, event=None, kind=n.topic.split(".", 1)[0],
                     type="", before=None, after={}, changes={}, recorded_at="",
                     aggregate_id=str(n.originator_id), version=n.originator_version)
                for n in notifications]

    def decode(self, notifications: Sequence[Notification]) -> list[Item]:
        """The items of these notifications; an event the tracker did not write (see
        projections.binding) raises UnboundEvent (`decode_bound` stops before it instead)."""
        items, refused = self.decode_bound(notifications)
        if refused is not None:
            raise refused
        return items

    def decode_bound(self, notifications: Sequence[Notification]
                     ) -> tuple[list[Item], UnboundEvent | None]:
        """The items of the notifications before the first one the tracker did not write, and
        why that one is refused (None: all of them are bound). Each binding is checked once,
        as its event is decoded; what is checked is not kept (a log read once)."""
        mapper = self.app.mapper
        to_domain_event = (partial(mapper.to_domain_event, keep=False)
                           if isinstance(mapper, BindingMapper) else mapper.to_domain_event)
        cache = self._cache
        kinds = self._kinds
        items: list[Item] = []
        append = items.append
        for notification in notifications:
            try:
                event = to_domain_event(notification)
            except UnboundEvent as refused:
                return items, refused
            originator_id = notification.originator_id
            version = notification.originator_version
            # Per stored topic, once: the aggregate type, the event's name, its entry in UPDATES.
            kind, name, update = kinds.get(notification.topic) or self._kind(notification, event)
            cached = cache.pop(originator_id.int, None)  # re-inserted below: LRU order
            key = str(originator_id) if cached is None else cached[3]
            if version == 1:
                aggregate = event.mutate(None)
                before, after = None, snapshot(aggregate)
                changes = diff(None, after)
            elif update is not None and cached is not None and cached[0] == version - 1:
                aggregate, before = None, cached[2]
                fields = update(before, event)
                after = before.copy()
                after.update(fields)
                after["version"] = version
                changes = {}
                for field, value in fields.items():
                    old = before[field]
                    if old != value and field not in NOT_CHANGES:
                        changes[field] = [plain(old), plain(value)]
            else:
                if cached is not None and cached[0] == version - 1 and cached[1] is not None:
                    aggregate, before = cached[1], cached[2]
                else:
                    aggregate = self.app.repository.get(originator_id, version=version - 1)
                    before = snapshot(aggregate)
                aggregate = event.mutate(aggregate)
                after = snapshot(aggregate)
                changes = diff(before, after)
            cache[originator_id.int] = (version, aggregate, after, key)
            if len(cache) > CACHE_LIMIT:
                cache.popitem(last=False)
            append(Item(notification.id, notification, event, kind, name, before, after, changes,
                        iso_time(event.timestamp), key, version, getattr(event, "meta", None)))
        return items, None

    def _kind(self, notification: Notification, event: Any) -> tuple[str, str, Any]:
        kind = notification.topic.split(".", 1)[0]
        name = type(event).__name__
        found = self._kinds[notification.topic] = (kind, name, self._updates.get(kind, {}).get(name))
        return found
