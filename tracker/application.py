"""The tracker's application service: one method per use case, typed commands in, plain values out.

Every use case takes the acting `Principal` and a command of the catalogue (tracker/commands.py),
asks the policy table (tracker/policy.py) whether this account may give it for this record and
party, loads the aggregate, calls the domain command and saves, returning the aggregate's id, its
new version and the position of its last event in the log (so the caller can wait for the read
models: read-your-writes). `execute` runs any command by its class (HANDLERS); a command on a
commitment or a case applies itself to the record once allowed (`act`, `act_on_case`). A stale
`expected_version` raises `Conflict` and changes nothing; a command given no expected version is
retried when another writer saved first, so concurrent writers never lose an update. Use cases
also take their command's fields as keywords (`raise_case(principal, slug, title=...)`), and
`commitment_action`/`case_action` take an action's name, for scripts, the demo and tests.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    Mapper,
    OperationalError,
)
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from eventsourcing.utils import retry

from domain.account import Account, ApiToken, account_id, check_account_name
from domain.base import (
    TRANSCODINGS,
    Meta,
    check_not_before,
    check_occurred_on,
    clean_text,
    last_date_of,
)
from domain.case import Case
from domain.commitment import Commitment
from domain.dialogue import Dialogue, check_slug
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from projections.binding import Binder, BindingMapper
from projections.database import (
    ConfigurationError,
    create_tables,
    datastore_write_lock,
    serialize_writes,
)
from tracker import policy
from tracker.commands import (
    CASE_COMMANDS,
    COMMITMENT_COMMANDS,
    Acting,
    AddParty,
    CaseCommand,
    Command,
    CommitmentCommand,
    ConcludeDialogue,
    ImportDecisions,
    LinkCommitment,
    ProposeCommitment,
    RaiseCase,
    RecordMeeting,
    ReopenDialogue,
    SetVisibility,
    StartDialogue,
    given,
)
from tracker.importing import ImportResult, import_rows
from tracker.sheets import Row

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")

# argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1: the Password Storage Cheat Sheet): about
# 16 ms of one core per check here, against 150 ms of four lanes for the library's defaults (64 MiB,
# t = 3, p = 4), which on a small shared server made signing in the slowest step on a phone, and
# held 64 MiB per sign-in at once. A hash made before keeps the parameters it records and verifies.
PASSWORD_HASHING = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
_hasher = PasswordHasher(**PASSWORD_HASHING)
MIN_PASSWORD = 8
# How often a command given no expected version is tried when other writers keep saving first.
MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class Principal:
    """Who is acting: an account's id, name, role and its memberships (dialogue id -> party id)."""

    account_id: str | None
    name: str
    role: str
    memberships: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None
    session_epoch: int = 0  # sessions started at another epoch of the account have ended
    second_factor: bool = False  # the account signs in with a TOTP code too
    mail: str | None = None  # how the account is told (its mail choice; None: no address)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_auditor(self) -> bool:
        return self.role == "auditor"

    def party_in(self, dialogue_id: str) -> str | None:
        return self.memberships.get(dialogue_id)

    def can_read(self, dialogue_id: str) -> bool:
        return policy.may_read(self, dialogue_id)


# The command line and the demo loader act as the system: an admin with no account.
SYSTEM = Principal(account_id=None, name="system", role="admin")
# Someone not signed in (a failed sign-in is recorded in their name): may do nothing.
ANONYMOUS = Principal(account_id=None, name="anonymous", role="anonymous")


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the aggregate's id, its new version, its last event's position."""

    id: str
    version: int
    position: int
    extra: dict[str, str] = field(default_factory=dict)


# The environment entry that holds the binding keys (`ID:KEY,...`; Settings.binding_keys).
BINDING_KEYS = "TRACKER_BINDING_KEYS"

# The largest version a store can hold (a signed 64-bit column in SQLite and PostgreSQL).
MAX_VERSION = 2**63 - 1


def replay(aggregate: A | None, events: Iterable[Any]) -> A | None:
    """The library's `project_aggregate` without its check, on every event, that the event is a
    `CanMutateProtocol` (an isinstance against a runtime Protocol: a sixth of loading a cached
    commitment on a command): the tracker's mapper only gives its own events, which are
    (projections.binding)."""
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def stored_version(version: int | None) -> int | None:
    """A version to ask the store for: one beyond any stored version means "the latest" (as any
    version past the aggregate's own does); the store would fail on a number it cannot hold."""
    return None if version is None else min(version, MAX_VERSION)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- passwords and the second factor ---------------------------------------------------------------

MAX_PASSWORD = 1000
RECOVERY_CODES = 10
TOTP_ISSUER = "Dialogue tracker"


def check_password(password: str | None, field_name: str = "password") -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD} characters", field_name)
    if len(password or "") > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters", field_name)
    return password or ""


def password_matches(password_hash: str, password: str | None) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def new_second_factor_secret() -> str:
    """A fresh TOTP secret (base32, 160 bits), for an app to be given before enrolling."""
    return pyotp.random_base32(32)


def provisioning_uri(name: str, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)


