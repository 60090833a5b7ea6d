"""The commitment: an agreement made in a dialogue, tracked from proposal to verified completion.

Public methods are commands: they check the rules (the lifecycle table and the guards below) and then
trigger exactly one event. The private methods decorated with @event only change state; they also run
when the commitment is loaded from its history, so they never check anything.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.base import Dated, Meta, check_due_date, clean_text, clean_title, derived_id
from domain.errors import N_, InvalidInput, TransitionRefused
from domain.lifecycle import LIFECYCLE, Status, check_transition, is_overdue

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_reason(reason: str | None) -> str:
    return clean_text(reason, "reason", required=True)


def check_evidence_url(url: str | None) -> str:
    """Evidence links are absolute http(s) addresses; nothing that could point into the server."""
    url = clean_text(url, "url", limit=2000)
    if not url:
        return ""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        # urlsplit silently drops tabs and newlines; browsers too: refuse them instead.
        raise InvalidInput("an evidence link may not contain spaces or control characters", "url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "\\" in url:
        raise InvalidInput("an evidence link must be a full http:// or https:// address", "url")
    # Browsers read %2e%2e as '..' (and some servers decode %2f as '/', or decode twice), so
    # decode until nothing changes before looking for dot segments.
    path, decoded = parts.path, unquote(parts.path)
    for _ in range(3):
        if decoded == path:
            break
        path, decoded = decoded, unquote(decoded)
    if any(segment in ("..", ".") for segment in decoded.split("/")):
        raise InvalidInput("an evidence link may not contain '..' path segments", "url")
    return url


def check_sha256(value: str | None) -> str:
    digest = (value or "").strip().lower()
    if digest and not SHA256.match(digest):
        raise InvalidInput("a file digest must be 64 hexadecimal characters (SHA-256)", "sha256")
    return digest


def check_percent(percent: Any) -> int:
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise InvalidInput("progress is a whole number from 0 to 100", "percent")
    return percent


REF = re.compile(r"^[^\s;,][^\x00-\x1f;]{0,79}$")


def check_ref(ref: str | None) -> str:
    """A committee's own reference for a commitment: up to 80 characters, no `;` or control
    characters, not starting with a space or a comma."""
    ref = (ref or "").strip()
    if ref and not REF.match(ref):
        raise InvalidInput("a reference is up to 80 characters, without ';' or control "
                           "characters", "ref")
    return ref


def evidence_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """One evidence entry with every field, in the one order every reader sees (the JSON of a
    change is compared as text: a rebuild and a catch-up after a restart must write the same).
    A snapshot taken before evidence had `public` or `photo` holds entries without them."""
    return {"id": entry["id"], "description": entry["description"], "url": entry["url"],
            "sha256": entry["sha256"], "public": entry.get("public", False),
            "photo": entry.get("photo", ""), "added_on": entry["added_on"]}


class Commitment(Dated):
    TOPIC = "commitment"

    @staticmethod
    def create_id(dialogue_id: str, ref: str = "") -> UUID:
        """A new commitment's id: derived from its dialogue and reference when it has one."""
        return Commitment.id_for_ref(dialogue_id, ref) if ref else uuid4()

    @staticmethod
    def id_for_ref(dialogue_id: str, ref: str) -> UUID:
        """The id of the dialogue's commitment with this reference (references are matched
        case-sensitively, as written)."""
        return derived_id("commitment-ref", f"{dialogue_id}:{ref}")

    class Created(Aggregate.Created):
        TOPIC = "commitment.created"

    @event("Proposed", topic="commitment.proposed")
    def __init__(
        self,
        dialogue_id: str,
        case_id: str | None,
        title: str,
        description: str,
        proposed_by: str | None,
        required_parties: list[str],
        public: bool,
        private_note: str,
        meta: Meta,
        ref: str = "",
    ) -> None:
        self.dialogue_id = dialogue_id
        self.ref = ref  # the committee's own reference ("" for none; older proposals have none)
        self.case_id = case_id
        self.title = title
        self.description = description
        self.proposed_by = proposed_by
        self.required_parties = list(required_parties)
        self.public = public
        self.private_note = private_note
        self.status = Status.PROPOSED.value
        self.endorsements: list[str] = []
        self.responsible_party: str | None = None
        self.due_date: date | None = None
        self.progress = 0
        # The progress the public was told: the latest report given as public (100 once
        # completed); a report given as not public leaves it as it was.
        self.public_progress = 0
        self.milestones: list[dict[str, Any]] = []
        self.evidence: list[dict[str, Any]] = []
        self.completed_by: str | None = None
        self.completion_summary = ""
        self.verified_by: str | None = None
        self.ever_assigned = False
        self.last_reason = ""
        self.proposed_on = meta.occurred_on
        self.completed_on: date | None = None

    # --- the factory, with its checks -------------------------------------------------------

    @classmethod
    def propose(
        cls,
        *,
        dialogue_id: str,
        title: str,
        required_parties: list[str],
        meta: Meta,
        case_id: str | None = None,
        description: str | None = None,
        proposed_by: str | None = None,
        public: bool = True,
        private_note: str | None = None,
        ref: str | None = None,
    ) -> Commitment:
        """A proposal; with a `ref` (the committee's own reference), its id is derived from the
        dialogue and the ref, so the store itself refuses a second commitment with that ref."""
        required = list(dict.fromkeys(required_parties))
        if not required:
            raise InvalidInput("name at least one party that must endorse", "required_parties")
        return cls(
            ref=check_ref(ref),
            dialogue_id=dialogue_id,
            case_id=case_id,
            title=clean_title(title),
            description=clean_text(description, "description"),
            proposed_by=proposed_by,
            required_parties=required,
            public=bool(public),
            private_note=clean_text(private_note, "private_note"),
            meta=meta,
        )

    # --- state as plain values --------------------------------------------------------------

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    def is_overdue(self, today: date) -> bool:
        return is_overdue(self.status, self.due_date, today)

    def state(self) -> dict[str, Any]:
        """Every field a reader or a diff cares about, as plain values."""
        return {
            "id": str(self.id),
            "dialogue_id": self.dialogue_id,
            "ref": getattr(self, "ref", ""),  # (a snapshot taken before refs has none)
            "case_id": self.case_id,
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "version": self.version,
            "proposed_by": self.proposed_by,
            "required_parties": list(self.required_parties),
            "endorsements": list(self.endorsements),
            "responsible_party": self.responsible_party,
            "due_date": self.due_date,
            "progress": self.progress,
            "milestones": [dict(m) for m in self.milestones],
            "evidence": [evidence_entry(e) for e in self.evidence],
            "completed_by": self.completed_by,
            "completion_summary": self.completion_summary,
            "verified_by": self.verified_by,
            "public": self.public,
            "private_note": self.private_note,
        }

    def ready(self, action: str, party: str | None) -> bool:
        """Whether `action` could be taken now for `party` (None: for no party), whoever asks: the
        lifecycle table allows it from this status and the record holds what it needs (someone
        left to endorse, every endorsement for agreeing, an open milestone). Who may ask is the
        policy's question (tracker/policy.py); pages offer what both allow."""
        rule = LIFECYCLE.get(action)
        if rule is not None and self.status_enum not in rule.sources:
            return False
        if action == "endorse":
            return party in self.missing_endorsements()
        if action == "agree":
            return not self.missing_endorsements()
        if action == "complete-milestone":
            return any(m["completed_on"] is None for m in self.milestones)
        return True

    # --- commands ---------------------------------------------------------------------------

    def _check(self, action: str) -> Status | str | None:
        return check_transition(action, self.status_enum)

    def check_when(self, action: str) -> None:
        """TransitionRefused, saying why, if the lifecycle table does not allow `action` now (the
        application asks before who may: "only an in-progress commitment can be completed")."""
        if action in LIFECYCLE:
            self._check(action)

    def amend(self, *, reason: str, meta: Meta, title: str | None = None,
              description: str | None = None) -> None:
        self._check("amend")
        new_title = clean_title(title) if title is not None and title.strip() else self.title
        new_description = (
            clean_text(description, "description") if description is not None else self.description
        )
        if new_title == self.title and new_description == self.description:
            raise InvalidInput("an amendment must change the title or the description", "title")
        self._amended(title=new_title, description=new_description, reason=check_reason(reason),
                      meta=meta)

    @event("Amended", topic="commitment.amended")
    def _amended(self, title: str, description: str, reason: str, meta: Meta) -> None:
        self.title = title
        self.description = description
        self.last_reason = reason
        # The wording changed: endorsements given to the old wording no longer hold.
        self.endorsements = []

    def endorse(self, *, party_id: str, meta: Meta) -> None:
        self._check("endorse")
        if party_id not in self.required_parties:
            raise InvalidInput("this party is not one of those asked to endorse", "party_id")
        if party_id in self.endorsements:
            raise TransitionRefused("this party has already endorsed the commitment")
        self._endorsed(party_id=party_id, meta=meta)

    @event("Endorsed", topic="commitment.endorsed")
    def _endorsed(self, party_id: str, meta: Meta) -> None:
        self.endorsements.append(party_id)

    def missing_endorsements(self) -> list[str]:
        return [p for p in self.required_parties if p not in self.endorsements]

    def agree(self, *, meta: Meta) -> None:
        self._check("agree")
        if self.missing_endorsements():
            raise TransitionRefused(
                f"the commitment can be agreed only once every required party has endorsed it; "
                f"{len(self.missing_endorsements())} still must"
            )
        self._agreed(meta=meta)

    @event("Agreed", topic="commitment.agreed")
    def _agreed(self, meta: Meta) -> None:
        self.status = Status.AGREED.value

    def reject(self, *, reason: str, meta: Meta) -> None:
        self._check("reject")
        self._rejected(reason=check_reason(reason), meta=meta)

    @event("Rejected", topic="commitment.rejected")
    def _rejected(self, reason: str, meta: Meta) -> None:
        self.status = Status.REJECTED.value
        self.last_reason = reason

    def withdraw(self, *, reason: str, meta: Meta) -> None:
        self._check("withdraw")
        self._withdrawn(reason=check_reason(reason), meta=meta)

    @event("Withdrawn", topic="commitment.withdrawn")
    def _withdrawn(self, reason: str, meta: Meta) -> None:
        self.status = Status.WITHDRAWN.value
        self.last_reason = reason

    def assign(self, *, party_id: str, due_date: date, meta: Meta) -> None:
        self._check("assign")
        if not party_id:
            raise InvalidInput("name the party responsible", "party_id")
        self._assigned(party_id=party_id, due_date=check_due_date(due_date), meta=meta)

    @event("Assigned", topic="commitment.assigned")
    def _assigned(self, party_id: str, due_date: date, meta: Meta) -> None:
        self.status = Status.IN_PROGRESS.value
        self.responsible_party = party_id
        self.due_date = due_date
        self.ever_assigned = True

    def report_progress(self, *, percent: int, meta: Meta, public: bool = True) -> None:
        self._check("progress")
        self._progress_reported(percent=check_percent(percent), public=bool(public), meta=meta)

    @event("ProgressReported", topic="commitment.progress_reported")
    def _progress_reported(self, percent: int, public: bool, meta: Meta) -> None:
        self.progress = percent
        if public:
            self.public_progress = percent

    def add_milestone(self, *, title: str, meta: Meta, due_date: date | None = None) -> str:
        self._check("add-milestone")
        milestone_id = str(uuid4())
        self._milestone_added(
            milestone_id=milestone_id,
            title=clean_title(title),
            due_date=check_due_date(due_date) if due_date else None,
            meta=meta,
        )
        return milestone_id

    @event("MilestoneAdded", topic="commitment.milestone_added")
    def _milestone_added(self, milestone_id: str, title: str, due_date: date | None,
                         meta: Meta) -> None:
        self.milestones.append(
            {"id": milestone_id, "title": title, "due_date": due_date, "completed_on": None}
        )

    def complete_milestone(self, *, milestone_id: str, meta: Meta) -> None:
        self._check("complete-milestone")
        milestone = next((m for m in self.milestones if m["id"] == str(milestone_id)), None)
        if milestone is None:
            raise InvalidInput("this commitment has no such milestone", "milestone_id")
        if milestone["completed_on"] is not None:
            raise TransitionRefused("this milestone is already completed")
        self._milestone_completed(milestone_id=milestone["id"], meta=meta)

    @event("MilestoneCompleted", topic="commitment.milestone_completed")
    def _milestone_completed(self, milestone_id: str, meta: Meta) -> None:
        for milestone in self.milestones:
            if milestone["id"] == milestone_id:
                milestone["completed_on"] = meta.occurred_on

    def attach_evidence(self, *, description: str, meta: Meta, url: str | None = None,
                        sha256: str | None = None, public: bool = False, photo: str = "") -> str:
        """`photo`: the media type of a photo kept with the evidence, whose SHA-256 is `sha256`
        (the image as stored, re-encoded without its metadata: see tracker/photos.py)."""
        self._check("attach-evidence")
        if photo and not sha256:
            raise InvalidInput("a photo's evidence needs the photo's SHA-256", "sha256")
        evidence_id = str(uuid4())
        self._evidence_attached(
            evidence_id=evidence_id,
            description=clean_text(description, "description", required=True),
            url=check_evidence_url(url),
            sha256=check_sha256(sha256),
            public=bool(public),
            photo=photo,
            meta=meta,
        )
        return evidence_id

    class EvidenceAttached(Aggregate.Event):
        """Evidence, shown on the public pages only when `public`: photos and documents can show
        people, so evidence recorded before the field existed (version 1) reads as not public.
        `photo` (version 3): the media type of the photo kept under `sha256`, or ""."""

        TOPIC = "commitment.evidence_attached"
        class_version = 3

        evidence_id: str
        description: str
        url: str
        sha256: str
        public: bool
        photo: str
        meta: Meta

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["public"] = False

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["photo"] = ""

    @event(EvidenceAttached)
    def _evidence_attached(self, evidence_id: str, description: str, url: str, sha256: str,
                           public: bool, photo: str, meta: Meta) -> None:
        self.evidence.append({"id": evidence_id, "description": description, "url": url,
                              "sha256": sha256, "public": public, "photo": photo,
                              "added_on": meta.occurred_on})

    def complete(self, *, summary: str, party_id: str, meta: Meta) -> None:
        self._check("complete")
        if party_id != self.responsible_party:
            raise InvalidInput("only the responsible party can say the commitment is done",
                               "party_id")
        self._completed(summary=clean_text(summary, "summary", required=True), party_id=party_id,
                        meta=meta)

    @event("Completed", topic="commitment.completed")
    def _completed(self, summary: str, party_id: str, meta: Meta) -> None:
        self.status = Status.COMPLETED.value
        self.completed_by = party_id
        self.completion_summary = summary
        self.completed_on = meta.occurred_on
        self.progress = 100
        self.public_progress = 100

    def verify(self, *, party_id: str, meta: Meta) -> None:
        self._check("verify")
        if not party_id:
            raise InvalidInput("name the party that verifies", "party_id")
        if party_id == self.completed_by:
            raise TransitionRefused(
                "a completion must be verified by another party than the one that completed it"
            )
        self._verified(party_id=party_id, meta=meta)

    @event("Verified", topic="commitment.verified")
    def _verified(self, party_id: str, meta: Meta) -> None:
        self.status = Status.VERIFIED.value
        self.verified_by = party_id

    def dispute(self, *, reason: str, meta: Meta) -> None:
        self._check("dispute")
        self._disputed(reason=check_reason(reason), meta=meta)

    @event("Disputed", topic="commitment.disputed")
    def _disputed(self, reason: str, meta: Meta) -> None:
        self.status = Status.IN_PROGRESS.value
        self.last_reason = reason
        self.completed_by = None
        self.completed_on = None

    def cancel(self, *, reason: str, meta: Meta) -> None:
        self._check("cancel")
        self._cancelled(reason=check_reason(reason), meta=meta)

    @event("Cancelled", topic="commitment.cancelled")
    def _cancelled(self, reason: str, meta: Meta) -> None:
        self.status = Status.CANCELLED.value
        self.last_reason = reason

    def reopen(self, *, reason: str, meta: Meta) -> None:
        self._check("reopen")
        self._reopened(reason=check_reason(reason), meta=meta)

    @event("Reopened", topic="commitment.reopened")
    def _reopened(self, reason: str, meta: Meta) -> None:
        self.status = (Status.IN_PROGRESS if self.ever_assigned else Status.AGREED).value
        self.last_reason = reason
        self.completed_by = None
        self.verified_by = None
        self.completed_on = None

    def link_to_case(self, *, case_id: str, meta: Meta) -> None:
        """The commitment's side of linking it to a case (the case records its own side)."""
        if self.case_id == case_id:
            raise InvalidInput("this commitment is already linked to the case", "commitment_id")
        if self.case_id:
            raise InvalidInput("this commitment is already linked to another case", "commitment_id")
        self._linked_to_case(case_id=case_id, meta=meta)

    @event("LinkedToCase", topic="commitment.linked_to_case")
    def _linked_to_case(self, case_id: str, meta: Meta) -> None:
        self.case_id = case_id

    def comment(self, *, meta: Meta, public: bool = False) -> None:
        """A note from a party of the dialogue, in any status: the parties that may not act can
        still be heard. Its words are the event's note; shown on the public pages only when
        `public`."""
        if not meta.note:
            raise InvalidInput(N_("note is required"), "note")
        self._commented(public=bool(public), meta=meta)

    @event("Commented", topic="commitment.commented")
    def _commented(self, public: bool, meta: Meta) -> None:
        pass

    def set_visibility(self, *, public: bool, meta: Meta, reason: str) -> None:
        if bool(public) == self.public:
            raise InvalidInput(
                f"the commitment is already {'public' if self.public else 'private'}", "public"
            )
        self._visibility_changed(public=bool(public), reason=check_reason(reason), meta=meta)

    @event("VisibilityChanged", topic="commitment.visibility_changed")
    def _visibility_changed(self, public: bool, reason: str, meta: Meta) -> None:
        self.public = public
        self.last_reason = reason
