"""Who may do what: one table of (command, role relative to the record) -> allowed.

The lifecycle table (domain/lifecycle.py) says *when* an action may be taken; this table says *who*.
A person's roles are relative to the record: the party they act for may be the commitment's
proposer, one of the parties required to endorse it, its responsible party, the party that
completed it, or another party of the dialogue; a case has the party that raised it. An
administrator may do what the table grants admins, and acts for a party only by naming it (then
with that party's roles too); an auditor reads everything and changes nothing.

`may(principal, command, target, party)` answers allowed or the rule that refuses; the application
service asks `require` before every command, and the pages ask `offer`, `commitment_offers` and
`case_offers` to show only what may be done (the API describes each command's rule). Every
refusal names its rule, in the reader's language (the messages are in the catalogues); the README
holds this table as a person reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from domain.case import CASE_LIFECYCLE, Case
from domain.commitment import Commitment
from domain.errors import N_, Forbidden, InvalidInput
from tracker import commands as c

if TYPE_CHECKING:
    from domain.dialogue import Dialogue


class Role(StrEnum):
    SIGNED_OUT = "signed out"
    AUDITOR = "auditor"
    OUTSIDER = "outsider"  # a member of other dialogues only
    ADMIN = "admin"
    PARTY = "party"  # any party of the dialogue
    PROPOSER = "proposer"
    REQUIRED = "required"  # asked to endorse
    RESPONSIBLE = "responsible"
    COMPLETER = "completer"  # said it is done
    RAISER = "raiser"  # raised the case


class Who(Protocol):
    """Who acts, as the policy needs to know it (`tracker.application.Principal`)."""

    role: str
    memberships: Mapping[str, str]


@dataclass(frozen=True)
class Target:
    """The record a command changes, as far as roles go."""

    dialogue_id: str | None
    proposer: str | None = None
    required: tuple[str, ...] = ()
    responsible: str | None = None
    completer: str | None = None
    raiser: str | None = None

    @classmethod
    def of(cls, record: Commitment | Case | Dialogue | None) -> Target:
        if isinstance(record, Commitment):
            return cls(record.dialogue_id, proposer=record.proposed_by,
                       required=tuple(record.required_parties),
                       responsible=record.responsible_party, completer=record.completed_by)
        if isinstance(record, Case):
            return cls(record.dialogue_id, raiser=record.raised_by)
        return cls(str(record.id) if record is not None else None)


@dataclass(frozen=True)
class Rule:
    """Anyone with one of the roles `who` may, unless they also have one of the roles `unless`;
    `says` is the refusal."""

    who: frozenset[Role]
    says: str
    unless: frozenset[Role] = field(default_factory=frozenset)

    def allows(self, roles: frozenset[Role]) -> bool:
        return bool(roles & self.who) and not roles & self.unless


def rule(*who: Role, says: str, unless: Iterable[Role] = ()) -> Rule:
    return Rule(frozenset(who), says, frozenset(unless))


R = Role
ONLY_ADMIN = rule(R.ADMIN, says=N_("only an administrator can do this"))

POLICY: dict[type[c.Command], Rule] = {
    # the dialogue
    c.StartDialogue: ONLY_ADMIN,
    c.AddParty: ONLY_ADMIN,
    c.ConcludeDialogue: ONLY_ADMIN,
    c.ReopenDialogue: ONLY_ADMIN,
    c.RecordMeeting: rule(R.PARTY, R.ADMIN, says=N_(
        "only a party of the dialogue or an administrator can record a meeting")),
    c.ImportDecisions: rule(R.PARTY, R.ADMIN, says=N_(
        "only a party of the dialogue or an administrator can enter decisions; each row then "
        "follows the rule of what it does")),
    # cases
    c.RaiseCase: rule(R.PARTY, says=N_("only a party of the dialogue can raise a case, for itself")),
    c.ResolveCase: rule(R.RAISER, R.ADMIN, says=N_(
        "only the party that raised the case or an administrator can resolve it")),
    c.CloseCase: rule(R.RAISER, R.ADMIN, says=N_(
        "only the party that raised the case or an administrator can close it")),
    c.ReopenCase: rule(R.RAISER, R.ADMIN, says=N_(
        "only the party that raised the case or an administrator can reopen it")),
    c.LinkCommitment: rule(R.RAISER, R.PROPOSER, R.ADMIN, says=N_(
        "only the party that raised the case, the party that proposed the commitment or an "
        "administrator can link them")),
    # commitments
    c.ProposeCommitment: rule(R.PARTY, says=N_(
        "only a party of the dialogue can propose a commitment, for itself")),
    c.AmendProposal: rule(R.PROPOSER, says=N_(
        "only the party that proposed the commitment can amend it")),
    c.EndorseProposal: rule(R.REQUIRED, says=N_(
        "only a party asked to endorse the commitment can endorse it, for itself")),
    c.AgreeCommitment: rule(R.REQUIRED, says=N_(
        "only a party asked to endorse the commitment can agree it")),
    c.RejectProposal: rule(R.REQUIRED, unless=[R.PROPOSER], says=N_(
        "only a required party other than the proposer can reject a proposal; the proposer "
        "withdraws it instead")),
    c.WithdrawProposal: rule(R.PROPOSER, says=N_(
        "only the party that proposed the commitment can withdraw it")),
    c.AssignCommitment: rule(R.REQUIRED, R.ADMIN, says=N_(
        "only a required party or an administrator can assign the commitment")),
    c.ReportProgress: rule(R.RESPONSIBLE, says=N_(
        "only the responsible party can report progress")),
    c.AddMilestone: rule(R.RESPONSIBLE, says=N_("only the responsible party can add a milestone")),
    c.CompleteMilestone: rule(R.RESPONSIBLE, says=N_(
        "only the responsible party can complete a milestone")),
    c.AttachEvidence: rule(R.RESPONSIBLE, R.REQUIRED, says=N_(
        "only the responsible party or a required party can attach evidence")),
    c.CompleteCommitment: rule(R.RESPONSIBLE, says=N_(
        "only the responsible party can complete the commitment")),
    c.VerifyCompletion: rule(R.REQUIRED, unless=[R.COMPLETER], says=N_(
        "only a required party other than the completing party can verify")),
    c.DisputeCompletion: rule(R.REQUIRED, unless=[R.COMPLETER], says=N_(
        "only a required party other than the completing party can dispute a completion")),
    c.CancelCommitment: rule(R.REQUIRED, R.ADMIN, says=N_(
        "only a required party or an administrator can cancel the commitment")),
    c.ReopenCommitment: rule(R.REQUIRED, R.ADMIN, says=N_(
        "only a required party or an administrator can reopen the commitment")),
    c.SetVisibility: rule(R.REQUIRED, R.ADMIN, says=N_(
        "only a required party or an administrator can change who can see the commitment")),
    c.AddComment: rule(R.PARTY, R.ADMIN, says=N_(
        "only a party of the dialogue or an administrator can add a note")),
}
assert set(POLICY) == set(c.COMMANDS), "every command has its rule"

SIGNED_OUT = N_("sign in first")
AUDITORS_CHANGE_NOTHING = N_("auditors read everything and change nothing")
NOT_A_MEMBER = N_("you are not a member of this dialogue")

# Reading, and the pages that are about no one record.
READING = rule(R.PARTY, R.AUDITOR, R.ADMIN, says=NOT_A_MEMBER)
ADMINISTRATION = ONLY_ADMIN
AUDITING = rule(R.AUDITOR, R.ADMIN, says=N_(
    "only auditors and administrators can open the auditor's workbench"))
OWN_PARTY_ONLY = N_("you can act only for your own party")
NAME_A_PARTY = N_("an administrator must say for which party they act")


# --- roles and decisions -------------------------------------------------------------------------

def roles(principal: Who, target: Target, party: str | None) -> frozenset[Role]:
    """The principal's roles relative to the record, acting for `party` (None: for no party)."""
    if principal.role == "auditor":
        return frozenset({R.AUDITOR})
    if principal.role not in ("admin", "member"):
        return frozenset({R.SIGNED_OUT})
    found: set[Role] = set()
    if principal.role == "admin":
        found.add(R.ADMIN)
    elif target.dialogue_id is not None and target.dialogue_id not in principal.memberships:
        return frozenset({R.OUTSIDER})
    if party is not None:
        found.add(R.PARTY)
        for role, holder in ((R.PROPOSER, target.proposer), (R.RESPONSIBLE, target.responsible),
                             (R.COMPLETER, target.completer), (R.RAISER, target.raiser)):
            if party == holder:
                found.add(role)
        if party in target.required:
            found.add(R.REQUIRED)
    return frozenset(found)