def totp_step(secret: str, code: str, now: float) -> int | None:
    """The 30-second time step (now, or one before or after, for a phone's clock a little off)
    whose code this is; None if none."""
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):  # (other digits: not a code)
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // totp.interval)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def recovery_code() -> str:
    """A one-time recovery code: 12 letters and digits (60 bits), grouped by four."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def code_digest(code: str) -> str:
    return hashlib.sha256(("recovery:" + "".join(code.lower().split()).replace("-", "")).encode()
                          ).hexdigest()


def second_factor_match(account: Account, code: str, now: float) -> tuple[int | None, str | None]:
    """(time step, None) for a current TOTP code, (None, digest) for an unused recovery code."""
    assert account.totp_secret is not None
    step = totp_step(account.totp_secret, code, now)
    if step is not None:
        return step, None
    digest = code_digest(code)
    if code.strip() and digest in account.recovery_codes:
        return None, digest
    raise InvalidInput("this code is not right", "code")


def parse_uuid(value: str | UUID, what: str) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise NotFound(f"no {what} has the id {str(value)[:60]!r}") from None


class Tracker(Application[UUID]):
    """The application service of the tracker."""

    name = "tracker"
    snapshotting_intervals: ClassVar = {Commitment: 50, Dialogue: 50, Case: 50, Account: 50}
    # The library's aggregate cache: an aggregate this process has loaded is kept, and each
    # later load only reads the events stored after the kept version (fast-forward), one query
    # that usually finds none, instead of a snapshot and up to 50 events to decode. Events
    # written by another process are among those read, so no command acts on a stale version;
    # two writers of the same version still meet the store's unique key (IntegrityError). Each
    # load is a copy (commands change it; a refused save leaves the kept one as stored).
    env: ClassVar = {"AGGREGATE_CACHE_MAXSIZE": "2000", "AGGREGATE_CACHE_FASTFORWARD": "y"}

    def __init__(self, env: Mapping[str, str] | None = None,
                 today: Callable[[], date] = date.today) -> None:
        # The tables are created here, not by the library: several processes (the workers, the
        # `follow` worker) start at once, and PostgreSQL refuses all but one of their DDL.
        super().__init__(env={**(env or {}), "CREATE_TABLE": "false"})
        create_tables(self.recorder, *([self.snapshots.recorder] if self.snapshots else []))
        # SQLite: writers queue on the database's write lock, no sleeps (None on PostgreSQL)
        datastore = getattr(self.factory, "datastore", None)
        self.write_lock = datastore_write_lock(datastore)
        serialize_writes(datastore)
        self.today = today
        # account id -> (the account's version, its principal); see principal_by_id
        self._principals: dict[str, tuple[int, Principal | None]] = {}
        # token id -> (the token's version, its account id or None once revoked); see
        # principal_for_token
        self._tokens: dict[UUID, tuple[int, str | None]] = {}
        # token or account id -> (the log's last position when it was checked, its principal
        # then); see checked_at
        self._checked_heads: dict[UUID, tuple[int, Principal | None]] = {}

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper, binding every event written and checking every event read
        (projections.binding): an event the tracker did not write is never loaded."""
        keys = self.env.get(BINDING_KEYS)
        if not keys:
            raise ConfigurationError(f"the tracker needs {BINDING_KEYS} (see the README)")
        return BindingMapper(super().construct_mapper(), Binder.from_text(keys))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for transcoding in TRANSCODINGS:
            transcoder.register(transcoding)

    # --- plumbing -----------------------------------------------------------------------------

    def _meta(self, principal: Principal, party: str | None = None,
              occurred_on: date | None = None, note: str | None = None,
              after: date | None = None, meeting: str | None = None) -> Meta:
        """An event's metadata; its business date is today unless given, and not before `after`
        (the business date of the record's previous event)."""
        today = self.today()
        return Meta(
            actor=principal.account_id,
            occurred_on=check_not_before(check_occurred_on(occurred_on or today, today), after),
            party=party,
            note=clean_text(note, "note") or None,
            meeting=meeting,
        )

    def _load(self, cls: type[A], aggregate_id: UUID | str, what: str,
              version: int | None = None) -> A:
        try:
            aggregate = self.repository.get(parse_uuid(aggregate_id, what),
                                            version=stored_version(version), projector_func=replay)
        except AggregateNotFoundError:
            raise NotFound(f"no {what} has the id {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"no {what} has the id {aggregate_id}")
        return aggregate

    def _save(self, *aggregates: Aggregate) -> int:
        recordings = self.save(*aggregates)
        if not recordings:
            raise InvalidInput("nothing to save")
        return recordings[-1].notification.id

    def _create(self, *aggregates: Aggregate, taken: str) -> int:
        """Save new aggregates; a derived id already in the store means the name is taken."""
        try:
            return self._save(*aggregates)
        except IntegrityError:
            raise Conflict(taken) from None

    def _current(self, cls: type[A], aggregate_id: UUID | str, what: str,
                 expected_version: int | None) -> A:
        """The aggregate as stored now; Conflict if it is not at the version the caller read."""
        aggregate = self._load(cls, aggregate_id, what)
        if expected_version is not None and aggregate.version != expected_version:
            raise Conflict(
                f"this {what} changed since you opened it: it is now at version "
                f"{aggregate.version}, you had version {expected_version}"
            )
        return aggregate

    def _save_changes(self, aggregate: Aggregate, expected_version: int | None, what: str,
                      *others: Aggregate) -> int:
        try:
            return self._save(aggregate, *others)
        except IntegrityError:
            if expected_version is not None:
                raise Conflict(
                    f"this {what} changed since you opened it; reload it and try again"
                ) from None
            raise

    def _change(self, cls: type[A], aggregate_id: UUID | str, what: str,
                change: Callable[[A], dict[str, str] | None],
                expected_version: int | None = None,
                also: Callable[[A], Iterable[Aggregate]] | None = None) -> CommandResult:
        """Load, check the expected version, apply one change, save; retry a lost race."""

        def attempt() -> CommandResult:
            aggregate = self._current(cls, aggregate_id, what, expected_version)
            extra = change(aggregate) or {}
            others = list(also(aggregate)) if also else []
            position = self._save_changes(aggregate, expected_version, what, *others)
            return CommandResult(str(aggregate.id), aggregate.version, position, extra)

        return self._retrying(attempt, what)

    def _retrying(self, attempt: Callable[[], R], what: str) -> R:
        """Run a whole load-change-save attempt again while other writers keep saving first.

        Each attempt must load (or build) its aggregates afresh: a save that lost the race has
        already taken the pending events of the aggregates it was given.
        """
        for tries in range(1, MAX_ATTEMPTS + 1):
            try:
                return attempt()
            except IntegrityError:
                if tries == MAX_ATTEMPTS:
                    break
                # A random, growing pause, so that the writers who lost do not collide again.
                time.sleep(random.uniform(0, min(0.05, 0.002 * 2 ** tries)))  # noqa: S311
        raise Conflict(f"too many people are changing this {what} at once; try again")

    # --- who acts, and for which party -----------------------------------------------------------

    def _check_admin(self, principal: Principal) -> None:
        policy.require_rule(principal, policy.ADMINISTRATION)

    def _acting(self, principal: Principal, command: Command, target: policy.Target,
                dialogue: Callable[[], Dialogue], record: Aggregate | None = None,
                occurred_on: date | None = None, meeting: str | None = None) -> Acting:
        """Who gives the command, for which party, checked against the policy table; and the
        metadata of its event (dated no earlier than the record's previous event).

        A member acts for its own party: naming another is refused. An administrator acts for no
        party, or for the party it names where the command takes one (`party_field`).
        `dialogue` loads the dialogue, only when a party given by name must be looked up;
        `meeting`: the meeting (its id) where it was decided, named in the event's metadata."""
        policy.check_who(principal, target.dialogue_id)
        loaded: list[Dialogue] = []

        def party_of(ref: str | None, field_name: str) -> str | None:
            if not loaded:
                loaded.append(dialogue())
            return self._party_of(loaded[0], ref, field_name)

        own = principal.party_in(target.dialogue_id or "")
        asked = getattr(command, command.party_field) if command.party_field else None
        party = own
        if asked and asked != own:
            named = party_of(asked, command.party_field or "party_id")
            if named != own and (own is not None or not principal.is_admin):
                raise Forbidden(policy.OWN_PARTY_ONLY)
            party = named
        policy.require(principal, type(command), target, party)
        meta = self._meta(principal, party, occurred_on or command.occurred_on, command.note,
                          after=last_date_of(record), meeting=meeting)
        return Acting(party=party, meta=meta, party_of=party_of)

    def execute(self, principal: Principal, target: str | None, command: Command) -> CommandResult:
        """Any command of the catalogue, by its class (HANDLERS); `target` is what it changes:
        the dialogue's slug, the case's or the commitment's id (None to start a dialogue)."""
        for cls in type(command).__mro__:
            handler = HANDLERS.get(cls)
            if handler is not None:
                return handler(self, principal, target or "", command)
        raise TypeError(f"no handler for {type(command).__name__}")

    # --- dialogues ------------------------------------------------------------------------------

    def dialogue_by_slug(self, slug: str) -> Dialogue:
        try:
            slug = check_slug(slug)
        except InvalidInput:
            raise NotFound(f"no dialogue is called {slug[:60]!r}") from None
        return self._load(Dialogue, Dialogue.create_id(slug), f"dialogue {slug!r}")

    def create_dialogue(self, principal: Principal, command: StartDialogue | None = None,
                        **fields: Any) -> CommandResult:
        command = given(StartDialogue, command, fields)
        policy.require(principal, StartDialogue, policy.Target(None), None)
        dialogue = Dialogue.start(slug=command.slug, name=command.name, country=command.country,
                                  locality=command.locality, description=command.description,
                                  meta=self._meta(principal, None, command.occurred_on,
                                                  command.note))
        position = self._create(dialogue, taken=f"a dialogue called {dialogue.slug!r} exists")
        return CommandResult(str(dialogue.id), dialogue.version, position)

    def _change_dialogue(self, principal: Principal, slug: str, command: Command,
                         change: Callable[[Dialogue, Acting], dict[str, str] | None],
                         occurred_on: date | None = None) -> CommandResult:
        dialogue_id = self.dialogue_by_slug(slug).id

        def apply(dialogue: Dialogue) -> dict[str, str] | None:
            acting = self._acting(principal, command, policy.Target.of(dialogue),
                                  lambda: dialogue, occurred_on=occurred_on)
            return change(dialogue, acting)

        return self._change(Dialogue, dialogue_id, "dialogue", apply, command.expected_version)

    def add_party(self, principal: Principal, slug: str, command: AddParty | None = None,
                  **fields: Any) -> CommandResult:
        command = given(AddParty, command, fields)
        return self._change_dialogue(principal, slug, command, lambda d, acting: {
            "party_id": d.add_party(name=command.name, kind=command.kind, meta=acting.meta)})

    def record_meeting(self, principal: Principal, slug: str,
                       command: RecordMeeting | None = None, **fields: Any) -> CommandResult:
        """A meeting, recorded on the date it was held (its business date)."""
        command = given(RecordMeeting, command, fields)
        if command.occurred_on not in (None, command.held_on):
            raise InvalidInput("a meeting happened on the day it was held", "occurred_on")

        def change(dialogue: Dialogue, acting: Acting) -> dict[str, str]:
            by_id: dict[str, int] = {}
            for ref, count in command.attendance.items():
                party = dialogue.party(ref)
                if party is None:
                    raise InvalidInput(f"this dialogue has no party {ref!r}", "attendance")
                by_id[party["id"]] = count
            return {"meeting_id": dialogue.record_meeting(
                held_on=command.held_on, title=command.title, attendance=by_id,
                summary=command.summary, place=command.place, public=command.public,
                meta=acting.meta)}

        return self._change_dialogue(principal, slug, command, change, occurred_on=command.held_on)

    def conclude_dialogue(self, principal: Principal, slug: str,
                          command: ConcludeDialogue | None = None, **fields: Any) -> CommandResult:
        command = given(ConcludeDialogue, command, fields)
        return self._change_dialogue(principal, slug, command, lambda d, acting: d.conclude(
            reason=command.reason, meta=acting.meta))

    def reopen_dialogue(self, principal: Principal, slug: str,
                        command: ReopenDialogue | None = None, **fields: Any) -> CommandResult:
        command = given(ReopenDialogue, command, fields)
        return self._change_dialogue(principal, slug, command, lambda d, acting: d.reopen(
            reason=command.reason, meta=acting.meta))

    # --- cases ----------------------------------------------------------------------------------

    def _party_of(self, dialogue: Dialogue, ref: str | None, field_name: str) -> str | None:
        if not ref:
            return None
        party = dialogue.party(ref)
        if party is None:
            raise InvalidInput("this dialogue has no such party", field_name)
        return party["id"]

    def raise_case(self, principal: Principal, slug: str, command: RaiseCase | None = None,
                   **fields: Any) -> CommandResult:
        """A case, raised by the acting party (a member's own; an administrator names it)."""
        command = given(RaiseCase, command, fields)
        dialogue = self.dialogue_by_slug(slug)
        acting = self._acting(principal, command, policy.Target.of(dialogue), lambda: dialogue)
        dialogue.check_open()
        case = Case.raise_case(
            dialogue_id=str(dialogue.id), title=command.title, category=command.category,
            description=command.description, raised_by=acting.party, meta=acting.meta)
        position = self._save(case)
        return CommandResult(str(case.id), case.version, position)

    def act_on_case(self, principal: Principal, case_id: str,
                    command: CaseCommand) -> CommandResult:
        """Resolve, close or reopen a case: the policy, then the command's own change."""

        def change(case: Case) -> None:
            policy.check_who(principal, case.dialogue_id)
            case.check_when(command.action)
            acting = self._acting(principal, command, policy.Target.of(case),
                                  lambda: self._load(Dialogue, case.dialogue_id, "dialogue"), case)
            command.apply(case, acting)

        return self._change(Case, case_id, "case", change, command.expected_version)

    def link_commitment(self, principal: Principal, case_id: str,
                        command: LinkCommitment) -> CommandResult:
        """Link a commitment to a case: the case lists it, the commitment names the case, in one
        transaction. Either record's previous event may not be later than the link."""

        def attempt() -> CommandResult:
            case = self._current(Case, case_id, "case", command.expected_version)
            commitment = self._load(Commitment, command.commitment_id, "commitment")
            if commitment.dialogue_id != case.dialogue_id:
                raise InvalidInput("the commitment belongs to another dialogue", "commitment_id")
            target = policy.Target(case.dialogue_id, raiser=case.raised_by,
                                   proposer=commitment.proposed_by)
            acting = self._acting(principal, command, target,
                                  lambda: self._load(Dialogue, case.dialogue_id, "dialogue"), case)
            check_not_before(acting.meta.occurred_on, last_date_of(commitment))
            case.link(commitment_id=str(commitment.id), meta=acting.meta)
            commitment.link_to_case(case_id=str(case.id), meta=acting.meta)
            position = self._save_changes(case, command.expected_version, "case", commitment)
            return CommandResult(str(case.id), case.version, position)

        return self._retrying(attempt, "case")

    def case_action(self, principal: Principal, case_id: str, action: str,
                    fields: Mapping[str, Any] | None = None, *,
                    expected_version: int | None = None, occurred_on: date | None = None,
                    note: str | None = None) -> CommandResult:
        """A case command by its action name (for scripts and tests)."""
        cls = CASE_COMMANDS.get(action)
        if cls is None:
            raise NotFound(f"cases have no action {action[:40]!r}")
        return self.execute(principal, case_id, given(cls, None, with_meta(
            fields, expected_version=expected_version, occurred_on=occurred_on, note=note)))

    def get_case(self, case_id: str) -> dict[str, Any]:
        return self._load(Case, case_id, "case").state()

    # --- commitments ------------------------------------------------------------------------------

    def propose_commitment(self, principal: Principal, slug: str,
                           command: ProposeCommitment | None = None,
                           **fields: Any) -> CommandResult:
        """A proposal by the acting party; when that party is one of those that must endorse,
        its endorsement is recorded with it. Proposing for a case links it to the case."""
        command = given(ProposeCommitment, command, fields)
        dialogue = self.dialogue_by_slug(slug)
        acting = self._acting(principal, command, policy.Target.of(dialogue), lambda: dialogue)
        case = None
        if command.case_id:
            case = self._load(Case, command.case_id, "case")
            if case.dialogue_id != str(dialogue.id):
                raise InvalidInput("the case belongs to another dialogue", "case_id")
        meta = acting.meta

        def attempt() -> CommandResult:
            commitment = self.proposal(dialogue, command, acting)
            aggregates: list[Aggregate] = [commitment]
            if case is not None:
                # The case as it is now: others may be linking commitments to it at this moment.
                latest = self._load(Case, case.id, "case")
                check_not_before(meta.occurred_on, last_date_of(latest))
                latest.link(commitment_id=str(commitment.id), meta=meta)
                aggregates.append(latest)
            try:
                position = self._save(*aggregates)
            except IntegrityError:
                if commitment.ref and self.commitment_by_ref(str(dialogue.id), commitment.ref):
                    raise Conflict(f"this dialogue has a commitment with the reference "
                                   f"{commitment.ref!r}") from None
                raise
            return CommandResult(str(commitment.id), commitment.version, position)

        return self._retrying(attempt, "case")

    def proposal(self, dialogue: Dialogue, command: ProposeCommitment,
                 acting: Acting) -> Commitment:
        """The new commitment a proposal makes (not saved): by the acting party, whose
        endorsement comes with it when it is one of those that must endorse."""
        dialogue.check_open()
        required = []
        for ref in command.required_parties:
            party_id = self._party_of(dialogue, ref, "required_parties")
            if party_id is None:
                raise InvalidInput("name each party that must endorse", "required_parties")
            required.append(party_id)
        commitment = Commitment.propose(
            dialogue_id=str(dialogue.id), title=command.title, required_parties=required,
            description=command.description, case_id=command.case_id or None,
            proposed_by=acting.party, public=command.public,
            private_note=command.private_note, ref=command.ref, meta=acting.meta)
        if acting.party in commitment.required_parties:
            commitment.endorse(party_id=acting.party, meta=acting.meta)
        return commitment

    def commitment_by_ref(self, dialogue_id: str, ref: str) -> Commitment | None:
        """The dialogue's commitment with this reference, or with this id (a commitment
        proposed without a reference is exported under its id); None if there is none."""
        candidates = [Commitment.id_for_ref(dialogue_id, ref)]
        with suppress(ValueError):
            candidates.append(UUID(ref))
        for candidate in candidates:
            if not self.recorder.select_events(candidate, limit=1):
                continue  # (one query for a new reference, instead of snapshot and events)
            try:
                found = self.repository.get(candidate)
            except AggregateNotFoundError:
                continue
            if isinstance(found, Commitment) and found.dialogue_id == dialogue_id:
                return found
        return None

    def import_decisions(self, principal: Principal, slug: str, command: ImportDecisions,
                         rows: Sequence[Row], *, dry_run: bool = False) -> ImportResult:
        """A table of decisions (tracker/importing.py): every row checked as its single forms
        would be, then all of it saved in one transaction, or (a dry run) nothing; InvalidRows
        names every problem by row and column, and nothing is saved."""
        return import_rows(self, principal, slug, command, rows, dry_run=dry_run)

    def act(self, principal: Principal, commitment_id: str,
            command: CommitmentCommand) -> CommandResult:
        """Any command on a commitment: who may (the policy), then the command's own change,
        which the commitment checks against the lifecycle table and its rules."""

        def change(commitment: Commitment) -> dict[str, str] | None:
            result = self.apply_to(principal, commitment, command, lambda: self._load(
                Dialogue, commitment.dialogue_id, "dialogue"))
            return {command.answer: result} if command.answer and result else None

        return self._change(Commitment, commitment_id, "commitment", change,
                            command.expected_version)

    def apply_to(self, principal: Principal, commitment: Commitment, command: CommitmentCommand,
                 dialogue: Callable[[], Dialogue], occurred_on: date | None = None,
                 meeting: str | None = None) -> str | None:
        """A command applied to the loaded commitment (not saved): when (the lifecycle), then
        who (the policy), then the command's own change; answers what the change answers."""
        policy.check_who(principal, commitment.dialogue_id)
        commitment.check_when(command.action)
        acting = self._acting(principal, command, policy.Target.of(commitment), dialogue,
                              commitment, occurred_on=occurred_on, meeting=meeting)
        return command.apply(commitment, acting)

    def commitment_action(self, principal: Principal, commitment_id: str, action: str,
                          fields: Mapping[str, Any] | None = None, *,
                          expected_version: int | None = None, occurred_on: date | None = None,
                          note: str | None = None) -> CommandResult:
        """A commitment command by its action name (the contract's: assign, complete, verify ...),
        for scripts, the demo and tests; pages and the API give the typed command to `act`."""
        cls = COMMITMENT_COMMANDS.get(action)
        if cls is None:
            raise NotFound(f"commitments have no action {action[:40]!r}")
        return self.act(principal, commitment_id, given(cls, None, with_meta(
            fields, expected_version=expected_version, occurred_on=occurred_on, note=note)))

    def set_commitment_visibility(self, principal: Principal, commitment_id: str,
                                  command: SetVisibility | None = None,
                                  **fields: Any) -> CommandResult:
        return self.act(principal, commitment_id, given(SetVisibility, command, fields))

    def commitment(self, commitment_id: str, version: int | None = None) -> Commitment:
        return self._load(Commitment, commitment_id, "commitment", version=version)

    # --- history and the past -------------------------------------------------------------------

    def aggregate_events(self, aggregate_id: str | UUID, lte: int | None = None) -> Iterator[Any]:
        return iter(self.events.get(parse_uuid(aggregate_id, "record"), lte=stored_version(lte)))

    def state_as_of(self, aggregate_id: str, *, version: int | None = None,
                    as_of: datetime | None = None, as_of_date: date | None = None
                    ) -> dict[str, Any]:
        """An aggregate's state at a version, at a recorded time, or on a business date.

        For a business date, the state after the longest run of events from the start whose
        business date is on or before that date (so nothing that happened later is shown).
        """
        if as_of is not None and as_of.utcoffset() is None:
            raise InvalidInput("a time must carry its offset, e.g. 2026-03-01T09:00:00+00:00",
                               "as_of")
        aggregate: Aggregate | None = None
        # Up to a version, read no further than it (a long history would be read in full otherwise).
        for domain_event in self.aggregate_events(aggregate_id, lte=version):
            if version is not None and domain_event.originator_version > version:
                break
            if as_of is not None and domain_event.timestamp > as_of:
                break
            meta = getattr(domain_event, "meta", None)
            if as_of_date is not None and meta is not None and meta.occurred_on > as_of_date:
                break
            aggregate = domain_event.mutate(aggregate)
        if aggregate is None:
            raise NotFound("nothing was recorded for this record by then")
        return aggregate.state()  # type: ignore[attr-defined]

    # --- accounts: administration, passwords, tokens, sign-in and the second factor ----------------
    # (issue 12) Every change is an event on the account, with the acting account in its meta.

    def add_account(self, principal: Principal, *, name: str, role: str, password: str,
                    email: str | None = None, language: str | None = None,
                    memberships: Sequence[tuple[str, str]] = (),
                    note: str | None = None) -> CommandResult:
        """Create an account with its address, language and memberships (dialogue slug, party
        name or id) in one transaction: if any of them is refused, no account is created."""
        self._check_admin(principal)
        check_password(password)
        meta = self._meta(principal, note=note)
        account = Account.open(name=name, role=role, password_hash=_hasher.hash(password),
                               meta=meta)
        if email:
            account.set_email(email=email, meta=meta)
        if language:
            account.set_language(language=language, meta=meta)
        for slug, party in memberships:
            dialogue = self.dialogue_by_slug(slug)
            party_id = self._party_of(dialogue, party, "party")
            if party_id is None:
                raise InvalidInput("name the party the member acts for", "party")
            account.grant_membership(dialogue_id=str(dialogue.id), party_id=party_id, meta=meta)
        position = self._create(account, taken=f"an account called {account.name!r} exists")
        return CommandResult(str(account.id), account.version, position)

    def account_by_name(self, name: str) -> Account:
        try:
            check_account_name(name)
        except InvalidInput:
            raise NotFound(f"no account is called {name[:60]!r}") from None
        return self._load(Account, account_id(name), f"account {name!r}")

    def _change_account(self, principal: Principal, name: str,
                        change: Callable[[Account], dict[str, str] | None],
                        also: Callable[[Account], Iterable[Aggregate]] | None = None
                        ) -> CommandResult:
        """An administrator's change to the named account."""
        self._check_admin(principal)
        account = self.account_by_name(name)
        return self._change(Account, account.id, "account", change, also=also)

    def grant_membership(self, principal: Principal, name: str, *, slug: str, party: str,
                         note: str | None = None) -> CommandResult:
        self._check_admin(principal)
        dialogue = self.dialogue_by_slug(slug)
        party_id = self._party_of(dialogue, party, "party")
        if party_id is None:
            raise InvalidInput("name the party the member acts for", "party")
        return self._change_account(principal, name, lambda a: a.grant_membership(
            dialogue_id=str(dialogue.id), party_id=party_id,
            meta=self._meta(principal, note=note)))

    def revoke_membership(self, principal: Principal, name: str, *, slug: str,
                          note: str | None = None) -> CommandResult:
        """Take the account out of a dialogue; its sessions end (its tokens stay, and no longer
        reach that dialogue)."""
        self._check_admin(principal)
        dialogue = self.dialogue_by_slug(slug)
        return self._change_account(principal, name, lambda a: a.revoke_membership(
            dialogue_id=str(dialogue.id), meta=self._meta(principal, note=note)))

    def deactivate_account(self, principal: Principal, name: str, *, reason: str,
                           note: str | None = None) -> CommandResult:
        """Stop an account from signing in or using its tokens (its history stays); its sessions
        end at once. An administrator cannot lock themselves out this way."""
        if principal.account_id is not None and principal.name.casefold() == name.casefold():
            raise Forbidden("you cannot deactivate your own account")
        return self._change_account(principal, name, lambda a: a.deactivate(
            reason=reason, meta=self._meta(principal, note=note)))

    def reactivate_account(self, principal: Principal, name: str, *,
                           note: str | None = None) -> CommandResult:
        """The account may sign in again and its unrevoked tokens work again; the sessions ended by
        the deactivation stay ended."""
        return self._change_account(principal, name, lambda a: a.reactivate(
            meta=self._meta(principal, note=note)))

    def _revocations(self, account: Account, token_ids: Sequence[str], meta: Meta) -> list[Aggregate]:
        """Each token revoked, on the token and on the account (loaded afresh for each attempt)."""
        tokens = []
        for token_id in token_ids:
            token = self._load(ApiToken, token_id, "token")
            token.revoke(meta=meta)
            account.record_token_revoked(token_id=token_id, meta=meta)
            tokens.append(token)
        return tokens

    def reset_password(self, principal: Principal, name: str, *, password: str,
                       revoke_tokens: bool = False, note: str | None = None) -> CommandResult:
        """An administrator sets the account's password; every session of the account ends, and
        with `revoke_tokens` every token too."""
        check_password(password)
        password_hash = _hasher.hash(password)
        meta = self._meta(principal, note=note)
        revoked: list[Aggregate] = []

        def change(account: Account) -> dict[str, str]:
            account.change_password(password_hash=password_hash, meta=meta)
            revoked[:] = self._revocations(account, account.active_tokens() if revoke_tokens
                                           else [], meta)
            return {"revoked": str(len(revoked))}

        return self._change_account(principal, name, change, also=lambda _: revoked)

    def change_own_password(self, principal: Principal, *, current: str,
                            new: str) -> CommandResult:
        """The signed-in account changes its own password, giving the current one; its other
        sessions end (the caller keeps its own: `extra["session_epoch"]`)."""
        if principal.account_id is None:
            raise Forbidden("sign in to change your password")
        account = self._load(Account, principal.account_id, "account")
        if not password_matches(account.password_hash, current):
            raise InvalidInput("the current password is not right", "current_password")
        check_password(new, "new_password")
        password_hash = _hasher.hash(new)
        return self._change(Account, account.id, "account", lambda a: (
            a.change_password(password_hash=password_hash, meta=self._meta(principal)),
            {"session_epoch": str(a.session_epoch)})[1])

    def revoke_tokens(self, principal: Principal, name: str,
                      token: str | None = None) -> CommandResult:
        """Revoke one token of the account (its id, or the first characters of it that the lists
        show), or with `token=None` every active one."""
        meta = self._meta(principal)
        revoked: list[Aggregate] = []

        def change(account: Account) -> dict[str, str]:
            active = account.active_tokens()
            if token is None:
                if not active:
                    raise InvalidInput("this account has no active token", "token")
                chosen = active
            else:
                wanted = token.strip().lower()
                chosen = [t for t in account.tokens if t == wanted] or \
                    [t for t in account.tokens if len(wanted) >= 6 and t.startswith(wanted)]
                if len(chosen) != 1:
                    raise InvalidInput(f"this account has no token {token[:40]!r}", "token")
            revoked[:] = self._revocations(account, chosen, meta)
            return {"revoked": str(len(revoked))}

        return self._change_account(principal, name, change, also=lambda _: revoked)

    def set_language(self, principal: Principal, language: str) -> CommandResult:
        if principal.account_id is None:
            raise Forbidden("sign in to keep a language preference")
        return self._change(Account, principal.account_id, "account", lambda a: a.set_language(
            language=language, meta=self._meta(principal)))

    def choose_mail(self, principal: Principal, mode: str) -> CommandResult:
        """Immediate mail, a daily digest or none, for the signed-in account."""
        if principal.account_id is None:
            raise Forbidden("sign in to choose how you are told")
        return self._change(Account, principal.account_id, "account", lambda a: a.choose_mail(
            mode=mode, meta=self._meta(principal)))

    def stop_mail(self, account_id_: str) -> CommandResult | None:
        """An unsubscribe link followed (its signed token names the account): no more mail. The
        account itself is the actor. None if it already gets none."""
        account = self._load(Account, account_id_, "account")
        if account.mail == "off":
            return None
        actor = Principal(account_id=str(account.id), name=account.name, role=account.role)
        return self.choose_mail(actor, "off")

    def _watch_target(self, principal: Principal, target_id: str) -> str:
        """The dialogue a watched commitment or dialogue belongs to, if the principal may read it."""
        if principal.account_id is None:
            raise Forbidden("sign in to watch")
        uid = parse_uuid(target_id, "commitment or dialogue")
        try:
            record = self.repository.get(uid)
        except AggregateNotFoundError:
            raise NotFound(f"no commitment or dialogue has the id {target_id}") from None
        if isinstance(record, Commitment):
            dialogue_id = record.dialogue_id
        elif isinstance(record, Dialogue):
            dialogue_id = str(record.id)
        else:
            raise NotFound(f"no commitment or dialogue has the id {target_id}")
        policy.require_read(principal, dialogue_id)
        return str(uid)

    def watch(self, principal: Principal, target_id: str) -> CommandResult:
        """Be told of every change to a commitment, or to every commitment of a dialogue."""
        target = self._watch_target(principal, target_id)
        return self._change(Account, principal.account_id or "", "account", lambda a: a.watch(
            target_id=target, meta=self._meta(principal)))

    def unwatch(self, principal: Principal, target_id: str) -> CommandResult:
        if principal.account_id is None:
            raise Forbidden("sign in to watch")
        target = str(parse_uuid(target_id, "commitment or dialogue"))
        return self._change(Account, principal.account_id, "account", lambda a: a.unwatch(
            target_id=target, meta=self._meta(principal)))

    def principal_of(self, account: Account) -> Principal:
        return Principal(account_id=str(account.id), name=account.name, role=account.role,
                         memberships=dict(account.memberships), language=account.language,
                         session_epoch=account.session_epoch,
                         second_factor=account.totp_secret is not None,
                         mail=account.mail if account.email else None)

    def latest_versions(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        """The last stored version of each of these aggregates (none stored: absent), in one
        query that reads no event's body."""
        return _latest_versions(self.recorder, list(ids))

    def principal_by_id(self, account_id_: str, latest: int | None = None,
                        head: int | None = None) -> Principal | None:
        """The principal of a signed-in account (None if it is gone or deactivated).

        Asked on every request, so it is kept per account version: an account changes only by
        its own events (deactivated, access granted or revoked: each a new version), so when its
        last stored version is the one kept, one query replaces loading and decoding it.
        `latest`: that version, when the caller has just asked for it. `head`: the log's last
        position, read by the caller just before; when the log has not grown since this account
        was last checked, no query at all (`checked_at`)."""
        try:
            uid = parse_uuid(account_id_, "account")
        except NotFound:
            return None
        if head is not None:
            return self.checked_at(uid, head, lambda: self.principal_by_id(account_id_, latest))
        if latest is None:
            latest = self.latest_versions([uid]).get(uid)
        kept = self._principals.get(str(account_id_))
        if latest is not None and kept and kept[0] == latest:
            return kept[1]
        try:
            account = self._load(Account, account_id_, "account")
        except NotFound:
            return None
        principal = self.principal_of(account) if account.active else None
        if len(self._principals) >= 10_000:
            self._principals.clear()
        self._principals[str(account_id_)] = (account.version, principal)
        return principal

    def authenticate(self, name: str, password: str) -> Principal | None:
        """The principal for a correct name and password of an active account, else None."""
        try:
            account = self.account_by_name(name)
        except NotFound:
            _hasher.hash(password or "x")  # spend the same time as a real check
            return None
        if not password_matches(account.password_hash, password):
            return None
        return self.principal_of(account) if account.active else None

    def sign_in(self, account_id_: str, *, source: str, code: str | None = None) -> Principal:
        """Record a sign-in whose password was checked (`authenticate`), and answer the principal
        its session starts with. An account with a second factor must give a code from its app,
        or one of its recovery codes (each used once): a wrong or replayed code is refused
        (InvalidInput on `code`) and nothing is recorded."""
        def change(account: Account) -> None:
            step = digest = None
            if account.totp_secret is not None:
                step, digest = second_factor_match(account, code or "", time.time())
            elif code:
                raise InvalidInput("this account has no second factor", "code")
            method = "totp" if step is not None else "recovery" if digest else "password"
            account.record_sign_in(source=source, method=method, code_step=step,
                                   recovery_code=digest, meta=self._meta(ANONYMOUS))

        self._change(Account, account_id_, "account", change)
        account = self._load(Account, account_id_, "account")
        return self.principal_of(account)

    def enrol_second_factor(self, principal: Principal, *, secret: str, code: str,
                            sign_in_from: str | None = None) -> list[str]:
        """Turn on the second factor of an administrator or auditor: `secret` is the one their
        app was given (`new_second_factor_secret`), `code` a code it shows now. With
        `sign_in_from` (a sign-in whose password was right and which waited for this), the
        sign-in is recorded in the same transaction. Answers the recovery codes, shown once:
        only their digests are kept."""
        if principal.account_id is None:
            raise Forbidden("sign in to set up a second factor")
        step = totp_step(secret, code, time.time())
        if step is None:
            raise InvalidInput("this code does not match; check the time on your phone and "
                               "type the code it shows now", "code")
        codes = [recovery_code() for _ in range(RECOVERY_CODES)]

        def change(account: Account) -> None:
            meta = self._meta(principal)
            account.enrol_second_factor(secret=secret, code_step=step, meta=meta,
                                        recovery_codes=tuple(code_digest(c) for c in codes))
            if sign_in_from is not None:
                account.record_sign_in(source=sign_in_from, method="totp", meta=meta)

        self._change(Account, principal.account_id, "account", change)
        return codes

    def remove_second_factor(self, principal: Principal, name: str, *, reason: str,
                             password: str | None = None) -> CommandResult:
        """Turn the second factor off: an administrator for any account (a lost phone), or the
        account itself giving its password. Its sessions end."""
        own = principal.account_id is not None and principal.name.casefold() == name.casefold()
        if not own:
            self._check_admin(principal)
        account = self.account_by_name(name)
        if own and not password_matches(account.password_hash, password):
            raise InvalidInput("the password is not right", "password")
        return self._change(Account, account.id, "account", lambda a: a.remove_second_factor(
            reason=reason, meta=self._meta(principal)))

    def record_failed_login(self, name: str, source: str) -> CommandResult | None:
        """Record a failed sign-in against an existing account (auditors see it in the activity
        log); None when no account has that name. `source` is where the attempt came from."""
        try:
            account = self.account_by_name(name)
        except NotFound:
            return None
        return self._change(Account, account.id, "account", lambda a: a.record_failed_login(
            source=source, meta=self._meta(ANONYMOUS)))

    def create_token(self, principal: Principal, name: str, label: str = "") -> str:
        """Issue an API token for the named account; only its digest is stored."""
        if principal.account_id is not None and not principal.is_admin and \
                principal.name.casefold() != name.casefold():
            raise Forbidden("you can create tokens only for yourself")
        account = self.account_by_name(name)
        token = secrets.token_urlsafe(32)
        digest = token_digest(token)
        meta = self._meta(principal)
        # A fresh ApiToken for each attempt: a save that lost a race has already taken the
        # pending events of the aggregates it was given, so reusing one would store no token.
        self._change(Account, account.id, "account",
                     lambda a: a.record_token(token_id=str(ApiToken.create_id(digest)),
                                              label=label, meta=meta),
                     also=lambda _: [ApiToken(digest=digest, account_id=str(account.id),
                                              label=label, meta=meta)])
        return token

    def principal_for_token(self, token: str, head: int | None = None) -> Principal | None:
        """The principal of an API token's account (None: no such token, revoked, or its
        account is gone or deactivated). Asked on every API request, so kept per token version
        as principals are (`principal_by_id`): a token changes only by its own events (revoked),
        so when its last stored version is the one kept, one query replaces loading it.

        `head`: the log's last position, read by the caller just before (a read asks for it
        anyway, to catch the read models up): when the log has not grown since this token was
        last checked, nothing can have changed it or its account, and no query is needed."""
        token_id = _token_id(token)
        if token_id is None:
            return None
        if head is not None:
            return self.checked_at(token_id, head, lambda: self._token_principal(token_id))
        return self._token_principal(token_id)

    def checked_at(self, uid: UUID, head: int,
                   check: Callable[[], Principal | None]) -> Principal | None:
        """`check()`, the principal of a token or account, asked once per position of the log:
        at `head` (the log's last position, asked before), the answer kept from the last check
        at that same position, else `check()`'s, kept. Nothing can change a token or an account
        but its own events, and every event moves the head."""
        known, principal = self._checked_at(uid, head)
        if known:
            return principal
        principal = check()
        if len(self._checked_heads) >= 10_000:
            self._checked_heads.clear()
        self._checked_heads[uid] = (head, principal)
        return principal

    def kept_token_principal(self, token: str, head: int) -> tuple[bool, Principal | None]:
        """(True, `principal_for_token(token, head)`) when that is known without asking the
        store (the token was checked when the log's last position was `head`), else
        (False, None)."""
        token_id = _token_id(token)
        return (True, None) if token_id is None else self._checked_at(token_id, head)

    def _checked_at(self, token_id: UUID, head: int) -> tuple[bool, Principal | None]:
        checked = self._checked_heads.get(token_id)
        return (True, checked[1]) if checked is not None and checked[0] == head else (False, None)

    def _token_principal(self, token_id: UUID) -> Principal | None:
        kept = self._tokens.get(token_id)
        # The token's and (when known) its account's last versions, in one query.
        account = UUID(kept[1]) if kept and kept[1] else None
        latest = self.latest_versions([token_id, *([account] if account else [])])
        if token_id not in latest:
            return None
        if kept is None or kept[0] != latest[token_id]:
            try:
                api_token = self._load(ApiToken, token_id, "token")
            except NotFound:
                return None
            if len(self._tokens) >= 10_000:
                self._tokens.clear()
            kept = self._tokens[token_id] = (
                api_token.version, None if api_token.revoked else api_token.account_id)
        if not kept[1]:
            return None
        return self.principal_by_id(kept[1], latest.get(UUID(kept[1])) if account else None)


def _token_id(token: str) -> UUID | None:
    """The id of an API token's aggregate (None: empty or too long to be a token)."""
    return ApiToken.create_id(token_digest(token)) if token and len(token) <= 200 else None


@retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # (as the library's reads)
def _latest_versions(recorder: Any, ids: list[UUID]) -> dict[UUID, int]:
    if not ids:
        return {}
    if isinstance(recorder, PostgresAggregateRecorder):
        from psycopg.sql import SQL, Identifier

        statement = SQL("SELECT originator_id, MAX(originator_version) AS version FROM "
                        "{schema}.{table} WHERE originator_id = ANY(%s) GROUP BY originator_id"
                        ).format(schema=Identifier(recorder.datastore.schema),
                                 table=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, [ids], prepare=True)
            return {row["originator_id"]: row["version"] for row in cursor.fetchall()}
    if isinstance(recorder, SQLiteAggregateRecorder):
        # (the recorder's own table name; the ids are parameters)
        statement = (f"SELECT originator_id, MAX(originator_version) AS version FROM "  # noqa: S608
                     f"{recorder.events_table_name} WHERE originator_id IN "
                     f"({','.join('?' * len(ids))}) GROUP BY originator_id")
        # One statement is a read transaction of its own: no BEGIN and ROLLBACK around it
        # (they were two thirds of this call's time, asked on every command).
        with recorder.datastore.get_connection(commit=False) as connection, \
                connection.cursor() as cursor:
            try:
                rows = cursor.execute(statement, [i.hex for i in ids]).fetchall()
            except sqlite3.OperationalError as error:  # (retried, as the library's reads)
                raise OperationalError(error) from error
            return {UUID(str(row["originator_id"])): row["version"] for row in rows}
    found = {i: recorder.select_events(i, desc=True, limit=1) for i in ids}  # (in memory)
    return {i: events[0].originator_version for i, events in found.items() if events}


def with_meta(fields: Mapping[str, Any] | None, **meta: Any) -> dict[str, Any]:
    """An action's fields with the version, date and note given beside them (those given)."""
    return {**(fields or {}), **{k: v for k, v in meta.items() if v is not None}}


Handler = Callable[[Tracker, Principal, str, Any], CommandResult]

# Which use case takes which command (by class; a subclass goes to its nearest listed base).
HANDLERS: dict[type[Command], Handler] = {
    StartDialogue: lambda tracker, principal, _, command: tracker.create_dialogue(principal,
                                                                                  command),
    AddParty: Tracker.add_party,
    RecordMeeting: Tracker.record_meeting,
    ConcludeDialogue: Tracker.conclude_dialogue,
    ReopenDialogue: Tracker.reopen_dialogue,
    RaiseCase: Tracker.raise_case,
    LinkCommitment: Tracker.link_commitment,
    CaseCommand: Tracker.act_on_case,
    ProposeCommitment: Tracker.propose_commitment,
    CommitmentCommand: Tracker.act,
}
