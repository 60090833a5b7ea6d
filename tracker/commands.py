"""The command catalogue: one typed class for each thing a person can ask the tracker to do.

A command holds its fields with their validation (pydantic), names its action as the contract does
(`progress`, `assign` ...), says what it answers besides the record's id and version (`answer`),
which of its fields names the party it is given for (`party_field`), and how it is asked for in a
form (`Input` on each field: the widget, its label, what fills it in). Everything else reads it:

- the application service takes these objects (`Tracker.execute`); a command on a commitment or a
  case applies itself to the record (`apply`), once the policy (tracker/policy.py) has said who may;
- the JSON API uses each class as its request body and OpenAPI schema (`extra="forbid"`);
- the web forms are validated into the same class (`web/forms.py`), and the templates draw a
  command's fields from `fields()`.

Adding an action: see the README ("Adding an action").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from domain.base import Meta, checked_text
from domain.case import CATEGORIES, Case
from domain.commitment import Commitment
from domain.dialogue import PARTY_KINDS
from domain.errors import N_, InvalidInput

PartyKind = Literal[PARTY_KINDS]  # type: ignore[valid-type]
CaseCategory = Literal[CATEGORIES]  # type: ignore[valid-type]


@dataclass(frozen=True)
class Input:
    """How a field is asked for in a form.

    `kind`: text, textarea, url, date, number, checkbox, choice (one of `Literal` values), party
    (one party of the dialogue), parties (several), milestone (an open one), case, commitment,
    attendance (a count per party) or hidden. `prefill`: fields of the record that fill it in, the
    first one set. `invalid`: the message when the value cannot be read. `more`: asked under "date
    and note", out of the way of the usual case.
    """

    kind: str
    label: str
    prefill: tuple[str, ...] = ()
    invalid: str | None = None
    more: bool = False


@dataclass(frozen=True)
class FormField:
    """A field of a command as a form shows it (see `Command.fields`)."""

    name: str
    kind: str
    label: str
    required: bool
    prefill: tuple[str, ...]
    choices: tuple[str, ...]
    more: bool
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Acting:
    """What a command is given besides its own fields: the party it is taken for (None: for no
    party), the metadata of its event, and `party_of(ref, field)`, a party's id from its id or name
    in this dialogue (InvalidInput naming `field` if the dialogue has no such party)."""

    party: str | None
    meta: Meta
    party_of: Callable[[str | None, str], str | None]


class Command(BaseModel):
    """What every command body may carry (the contract): the version read, the business date and a
    note. Subclasses add their fields and set the class variables below."""

    model_config = ConfigDict(extra="forbid")

    action: ClassVar[str] = ""  # the contract's name, in URLs and forms
    on: ClassVar[str] = ""  # what it changes: system, dialogue, case or commitment
    label: ClassVar[str] = ""  # its button
    done: ClassVar[str] = ""  # the confirmation once it is done
    answer: ClassVar[str | None] = None  # the id it answers besides the record's: milestone_id ...
    party_field: ClassVar[str | None] = None  # the field naming the party it is taken for
    event_labels: ClassVar[dict[str, str]] = {}  # how the timeline reads the events it records
    upload: ClassVar[str | None] = None  # the form's file field (a photo), sent as multipart

    expected_version: Annotated[int | None, Input("hidden", "", invalid=N_("write a whole number")),
                                Field(description="the version you read; if the record changed "
                                                  "since: 409")] = None
    occurred_on: Annotated[date | None, Input("date", N_("Date it happened"), prefill=("today",),
                                              invalid=N_("occurred on must be a date like "
                                                         "2026-03-01"), more=True),
                           Field(description="business date, default today")] = None
    note: Annotated[str | None, Input("text", N_("Note (optional)"), more=True)] = None

    @field_validator("*", mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        """Every text a command carries, in any field (a list's items, a mapping's keys too), is
        plain text: line breaks as LF, no control character but tab (domain.base.checked_text).
        The one rule for the API's bodies and the forms alike."""
        return plain_values(value)

    def own_values(self) -> dict[str, Any]:
        """The command's own fields (not the version, date and note every command carries)."""
        return {name: getattr(self, name) for name in type(self).model_fields
                if name not in Command.model_fields}

    @classmethod
    def key(cls) -> str:
        """The command's name among all: its action, with what it acts on (`case.reopen`)."""
        return f"{cls.on}.{cls.action}"

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        """The command from plain values; a value it cannot take is an InvalidInput naming it."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise cls.refusal(error) from None

    @classmethod
    def refusal(cls, error: ValidationError) -> InvalidInput:
        """The first problem of a validation error as a sentence a person can read."""
        problem = error.errors()[0]
        name = str(problem["loc"][0]) if problem["loc"] else None
        words = (name or "a value").replace("_", " ")
        if problem["type"] == "extra_forbidden":
            return InvalidInput(f"the action {cls.action!r} does not take {name}", name)
        if problem["type"] == "missing":
            return InvalidInput(f"{words} is required", name)
        if problem["type"] == "plain_text":
            return InvalidInput(f"{words} {problem['msg']}", name)
        spec = cls.input_of(name)
        if spec is not None and spec.invalid:
            return InvalidInput(spec.invalid, name)
        return InvalidInput(f"{words}: {problem['msg']}", name)

    @classmethod
    def input_of(cls, name: str | None) -> Input | None:
        info = cls.model_fields.get(name or "")
        return next((m for m in info.metadata if isinstance(m, Input)), None) if info else None

    @classmethod
    def fields(cls) -> list[FormField]:
        """Every field a form asks for, in the order the classes declare them (a common field a
        command declares again stands where it declares it; the other common ones come last)."""
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            if issubclass(klass, Command) and klass is not Command:
                names += [n for n in vars(klass).get("__annotations__", {})
                          if n in cls.model_fields and n not in names]
        names += [n for n in Command.model_fields if n not in names]
        return [field for name in names if (field := cls._form_field(name)) is not None]

    @classmethod
    def _form_field(cls, name: str) -> FormField | None:
        spec = cls.input_of(name)
        if spec is None:
            return None
        info = cls.model_fields[name]
        choices = getattr(info.annotation, "__args__", ()) if spec.kind == "choice" else ()
        bounds = {type(m).__name__: m for m in info.metadata}
        return FormField(name=name, kind=spec.kind, label=spec.label,
                         required=info.is_required(), prefill=spec.prefill,
                         choices=tuple(choices), more=spec.more,
                         minimum=getattr(bounds.get("Ge"), "ge", None),
                         maximum=getattr(bounds.get("Le"), "le", None))


def plain_values(value: Any) -> Any:
    """`value` with the line breaks of its texts as LF; PydanticCustomError `plain_text` if one
    holds what no text may (see `Command._plain_text`)."""
    if isinstance(value, str):
        value, problem = checked_text(value)
        if problem:
            raise PydanticCustomError("plain_text", problem)
        return value
    if isinstance(value, list | tuple):
        return [plain_values(v) for v in value]
    if isinstance(value, dict):
        return {plain_values(k): plain_values(v) for k, v in value.items()}
    return value


def given(cls: type[Command], command: Command | None, fields: Mapping[str, Any]) -> Any:
    """A use case's command: the one given, or one made from keyword values (None: not given)."""
    if command is not None:
        if not isinstance(command, cls):
            raise TypeError(f"expected {cls.__name__}, got {type(command).__name__}")
        return command
    return cls.parse({k: v for k, v in fields.items() if v is not None})


