"""The event log as the views see it: each stored event once decoded, with its aggregate's state
before and after it (so a view can say what changed without loading anything itself).

The states come from replaying the aggregate's own events (`event.mutate`), kept in a cache keyed by
aggregate id and version; a miss (a restart, another process having gone further, a view catching
up from an earlier position) loads the aggregate at the version just before the event from the
event store. So the states depend only on the log, never on a view's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from eventsourcing.persistence import Notification

from domain.account import ApiToken
from domain.case import Case
from domain.commitment import Commitment
from domain.dialogue import Dialogue

CACHE_LIMIT = 20_000  # aggregates kept in memory (a few kB each)


def plain(value: Any) -> Any:
    """A JSON-able copy: dates and times as ISO text, tuples as lists."""
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
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


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
    elif isinstance(aggregate, Case):
        state["raised_on"] = aggregate.raised_on
    elif isinstance(aggregate, Dialogue):
        state["started_on"] = aggregate.started_on
    return state


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for every field the event changed (the version aside), as
    JSON-able values."""
    before = before or {}
    return {key: [plain(before.get(key)), plain(value)] for key, value in after.items()
            if key != "version" and before.get(key) != value}


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


    @property
    def version(self) -> int:
        return self.notification.originator_version

    @property
    def meta(self) -> Any:
        return getattr(self.event, "meta", None)



class Feed:
    """Decodes notifications into Items for one application."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._cache: dict[str, tuple[int, Any, dict[str, Any]]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def read(self, after: int, limit: int) -> list[Notification]:
        return list(self.app.recorder.select_notifications(after, limit, inclusive_of_start=False))

    @staticmethod
    def wrap(notifications: Sequence[Notification]) -> list[Item]:
        """Items that carry only the stored notification (for views that need nothing else)."""
        return [Item(position=n.id, notification=n, event=None, kind=n.topic.split(".", 1)[0],
                     type="", before=None, after={}, changes={}, recorded_at="",
                     aggregate_id=str(n.originator_id))
                for n in notifications]

    def decode(self, notifications: Sequence[Notification]) -> list[Item]:
        to_domain_event = self.app.mapper.to_domain_event
        items = []
        for notification in notifications:
            event = to_domain_event(notification)
            key = str(notification.originator_id)
            version = notification.originator_version
            cached = self._cache.get(key)
            if version == 1:
                aggregate, before = None, None
            elif cached is not None and cached[0] == version - 1:
                _, aggregate, before = cached
            else:
                aggregate = self.app.repository.get(notification.originator_id,
                                                    version=version - 1)
                before = snapshot(aggregate)
            aggregate = event.mutate(aggregate)
            after = snapshot(aggregate)
            # Least recently used out: the dict keeps insertion order, so re-inserting moves the
            # aggregate to the end and the first key is the one unused for longest.
            self._cache.pop(key, None)
            self._cache[key] = (version, aggregate, after)
            if len(self._cache) > CACHE_LIMIT:
                del self._cache[next(iter(self._cache))]
            items.append(Item(
                position=notification.id, notification=notification, event=event,
                kind=notification.topic.split(".", 1)[0], type=type(event).__name__,
                before=before, after=after, changes=diff(before, after),
                recorded_at=iso_time(event.timestamp), aggregate_id=key,
            ))
        return items