@dataclass(frozen=True)
class Decision:
    """Allowed, or refused by the rule `reason` names."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def who_refusal(found: frozenset[Role]) -> str | None:
    """The refusal that holds whatever the command: signed out, auditor, not a member."""
    for role, says in ((R.SIGNED_OUT, SIGNED_OUT), (R.AUDITOR, AUDITORS_CHANGE_NOTHING),
                       (R.OUTSIDER, NOT_A_MEMBER)):
        if role in found:
            return says
    return None


def may(principal: Who, command: type[c.Command], target: Target,
        party: str | None) -> Decision:
    """May the principal, acting for `party`, give this command about this record?"""
    found = roles(principal, target, party)
    refusal = who_refusal(found)
    if refusal:
        return Decision(False, refusal)
    rule_ = POLICY[command]
    return ALLOWED if rule_.allows(found) else Decision(False, rule_.says)


def check_who(principal: Who, dialogue_id: str | None) -> None:
    """Refuse (Forbidden) whoever may change nothing here, before looking at parties."""
    refusal = who_refusal(roles(principal, Target(dialogue_id), None))
    if refusal:
        raise Forbidden(refusal)


PARTY_ROLES = frozenset({R.PARTY, R.PROPOSER, R.REQUIRED, R.RESPONSIBLE, R.COMPLETER, R.RAISER})


def require(principal: Who, command: type[c.Command], target: Target,
            party: str | None) -> None:
    """Raise unless allowed: Forbidden naming the rule, or (an administrator who names no party
    where only a party may act) InvalidInput naming the field that asks for the party."""
    decision = may(principal, command, target, party)
    if decision:
        return
    if (party is None and principal.role == "admin" and command.party_field
            and POLICY[command].who & PARTY_ROLES):
        raise InvalidInput(NAME_A_PARTY, command.party_field)
    raise Forbidden(decision.reason)


def may_read(principal: Who, dialogue_id: str) -> bool:
    """Members of the dialogue, auditors and administrators read everything in it."""
    return READING.allows(roles(principal, Target(dialogue_id),
                                principal.memberships.get(dialogue_id)))


def require_read(principal: Who, dialogue_id: str) -> None:
    if not may_read(principal, dialogue_id):
        raise Forbidden(READING.says)


def require_rule(principal: Who, rule_: Rule) -> None:
    """For pages about no one record (administration, auditing)."""
    if not rule_.allows(roles(principal, Target(None), None)):
        raise Forbidden(rule_.says)


# --- what to offer -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Offer:
    """A command the page shows; `parties`: for an administrator, the parties it may be given
    for (empty: given for no party, or for the member's own)."""

    command: type[c.Command]
    parties: tuple[str, ...] = ()

    @property
    def action(self) -> str:
        return self.command.action


def acting_choices(principal: Who, command: type[c.Command], dialogue_id: str | None,
                   parties: Sequence[str]) -> list[str | None]:
    """For whom the principal could give the command: a member for its own party; an
    administrator for no party, or for any party when the command names one."""
    own = principal.memberships.get(dialogue_id or "")
    if own is not None:
        return [own]
    if principal.role == "admin":
        return [None, *(parties if command.party_field else ())]
    return [None]


def offer(principal: Who, command: type[c.Command], target: Target, parties: Sequence[str],
          ready: Callable[[str | None], bool] | None = None) -> Offer | None:
    """The command as an offer if the principal may give it (and it is `ready`) for someone."""
    fits = [p for p in acting_choices(principal, command, target.dialogue_id, parties)
            if may(principal, command, target, p) and (ready is None or ready(p))]
    if not fits:
        return None
    if None in fits or principal.memberships.get(target.dialogue_id or "") is not None:
        return Offer(command)
    return Offer(command, tuple(p for p in fits if p))


def commitment_offers(principal: Who, commitment: Commitment,
                      parties: Sequence[str]) -> list[Offer]:
    """Every command on the commitment the principal may give now, in the catalogue's order."""
    target = Target.of(commitment)
    offers = []
    for command in c.COMMITMENT_COMMANDS.values():
        found = offer(principal, command, target, parties,
                      lambda p, action=command.action: commitment.ready(action, p))
        if found:
            offers.append(found)
    return offers


def case_offers(principal: Who, target: Target, status: str,
                parties: Sequence[str]) -> list[Offer]:
    """Every command on a case (in this status) the principal may give now. Linking is left to
    the page: whether it may be offered depends on the commitment (`may` for each)."""
    offers = []
    for command in c.CASE_COMMANDS.values():
        if command is c.LinkCommitment or status not in CASE_LIFECYCLE[command.action][0]:
            continue
        found = offer(principal, command, target, parties)
        if found:
            offers.append(found)
    return offers
