"""Response models of the JSON API, named by role (CommitmentOut, CommandAnswer ...).

Request bodies are the command classes of the catalogue (tracker/commands.py). Rules live in the
domain and the policy table: these models only give the OpenAPI schema its shape. A value the domain
refuses is a 422 from the application service, with the domain's message.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.lifecycle import Status

StatusName = Literal[tuple(s.value for s in Status)]  # type: ignore[valid-type]


# --- errors ---------------------------------------------------------------------------------------

class RowProblem(BaseModel):
    row: int = Field(description="the row of the table (the header is row 1)")
    column: str | None = Field(description="the column at fault, if one is")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="a stable machine-readable code: invalid, not_found, conflict ...")
    message: str = Field(description="what was refused and why, for a person to read")
    field: str | None = Field(default=None, description="the request field at fault, if any")
    rows: list[RowProblem] | None = Field(default=None, description="an imported table: every "
                                          "problem by row and column (nothing was written)")


class ErrorBody(BaseModel):
    error: ErrorDetail


# --- commands (their bodies are the command classes of tracker/commands.py) ---------------------------

class CommandAnswer(BaseModel):
    id: str = Field(description="the changed record's id")
    version: int = Field(description="its new version")
    position: int = Field(description="the position of its last event in the log")


class PartyAdded(CommandAnswer):
    party_id: str


class MilestoneAdded(CommandAnswer):
    milestone_id: str


class EvidenceAttached(CommandAnswer):
    evidence_id: str


class MeetingRecorded(CommandAnswer):
    meeting_id: str


class RowPlan(BaseModel):
    row: int
    ref: str
    outcome: Literal["create", "update", "unchanged"]
    actions: list[str] = Field(description="the commands the row gives, in order")
    commitment_id: str | None = None


class ImportAnswer(BaseModel):
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    position: int | None = Field(description="the log position of the last event written "
                                              "(null: nothing written)")
    rows: list[RowPlan]


# Answers with one more id than the plain CommandAnswer, by the key the application returns.
ANSWER_WITH_EXTRA: dict[str, type[CommandAnswer]] = {
    "meeting_id": MeetingRecorded,
    "party_id": PartyAdded,
    "milestone_id": MilestoneAdded,
    "evidence_id": EvidenceAttached,
}


# --- reads ----------------------------------------------------------------------------------------

class PartyOut(BaseModel):
    id: str
    name: str
    kind: str


class MeetingOut(BaseModel):
    id: str
    held_on: date
    title: str
    place: str = ""
    attendance: dict[str, int]
    summary: str | None = None
    public: bool = Field(default=False, description="the summary may be shown publicly")


class Decision(BaseModel):
    """An event recorded as decided at the meeting."""

    position: int
    aggregate_id: str
    aggregate_type: str
    type: str
    occurred_on: date | None = None
    party: Named | None = None
    title: str | None = Field(default=None, description="the commitment's title")
    ref: str | None = Field(default=None, description="the commitment's reference")
    changes: dict[str, Any]
    reason: str | None = None


class MeetingWithDecisions(MeetingOut):
    decisions: list[Decision]


class DialogueOut(BaseModel):
    id: str
    slug: str
    name: str
    country: str
    locality: str
    description: str | None = None
    concluded: bool
    parties: list[PartyOut]
    counts: dict[str, int]
    meetings: list[MeetingOut] | None = None


class CommitmentRow(BaseModel):
    """A commitment in a list (the read model's row)."""

    id: str
    dialogue_id: str
    case_id: str | None = None
    title: str
    description: str | None = None
    status: str
    version: int
    public: bool
    proposed_by: str | None = None
    required_parties: list[str]
    endorsements: list[str]
    responsible_party: str | None = None
    responsible_party_name: str | None = None
    due_date: date | None = None
    progress: int
    milestones_done: int
    milestones_total: int
    last_activity: datetime | None = None
    overdue: bool


class CommitmentPage(BaseModel):
    items: list[CommitmentRow]
    total: int


class DialogueRef(BaseModel):
    id: str
    slug: str | None = None
    name: str | None = None


class MilestoneOut(BaseModel):
    id: str
    title: str
    due_date: date | None = None
    completed_on: date | None = None


class EvidenceOut(BaseModel):
    id: str
    description: str
    url: str | None = None
    sha256: str | None = None
    public: bool = Field(default=False, description="shown on the public pages")
    added_on: date | None = None


class CommitmentOut(BaseModel):
    """One commitment, now or as it was at a version, a recorded time or a business date."""

    id: str
    dialogue: DialogueRef
    case_id: str | None = None
    title: str
    description: str | None = None
    status: str
    version: int
    progress: int
    proposed_by: str | None = None
    required_parties: list[str]
    responsible_party: str | None = None
    responsible_party_name: str | None = None
    due_date: date | None = None
    overdue: bool
    milestones: list[MilestoneOut]
    endorsements: list[str]
    evidence: list[EvidenceOut]
    public: bool
    private_note: str | None = None


class Named(BaseModel):
    id: str | None = None
    name: str | None = None


class MeetingRef(BaseModel):
    id: str
    held_on: date | None = None
    title: str | None = None


class HistoryEvent(BaseModel):
    position: int
    version: int
    type: str
    recorded_at: datetime
    occurred_on: date | None = None
    actor: Named | None = None
    party: Named | None = None
    changes: dict[str, Any]
    reason: str | None = None
    note: str | None = None
    meeting: MeetingRef | None = Field(default=None, description="the meeting where it was "
                                       "decided, if it was")


class History(BaseModel):
    events: list[HistoryEvent]


class CaseOut(BaseModel):
    id: str
    dialogue_id: str
    title: str
    description: str | None = None
    category: str
    raised_by: str | None = None
    raised_by_name: str | None = None
    status: str
    version: int
    raised_on: date | None = None
    commitment_ids: list[str]


class Checkpoint(BaseModel):
    position: int
    head_hash: str
    signed_at: datetime | str | None = None
    signature: str | None = None
    public_key: str | None = None


class Cosignature(BaseModel):
    """A witness's Ed25519 signature (hex) of a tree head it found consistent with the last one
    it cosigned (the text it signs: README, "Proofs")."""

    tree_size: int
    root_hash: str
    cosigned_at: str
    public_key: str = Field(description="the witness's Ed25519 public key, 32 raw bytes in hex")
    key_id: str | None = None
    signature: str
    name: str | None = Field(default=None, description="the witness, as registered")


class CosignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tree_size: int = Field(ge=0)
    root_hash: str = Field(min_length=64, max_length=64)
    cosigned_at: str = Field(min_length=1, max_length=100)
    public_key: str = Field(min_length=64, max_length=64)
    key_id: str | None = Field(default=None, max_length=16)
    signature: str = Field(min_length=128, max_length=128)


class TreeHead(BaseModel):
    """A signed head of the Merkle tree over the whole log (RFC 9162): Ed25519 over the text in
    the README; keys and signatures in hex, `key_id` the first 16 hex digits of SHA-256 of the key."""

    tree_size: int
    root_hash: str
    signed_at: str
    signature: str
    public_key: str
    key_id: str
    cosignatures: list[Cosignature] = []


class ProofEntry(BaseModel):
    position: int
    leaf_index: int
    leaf: str = Field(description="base64 of the leaf bytes (README, \"Proofs\")")
    audit_path: list[str] = Field(description="RFC 9162 §2.1.3, leaf to root, hex")
    state: str | None = Field(default=None, description="auditors: base64 of the stored bytes")


class ConsistencyPart(BaseModel):
    first: int
    second: int
    proof: list[str]


class ProofBundle(BaseModel):
    tree_head: TreeHead
    commitment_id: str | None = None
    entries: list[ProofEntry]
    consistency: ConsistencyPart | None = Field(
        default=None, description="with ?since=M: the consistency proof from size M to the head")


class Consistency(ConsistencyPart):
    first_head: TreeHead | None = None
    second_head: TreeHead | None = None


class LedgerHead(BaseModel):
    position: int
    head_hash: str
    checkpoint: Checkpoint | None = None
    tree_head: TreeHead | None = Field(default=None, description="the latest signed tree head")


class PublicMilestone(BaseModel):
    title: str
    due_date: date | None = None
    completed_on: date | None = None


class PublicEvidence(BaseModel):
    """Evidence given as public (evidence is not public unless its author says so)."""

    description: str
    url: str | None = None
    sha256: str | None = None
    added_on: date | None = None


class PublicCommitment(BaseModel):
    """Public fields of a public commitment: party names only, never a person's."""

    id: str
    title: str
    description: str | None = None
    status: str
    progress: int
    responsible_party_name: str | None = None
    due_date: date | None = None
    overdue: bool
    milestones: list[PublicMilestone] = []
    milestones_done: int | None = None
    milestones_total: int | None = None
    endorsements: list[str] = Field(default=[], description="names of the parties that endorsed")
    evidence: list[PublicEvidence] = []
    completed_on: date | None = None
    last_activity: datetime | None = None


class PublicMeeting(BaseModel):
    held_on: date
    title: str
    place: str = ""
    attendance: dict[str, int] = Field(description="people present, by party id")
    summary: str | None = Field(default=None, description="only when recorded as public")


class PublicScorecard(BaseModel):
    party_name: str
    kind: str | None = None
    assigned: int
    completed: int
    completed_on_time: int
    verified: int
    overdue: int
    disputed: int


class PublicDialogueSummary(BaseModel):
    id: str
    slug: str
    name: str
    country: str
    locality: str
    description: str | None = None
    concluded: bool
    parties: list[PartyOut]
    counts: dict[str, int]


class PublicDialogue(PublicDialogueSummary):
    meetings: list[PublicMeeting] = []
    commitments: list[PublicCommitment]
    scorecards: list[PublicScorecard]
    ledger: LedgerHead


class PublicDialogueList(BaseModel):
    items: list[PublicDialogueSummary]
    ledger: LedgerHead