# --- shared kinds of fields -------------------------------------------------------------------

Title = Annotated[str, Input("text", N_("Title"))]
Description = Annotated[str | None, Input("textarea", N_("Description"))]
Reason = Annotated[str, Input("textarea", N_("Reason"))]
Summary = Annotated[str, Input("textarea", N_("What was done"))]
ForParty = Annotated[str | None, Input("party", N_("For the party")), Field(
    description="the party you act for: a member's own by default (another is refused); an "
                "administrator must give it")]


# --- dialogues ----------------------------------------------------------------------------------

class StartDialogue(Command):
    action, on, label, done = ("start", "system", N_("Start the dialogue"),
                               N_("The dialogue was started."))

    slug: Annotated[str, Input("text", N_("Short name (in addresses)"))]
    name: Annotated[str, Input("text", N_("Name"))]
    country: Annotated[str, Input("text", N_("Country (two letters)")),
                       Field(description="ISO 3166-1 alpha-2, e.g. BF")]
    locality: Annotated[str, Input("text", N_("Locality"))]
    description: Description = None


class AddParty(Command):
    action, on, label, done = "add-party", "dialogue", N_("Add the party"), N_("The party was added.")
    answer = "party_id"

    name: Annotated[str, Input("text", N_("Name"))]
    kind: Annotated[PartyKind, Input("choice", N_("Kind"),
                                     invalid=N_("choose one of the kinds offered"))]


