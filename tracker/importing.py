"""A table of decisions applied at once: what each row does, checked as the single forms check it.

A row names a commitment by its `ref` (the committee's own reference, or the id of a commitment
proposed without one). A new ref proposes a commitment; a known one compares each filled-in cell
with the record, and each difference becomes the command a single form would give: a new title
or description amends the proposal, `public` changes who can see it, a responsible party or due
date assigns it (agreeing it first if every required party has endorsed), a new figure in
`progress` is a progress report. An empty cell leaves the record as it is. Every command goes
through the application service's checks (the policy table, the lifecycle, the record's rules)
for the party the import is given for; any refusal is a problem of that row and column, and then
nothing at all is saved. The same table again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from domain.commitment import Commitment, check_ref
from domain.dialogue import Dialogue
from domain.errors import N_, DomainError, InvalidInput, InvalidRows
from tracker import commands as c
from tracker import policy
from tracker.sheets import COLUMNS, Formula, Row, problem

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate

    from tracker.application import Principal, Tracker

TRUE = frozenset({"true", "yes", "1", "y", "oui", "vrai", "x"})
FALSE = frozenset({"false", "no", "0", "n", "non", "faux"})
# A field a command refuses, as the column of the table it comes from.
FIELD_COLUMN = {"percent": "progress", "party_id": "responsible_party", "title": "title",
                "description": "description", "required_parties": "required_parties",
                "due_date": "due_date", "public": "public", "ref": "ref"}


@dataclass
class Plan:
    """What one row does: its outcome (create, update, unchanged), the actions it takes."""

    row: int
    ref: str
    outcome: str
    actions: list[str] = field(default_factory=list)
    commitment_id: str | None = None
    title: str = ""


@dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int
    rows: list[Plan]
    position: int | None  # the log position of the last event saved (None: nothing saved)
    dry_run: bool

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class Values:
    """A row's cells read into values; None: left empty (keep the record's)."""

    ref: str
    title: str | None
    description: str | None
    required: tuple[str, ...] | None
    responsible: str | None
    due_date: date | None
    progress: int | None
    public: bool | None


class RowProblems(Exception):
    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("row problems")
        self.problems = problems


def read_values(row: Row, dialogue: Dialogue) -> Values:
    """The row's cells as values, parties looked up by name or id in the dialogue."""
    problems = [problem(row.number, name, Formula.REFUSED) for name in COLUMNS
                if isinstance(row.cells.get(name), Formula)]
    cell = {name: "" if isinstance(row.cells.get(name), Formula) else
            (row.cells.get(name) or "").strip() for name in COLUMNS}

    def refuse(column: str, message: str) -> None:
        problems.append(problem(row.number, column, message))

    def party(text: str, column: str) -> str | None:
        found = dialogue.party(text)
        if found is None:
            refuse(column, f"this dialogue has no party {text[:80]!r}")
            return None
        return found["id"]

    ref = ""
    try:
        ref = check_ref(cell["ref"])
    except InvalidInput as error:
        refuse("ref", error.message)
    if not ref and not any(p["column"] == "ref" for p in problems):
        refuse("ref", N_("every row needs a ref, the committee's own reference"))
    required = None
    if cell["required_parties"]:
        names = [n.strip() for n in cell["required_parties"].split(";") if n.strip()]
        required = tuple(p for p in (party(n, "required_parties") for n in names) if p)
    responsible = party(cell["responsible_party"], "responsible_party") \
        if cell["responsible_party"] else None
    due = None
    if cell["due_date"]:
        try:
            due = date.fromisoformat(cell["due_date"][:10])
        except ValueError:
            refuse("due_date", N_("due date must be a date like 2026-03-01"))
    progress = None
    if cell["progress"]:
        text = cell["progress"].rstrip("% ").replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            number = -1.0
        if not number.is_integer() or not 0 <= number <= 100:
            refuse("progress", N_("progress is a whole number from 0 to 100"))
        else:
            progress = int(number)
    public = None
    if cell["public"]:
        word = cell["public"].casefold()
        if word in TRUE or word in FALSE:
            public = word in TRUE
        else:
            refuse("public", N_("public is true or false (yes or no)"))
    if problems:
        raise RowProblems(problems)
    return Values(ref=ref, title=cell["title"] or None, description=cell["description"] or None,
                  required=required, responsible=responsible, due_date=due, progress=progress,
                  public=public)


def row_commands(values: Values, found: Commitment | None, reason: str
                 ) -> list[tuple[str, c.Command]]:
    """The commands (each with the column it answers for) that make the record what the row
    says: a proposal and what follows it for a new ref, the differences for a known one."""
    steps: list[tuple[str, c.Command]] = []
    if found is None:
        steps.append(("ref", c.ProposeCommitment.parse({
            "ref": values.ref, "title": values.title or "", "description": values.description,
            "required_parties": list(values.required or ()),
            "public": True if values.public is None else values.public})))
        status, responsible, due, progress = "proposed", None, None, 0
    else:
        amended = (values.title is not None and values.title != found.title) or (
            values.description is not None and values.description != found.description)
        if amended:
            steps.append(("title", c.AmendProposal(title=values.title,
                                                   description=values.description,
                                                   reason=reason)))
        if values.required is not None and set(values.required) != set(found.required_parties):
            raise RowProblems([problem(0, "required_parties", N_(
                "the parties that must endorse cannot be changed once a commitment is proposed"))])
        if values.public is not None and values.public != found.public:
            steps.append(("public", c.SetVisibility(public=values.public, reason=reason)))
        status, responsible = found.status, found.responsible_party
        due, progress = found.due_date, found.progress
    wanted_party = values.responsible or responsible
    wanted_due = values.due_date or due
    if (values.responsible or values.due_date) and (wanted_party, wanted_due) != (responsible, due):
        if not (wanted_party and wanted_due):
            missing = "due_date" if wanted_party else "responsible_party"
            raise RowProblems([problem(0, missing, N_(
                "assigning needs both a responsible party and a due date"))])
        if status == "proposed":
            steps.append(("responsible_party", c.AgreeCommitment()))
        steps.append(("responsible_party", c.AssignCommitment(party_id=wanted_party,
                                                              due_date=wanted_due)))
    if values.progress is not None and values.progress != progress:
        steps.append(("progress", c.ReportProgress(percent=values.progress)))
    return steps


