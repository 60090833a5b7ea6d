"""What every event carries besides its own fields, and how dates and that metadata are stored."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Transcoding

from domain.errors import InvalidInput

# Derived ids (dialogue slugs, account names, token digests) live in this namespace.
NAMESPACE = uuid5(NAMESPACE_URL, "https://jsd-tracker.invalid/ids")

MAX_TEXT = 10_000
MAX_TITLE = 300


@dataclass(frozen=True)
class Meta:
    """Who did it, for which party, on which business date, and why.

    `actor` is the acting account's id (None only for the system itself); `party` the party id the
    account acted for, where the action is a party's; `occurred_on` the business date, which may be
    earlier than the recorded time (a meeting held last week). The recorded time is the event's own
    `timestamp` and is never given by a caller. `meeting` names the meeting of the dialogue at
    which it was decided (events recorded from a meeting's decisions: "decided at the meeting of
    12 March 2017").
    """

    actor: str | None
    occurred_on: date
    party: str | None = None
    note: str | None = None
    meeting: str | None = None  # the meeting (its id) whose decision this event records


class Dated(Aggregate):
    """An aggregate whose events carry a business date, and which remembers its last event's.

    The application refuses an event dated before the record's previous one (`check_not_before`),
    so that "the state on a date" always reads the events in their order. Every event applies
    through this base class, loading included; a snapshot holds the date too.
    """

    class Event(Aggregate.Event):
        def apply(self, aggregate: Any) -> None:
            meta = getattr(self, "meta", None)
            if isinstance(meta, Meta):
                aggregate.last_occurred_on = meta.occurred_on


class DateAsISO(Transcoding):
    type = date
    name = "date"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class MetaAsDict(Transcoding):
    type = Meta
    name = "meta"

    def encode(self, obj: Meta) -> dict[str, Any]:
        data = asdict(obj)
        if data["meeting"] is None:  # (events decided at no meeting are stored as before)
            del data["meeting"]
        return data

    def decode(self, data: dict[str, Any]) -> Meta:
        return Meta(**data)


TRANSCODINGS: tuple[Transcoding, ...] = (DateAsISO(), MetaAsDict())


def derived_id(kind: str, key: str) -> UUID:
    """A stable id for a natural key, so that the event store itself refuses duplicates."""
    return uuid5(NAMESPACE, f"{kind}:{key}")


# What no text field takes: control characters (C0, DEL and C1) but tab and line feed; halves of
# UTF-16 surrogate pairs (JSON allows "\ud800": no character at all); U+FFFE and U+FFFF, which are
# no characters either. None of them can stand in XML (the Atom feed), nor means anything typed.
_REFUSED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def checked_text(value: str) -> tuple[str, str | None]:
    """The text with its line breaks as LF (browsers send a textarea's lines as CR LF; a lone CR
    is an old Mac's line break), and why it is no text a person typed (None: it is)."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    found = _REFUSED.search(value)
    if found is None:
        return value, None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return value, "is not valid Unicode text"
    kind = "a control character" if code < 0xFFFE else "a non-character"
    return value, f"contains {kind} (U+{code:04X}); only tabs and line breaks are allowed"


def plain_text(value: str, field: str) -> str:
    """`checked_text`'s text, or InvalidInput naming `field`. The command catalogue applies the
    same rule to every field of every command (tracker.commands.plain_values)."""
    value, problem = checked_text(value)
    if problem:
        raise InvalidInput(f"{field.replace('_', ' ')} {problem}", field)
    return value


def clean_text(value: str | None, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    """Trim a text field and check it is present (when required), not too long and plain text."""
    text = plain_text(value or "", field).strip()
    if required and not text:
        raise InvalidInput(f"{field.replace('_', ' ')} is required", field)
    if len(text) > limit:
        raise InvalidInput(f"{field.replace('_', ' ')} is longer than {limit} characters", field)
    return text


def clean_title(value: str | None, field: str = "title") -> str:
    return clean_text(value, field, required=True, limit=MAX_TITLE)


EARLIEST_DATE = date(1990, 1, 1)
LATEST_DUE_DATE = date(2100, 12, 31)


def check_is_date(value: object, field: str) -> date:
    """A calendar date; a datetime (a date subclass) would be stored as a time and break sorting."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(f"{field.replace('_', ' ')} must be a date like 2026-03-01", field)
    return value


def check_occurred_on(value: date, today: date) -> date:
    """A business date is when something happened: not before 1990, not after tomorrow."""
    value = check_is_date(value, "occurred_on")
    if not EARLIEST_DATE <= value <= date.fromordinal(today.toordinal() + 1):
        raise InvalidInput(
            f"the date it happened must be between {EARLIEST_DATE.isoformat()} and today", "occurred_on"
        )
    return value


def last_date_of(aggregate: Any) -> date | None:
    """The business date of the aggregate's last event, if it keeps one (see `Dated`)."""
    return getattr(aggregate, "last_occurred_on", None)


def check_not_before(value: date, previous: date | None) -> date:
    """An event may not be dated before the record's previous event."""
    if previous is not None and value < previous:
        raise InvalidInput(
            f"the date it happened may not be before {previous.isoformat()}, the date of this "
            "record's previous event", "occurred_on")
    return value


def check_due_date(value: date) -> date:
    value = check_is_date(value, "due_date")
    if not EARLIEST_DATE <= value <= LATEST_DUE_DATE:
        raise InvalidInput(
            f"a due date must be between {EARLIEST_DATE.isoformat()} and {LATEST_DUE_DATE.isoformat()}",
            "due_date",
        )
    return value