class ConcludeDialogue(Command):
    action, on, label, done = ("conclude", "dialogue", N_("Conclude the dialogue"),
                               N_("The dialogue was concluded."))

    reason: Reason


class ReopenDialogue(Command):
    action, on, label, done = ("reopen", "dialogue", N_("Reopen the dialogue"),
                               N_("The dialogue was reopened."))

    reason: Reason


class RecordMeeting(Command):
    """A meeting is recorded on the date it was held (its event's business date)."""

    action, on, label, done = ("record-meeting", "dialogue", N_("Record a meeting"),
                               N_("The meeting was recorded."))
    answer = "meeting_id"

    held_on: Annotated[date, Input("date", N_("Held on"), prefill=("today",),
                                   invalid=N_("held on must be a date like 2026-03-01"))]
    occurred_on: Annotated[date | None, Field(
        description="the business date of a meeting is held_on (another date is refused)")] = None
    title: Annotated[str | None, Input("text", N_("Title"))] = None
    place: Annotated[str | None, Input("text", N_("Place"))] = None
    attendance: Annotated[dict[str, int], Input(
        "attendance", N_("People present per party"),
        invalid=N_("attendance is a whole number of people per party"))] = {}
    summary: Annotated[str | None, Input("textarea", N_("Summary"))] = None
    public: Annotated[bool, Input("checkbox", N_("Summary public (shown on the public pages)")),
                      Field(description="the summary may be shown on the public pages; default "
                                        "false")] = False


class ImportDecisions(Command):
    """A table of decisions (a row per commitment, matched by `ref`), entered at once: each row
    proposes, amends, assigns or reports progress on one commitment, each of those checked by the
    policy table as the single forms are; all rows or none. `meeting_id`: the meeting where they
    were decided (its date is their business date, and every event names it)."""

    action, on, label, done = ("import", "dialogue", N_("Check the decisions"),
                               N_("The decisions were recorded."))
    party_field = "party_id"

    meeting_id: Annotated[str | None, Input("hidden", ""), Field(
        description="the meeting of the dialogue where these were decided")] = None
    party_id: ForParty = None


# --- cases --------------------------------------------------------------------------------------

class RaiseCase(Command):
    action, on, label, done = "raise", "dialogue", N_("Raise a case"), N_("The case was recorded.")
    party_field = "raised_by"

    title: Title
    category: Annotated[CaseCategory, Input("choice", N_("Category"),
                                            invalid=N_("choose one of the categories offered"))]
    description: Description = None
    raised_by: Annotated[str | None, Input("party", N_("Raised by")), Field(
        description="party id: a member's own by default (another is refused); an "
                    "administrator must give it")] = None


class CaseCommand(Command):
    """A command on a case: once the policy has allowed it, it gives `change` (the Case's
    command) its own fields."""

    on = "case"
    change: ClassVar[Callable[..., Any]]

    def apply(self, case: Case, acting: Acting) -> str | None:
        return type(self).change(case, **self.own_values(), meta=acting.meta)


class ResolveCase(CaseCommand):
    action, label, done = "resolve", N_("Resolve"), N_("The case was resolved.")
    change = staticmethod(Case.resolve)

    summary: Summary


class CloseCase(CaseCommand):
    action, label, done = "close", N_("Close"), N_("The case was closed.")
    change = staticmethod(Case.close)

    reason: Reason


class ReopenCase(CaseCommand):
    action, label, done = "reopen", N_("Reopen"), N_("The case was reopened.")
    change = staticmethod(Case.reopen)

    reason: Reason


class LinkCommitment(CaseCommand):
    """Link a commitment of the same dialogue to the case: both records change (the application
    service does it, since it needs both)."""

    action, label, done = ("link", N_("Link a commitment"),
                           N_("The commitment was linked to the case."))

    commitment_id: Annotated[str, Input("commitment", N_("Commitment"))]


# --- commitments ---------------------------------------------------------------------------------

