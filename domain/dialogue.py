"""The dialogue: one locality's table of parties, its meetings, concluded or going on.

A dialogue's id is derived from its slug, so the event store itself refuses a second dialogue with
the same slug (two writers racing for one slug: one wins, the other gets a conflict).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.base import MAX_TITLE, Meta, clean_text, clean_title, derived_id
from domain.errors import InvalidInput, TransitionRefused

PARTY_KINDS = (
    "police", "gendarmerie", "justice", "local_government", "community", "vigilante",
    "religious", "youth", "women", "other",
)
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
COUNTRY = re.compile(r"^[A-Z]{2}$")


def check_slug(slug: str) -> str:
    slug = (slug or "").strip()
    if not SLUG.match(slug):
        raise InvalidInput(
            "a slug is 1 to 64 lower-case letters, digits and dashes, e.g. saaba-2016", "slug"
        )
    return slug


def check_country(country: str) -> str:
    code = (country or "").strip().upper()
    if not COUNTRY.match(code):
        raise InvalidInput("country is a two-letter ISO 3166-1 code, e.g. BF, SN, NG, NP",
                           "country")
    return code


def check_party_kind(kind: str) -> str:
    if kind not in PARTY_KINDS:
        raise InvalidInput(f"a party's kind is one of: {', '.join(PARTY_KINDS)}", "kind")
    return kind


class Dialogue(Aggregate):
    TOPIC = "dialogue"

    class Created(Aggregate.Created):
        TOPIC = "dialogue.created"

    @staticmethod
    def create_id(slug: str) -> UUID:
        return derived_id("dialogue", slug)

    @event("Started", topic="dialogue.started")
    def __init__(self, slug: str, name: str, country: str, locality: str, description: str,
                 meta: Meta) -> None:
        self.slug = slug
        self.name = name
        self.country = country
        self.locality = locality
        self.description = description
        self.parties: list[dict[str, str]] = []
        self.meetings: list[dict[str, Any]] = []
        self.concluded = False
        self.started_on = meta.occurred_on

    @classmethod
    def start(cls, *, slug: str, name: str, country: str, locality: str, meta: Meta,
              description: str | None = None) -> Dialogue:
        return cls(
            slug=check_slug(slug),
            name=clean_title(name, "name"),
            country=check_country(country),
            locality=clean_title(locality, "locality"),
            description=clean_text(description, "description"),
            meta=meta,
        )

    def state(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "slug": self.slug,
            "name": self.name,
            "country": self.country,
            "locality": self.locality,
            "description": self.description,
            "version": self.version,
            "parties": [dict(p) for p in self.parties],
            "meetings": [{"place": "", "public": False, **m, "attendance": dict(m["attendance"])}
                         for m in self.meetings],
            "concluded": self.concluded,
        }

    # --- parties ----------------------------------------------------------------------------

    def party(self, ref: str) -> dict[str, str] | None:
        """The party with this id or (case-insensitively) this name."""
        ref = (ref or "").strip()
        for party in self.parties:
            if party["id"] == ref or party["name"].casefold() == ref.casefold():
                return party
        return None

    def has_party(self, party_id: str | None) -> bool:
        return any(p["id"] == party_id for p in self.parties)

    def check_open(self) -> None:
        if self.concluded:
            raise TransitionRefused("this dialogue has concluded; reopen it first")

    def add_party(self, *, name: str, kind: str, meta: Meta) -> str:
        self.check_open()
        name = clean_title(name, "name")
        if self.party(name) is not None:
            raise InvalidInput(f"this dialogue already has a party named {name!r}", "name")
        party_id = str(uuid4())
        self._party_added(party_id=party_id, name=name, kind=check_party_kind(kind), meta=meta)
        return party_id

    @event("PartyAdded", topic="dialogue.party_added")
    def _party_added(self, party_id: str, name: str, kind: str, meta: Meta) -> None:
        self.parties.append({"id": party_id, "name": name, "kind": kind})

    # --- meetings ---------------------------------------------------------------------------

    def record_meeting(self, *, held_on: date, title: str | None, attendance: dict[str, int],
                       meta: Meta, summary: str | None = None, place: str | None = None,
                       public: bool = False) -> str:
        """A meeting of the dialogue: when and where, who came (people per party), what was said
        (`public`: the summary may be shown on the public pages). Its decisions are the events
        that name it (`Meta.meeting`)."""
        self.check_open()
        clean_attendance: dict[str, int] = {}
        for party_id, count in attendance.items():
            if not self.has_party(party_id):
                raise InvalidInput("attendance names a party that is not in this dialogue",
                                   "attendance")
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
                raise InvalidInput("attendance is a whole number of people per party",
                                   "attendance")
            clean_attendance[party_id] = count
        meeting_id = str(uuid4())
        self._meeting_recorded(meeting_id=meeting_id, held_on=held_on,
                               title=clean_text(title, "title", limit=MAX_TITLE),
                               attendance=clean_attendance,
                               summary=clean_text(summary, "summary"),
                               place=clean_text(place, "place", limit=MAX_TITLE),
                               public=bool(public), meta=meta)
        return meeting_id

    @event("MeetingRecorded", topic="dialogue.meeting_recorded")
    def _meeting_recorded(self, meeting_id: str, held_on: date, title: str,
                          attendance: dict[str, int], summary: str, meta: Meta,
                          place: str = "", public: bool = False) -> None:
        # (meetings recorded before place and public existed have neither: defaults)
        self.meetings.append({"id": meeting_id, "held_on": held_on, "title": title,
                              "attendance": dict(attendance), "summary": summary,
                              "place": place, "public": public})

    def meeting(self, meeting_id: str | None) -> dict[str, Any]:
        """The meeting of this dialogue with this id (InvalidInput naming `meeting_id` if none)."""
        found = next((m for m in self.meetings if m["id"] == str(meeting_id or "")), None)
        if found is None:
            raise InvalidInput("this dialogue has no such meeting", "meeting_id")
        return found

    # --- concluded / reopened ---------------------------------------------------------------

    def conclude(self, *, reason: str, meta: Meta) -> None:
        self.check_open()
        self._concluded(reason=clean_text(reason, "reason", required=True), meta=meta)

    @event("Concluded", topic="dialogue.concluded")
    def _concluded(self, reason: str, meta: Meta) -> None:
        self.concluded = True

    def reopen(self, *, reason: str, meta: Meta) -> None:
        if not self.concluded:
            raise TransitionRefused("this dialogue is still going on; only a concluded one can be "
                                    "reopened")
        self._reopened(reason=clean_text(reason, "reason", required=True), meta=meta)

    @event("Reopened", topic="dialogue.reopened")
    def _reopened(self, reason: str, meta: Meta) -> None:
        self.concluded = False