@dataclass
class Importer:
    """One import: the dialogue, who gives it for which party, at which meeting."""

    tracker: Tracker
    principal: Principal
    dialogue: Dialogue
    acting: c.Acting
    meeting: dict[str, Any] | None
    reason: str
    changed: dict[str, Aggregate] = field(default_factory=dict)
    rows_by_id: dict[str, int] = field(default_factory=dict)  # commitment id -> its row

    @property
    def occurred_on(self) -> date | None:
        return self.meeting["held_on"] if self.meeting else None

    def run(self, rows: Sequence[Row]) -> tuple[list[Plan], list[dict[str, Any]]]:
        plans, problems = [], []
        seen: dict[str, int] = {}
        for row in rows:
            try:
                values = read_values(row, self.dialogue)
                if values.ref in seen:
                    raise RowProblems([problem(row.number, "ref", f"this ref is also on row "
                                                                  f"{seen[values.ref]}")])
                seen[values.ref] = row.number
                plans.append(self.apply_row(row.number, values))
            except RowProblems as error:
                problems += [dict(p, row=row.number) for p in error.problems]
        return plans, problems

    def apply_row(self, number: int, values: Values) -> Plan:
        found = self.tracker.commitment_by_ref(str(self.dialogue.id), values.ref)
        if found is not None:
            other = self.rows_by_id.setdefault(str(found.id), number)
            if other != number:  # (its ref on one row, its id on another)
                raise RowProblems([problem(number, "ref", f"this commitment is also on row "
                                                          f"{other}")])
        try:
            steps = row_commands(values, found, self.reason)
        except DomainError as error:
            raise RowProblems([problem(number, FIELD_COLUMN.get(
                getattr(error, "field", None) or "", "ref"), error.message)]) from None
        plan = Plan(number, values.ref, "create" if found is None else
                    "update" if steps else "unchanged",
                    commitment_id=str(found.id) if found else None,
                    title=values.title or (found.title if found else ""))
        commitment = found
        for column, command in steps:
            try:
                commitment = self.give(command, commitment)
            except DomainError as error:
                named = FIELD_COLUMN.get(getattr(error, "field", None) or "")
                raise RowProblems([problem(number, named if named else column,
                                           error.message)]) from None
            plan.actions.append(command.action)
        if commitment is not None and steps:
            self.changed[str(commitment.id)] = commitment
            plan.commitment_id = str(commitment.id)
        return plan

    def give(self, command: c.Command, commitment: Commitment | None) -> Commitment:
        """The command given to the commitment (a proposal: the new one), as its single form
        would give it, at the meeting."""
        if isinstance(command, c.ProposeCommitment):
            policy.require(self.principal, c.ProposeCommitment, policy.Target.of(self.dialogue),
                           self.acting.party)
            return self.tracker.proposal(self.dialogue, command, self.acting)
        assert commitment is not None and isinstance(command, c.CommitmentCommand)
        self.tracker.apply_to(self.principal, commitment, command, lambda: self.dialogue,
                              occurred_on=self.occurred_on,
                              meeting=self.meeting["id"] if self.meeting else None)
        return commitment


def import_rows(tracker: Tracker, principal: Principal, slug: str, command: c.ImportDecisions,
                rows: Sequence[Row], *, dry_run: bool) -> ImportResult:
    """Plan every row; unless it is a dry run and if no row has a problem, save every change in
    one transaction. InvalidRows names each problem by row and column."""

    def attempt() -> ImportResult:
        dialogue = tracker.dialogue_by_slug(slug)
        meeting = dialogue.meeting(command.meeting_id) if command.meeting_id else None
        acting = tracker._acting(principal, command, policy.Target.of(dialogue),  # noqa: SLF001
                                 lambda: dialogue, occurred_on=meeting["held_on"] if meeting
                                 else None, meeting=meeting["id"] if meeting else None)
        reason = (f"decided at the meeting of {meeting['held_on'].isoformat()}" if meeting
                  else "entered from a table of decisions")
        importer = Importer(tracker, principal, dialogue, acting, meeting, reason)
        plans, problems = importer.run(rows)
        if problems:
            raise InvalidRows(problems)
        counts = {outcome: sum(1 for p in plans if p.outcome == outcome)
                  for outcome in ("create", "update", "unchanged")}
        position = None
        if importer.changed and not dry_run:
            position = tracker._save(*importer.changed.values())  # noqa: SLF001
        return ImportResult(counts["create"], counts["update"], counts["unchanged"], plans,
                            position, dry_run)

    return tracker._retrying(attempt, "dialogue")  # noqa: SLF001