class ProposeCommitment(Command):
    action, on, label, done = ("propose", "dialogue", N_("Propose a commitment"),
                               N_("The commitment was proposed."))
    party_field = "proposed_by"

    ref: Annotated[str | None, Field(
        description="the committee's own reference: one commitment per reference and dialogue "
                    "(another proposal with it: 409)")] = None
    title: Title
    description: Description = None
    case_id: Annotated[str | None, Input("case", N_("Case"))] = None
    proposed_by: Annotated[str | None, Input("party", N_("Proposed by")), Field(
        description="party id: a member's own by default (another is refused); an "
                    "administrator must give it")] = None
    required_parties: Annotated[list[str], Input("parties", N_("Parties that must endorse")),
                                Field(description="ids of the parties that must endorse; the "
                                                  "proposer's endorsement comes with the proposal "
                                                  "when it is one of them")]
    public: Annotated[bool, Input("checkbox", N_("Public (shown on the public pages)"))] = True
    private_note: Annotated[str | None, Input("textarea", N_("Private note (never public)"))] = None


class CommitmentCommand(Command):
    """A command on a commitment: once the policy has allowed it, it gives `change` (the
    Commitment's command, which checks the lifecycle table and its own rules) its own fields,
    the acting party as its party field; what that returns is the answer's `answer`."""

    on = "commitment"
    change: ClassVar[Callable[..., Any]]

    def apply(self, commitment: Commitment, acting: Acting) -> str | None:
        values = self.own_values()
        if self.party_field:
            values[self.party_field] = acting.party or ""
        return type(self).change(commitment, **values, meta=acting.meta)


class AmendProposal(CommitmentCommand):
    action, label, done = "amend", N_("Amend"), N_("The commitment was amended.")

    title: Annotated[str | None, Input("text", N_("Title"), prefill=("title",))] = None
    description: Annotated[str | None, Input("textarea", N_("Description"),
                                             prefill=("description",))] = None
    reason: Reason

    def apply(self, commitment: Commitment, acting: Acting) -> None:
        commitment.amend(title=self.title, description=self.description, reason=self.reason,
                         meta=acting.meta)
        if acting.party in commitment.required_parties:
            # The proposer endorses its own new wording, as it did its proposal.
            commitment.endorse(party_id=acting.party, meta=acting.meta)


class EndorseProposal(CommitmentCommand):
    action, label, done = "endorse", N_("Endorse"), N_("Your endorsement was recorded.")
    change = staticmethod(Commitment.endorse)
    party_field = "party_id"

    party_id: ForParty = None


class AgreeCommitment(CommitmentCommand):
    action, label, done = "agree", N_("Agree (adopt)"), N_("The commitment was agreed.")
    change = staticmethod(Commitment.agree)


class RejectProposal(CommitmentCommand):
    action, label, done = "reject", N_("Reject"), N_("The commitment was rejected.")
    change = staticmethod(Commitment.reject)

    reason: Reason


class WithdrawProposal(CommitmentCommand):
    action, label, done = "withdraw", N_("Withdraw"), N_("The commitment was withdrawn.")
    change = staticmethod(Commitment.withdraw)

    reason: Reason


class AssignCommitment(CommitmentCommand):
    action, label, done = "assign", N_("Assign"), N_("The commitment was assigned.")

    party_id: Annotated[str, Input("party", N_("Responsible party"),
                                   prefill=("responsible_party", "proposed_by")),
                        Field(description="the responsible party: a party of the dialogue")]
    due_date: Annotated[date, Input("date", N_("Due date"), prefill=("due_date",),
                                    invalid=N_("due date must be a date like 2026-03-01"))]

    def apply(self, commitment: Commitment, acting: Acting) -> None:
        commitment.assign(party_id=acting.party_of(self.party_id, "party_id") or "",
                          due_date=self.due_date, meta=acting.meta)


class ReportProgress(CommitmentCommand):
    action, label, done = "progress", N_("Report progress"), N_("Progress was reported.")
    change = staticmethod(Commitment.report_progress)

    percent: Annotated[int, Field(ge=0, le=100), Input(
        "number", N_("Progress (0 to 100 %%)"), prefill=("progress",),
        invalid=N_("progress is a whole number from 0 to 100"))]
    public: Annotated[bool, Input("checkbox", N_("Public (shown on the public pages)"))] = True


class AddMilestone(CommitmentCommand):
    action, label, done = "add-milestone", N_("Add a milestone"), N_("The milestone was added.")
    change = staticmethod(Commitment.add_milestone)
    answer = "milestone_id"

    title: Title
    due_date: Annotated[date | None, Input("date", N_("Due date"), invalid=N_(
        "due date must be a date like 2026-03-01"))] = None


class CompleteMilestone(CommitmentCommand):
    action, label, done = ("complete-milestone", N_("Complete a milestone"),
                           N_("The milestone was completed."))
    change = staticmethod(Commitment.complete_milestone)

    milestone_id: Annotated[str, Input("milestone", N_("Milestone"))]


class AttachEvidence(CommitmentCommand):
    action, label, done = ("attach-evidence", N_("Attach evidence"),
                           N_("The evidence was attached."))
    change = staticmethod(Commitment.attach_evidence)
    answer = "evidence_id"
    upload = "file"

    description: Annotated[str, Input("textarea", N_("Description"))]
    url: Annotated[str | None, Input("url", N_("Link (http or https)"))] = None
    sha256: Annotated[str | None, Input("text", N_("SHA-256 of the file"))] = None
    public: Annotated[bool, Input("checkbox", N_("Public (photos and documents can show people)")),
                      Field(description="shown on the public pages; default false")] = False
    # A photo sent with the evidence (a multipart `file`), already re-encoded and stripped of
    # its metadata (tracker/photos.py): never read from a body, only set by `with_photo`.
    _photo: Any = PrivateAttr(default=None)

    def with_photo(self, photo: Any) -> Self:
        """This evidence with a prepared photo (`tracker.photos.Photo`): its digest is the
        evidence's SHA-256 (a digest typed in the form gives way to it)."""
        command = self.model_copy(update={"sha256": photo.sha256})
        command._photo = photo
        return command

    @property
    def photo(self) -> Any:
        return self._photo

    def apply(self, commitment: Commitment, acting: Acting) -> str | None:
        return commitment.attach_evidence(
            **self.own_values(), photo=self._photo.media_type if self._photo else "",
            meta=acting.meta)


class CompleteCommitment(CommitmentCommand):
    action, label, done = "complete", N_("Complete"), N_("The commitment was completed.")
    change = staticmethod(Commitment.complete)
    party_field = "party_id"

    summary: Summary
    party_id: ForParty = None


class VerifyCompletion(CommitmentCommand):
    action, label, done = "verify", N_("Verify"), N_("The completion was verified.")
    change = staticmethod(Commitment.verify)
    party_field = "party_id"

    party_id: ForParty = None


class DisputeCompletion(CommitmentCommand):
    action, label, done = "dispute", N_("Dispute"), N_("The completion was disputed.")
    change = staticmethod(Commitment.dispute)

    reason: Reason


class CancelCommitment(CommitmentCommand):
    action, label, done = "cancel", N_("Cancel"), N_("The commitment was cancelled.")
    change = staticmethod(Commitment.cancel)

    reason: Reason


class ReopenCommitment(CommitmentCommand):
    action, label, done = "reopen", N_("Reopen"), N_("The commitment was reopened.")
    change = staticmethod(Commitment.reopen)

    reason: Reason


class SetVisibility(CommitmentCommand):
    action, label, done = ("set-visibility", N_("Change who can see it"),
                           N_("Who can see the commitment was changed."))
    change = staticmethod(Commitment.set_visibility)

    public: Annotated[bool, Input("checkbox", N_("Public (shown on the public pages)"),
                                  prefill=("!public",))]  # offered: the other way round
    reason: Reason


class AddComment(CommitmentCommand):
    action, label, done = "comment", N_("Add a note"), N_("The note was added.")
    change = staticmethod(Commitment.comment)
    event_labels = {"Commented": N_("added a note")}

    note: Annotated[str, Input("textarea", N_("Note")), Field(description="what you want to say")]
    public: Annotated[bool, Input("checkbox", N_("Public (shown on the public pages)")),
                      Field(description="default false")] = False


# --- the catalogue -------------------------------------------------------------------------------

def _concrete(base: type[Command]) -> Iterator[type[Command]]:
    for cls in base.__subclasses__():
        if cls.action:
            yield cls
        yield from _concrete(cls)


COMMANDS: tuple[type[Command], ...] = tuple(_concrete(Command))
COMMITMENT_COMMANDS: dict[str, type[CommitmentCommand]] = {
    cls.action: cls for cls in COMMANDS if issubclass(cls, CommitmentCommand)}
CASE_COMMANDS: dict[str, type[CaseCommand]] = {
    cls.action: cls for cls in COMMANDS if issubclass(cls, CaseCommand)}
assert len({cls.key() for cls in COMMANDS}) == len(COMMANDS), "one class per command"
