"""Accounts: people who sign in, their role, their dialogue memberships and their API tokens.

An account's id is derived from its (case-folded) name, so names are unique by construction. Granting
and revoking access, password changes, deactivations, token revocations, sign-ins and second-factor
changes are events with the acting account in their metadata, so an auditor sees who did what to
whom, and when. Only hashes of passwords, tokens and recovery codes are ever stored; the second
factor's TOTP secret is stored as it must be (to check codes), inside the event log.

Sessions: a session remembers the account's `session_epoch` when it started. Every event that must
end the account's sessions (a password change, a deactivation, a removed membership, a new role)
moves the epoch on, so every session started before it is refused at its next request, on every
server, whatever happens to the sessions table.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.base import Meta, clean_text, derived_id
from domain.errors import InvalidInput, TransitionRefused

ROLES = ("member", "auditor", "admin")
SECOND_FACTOR_ROLES = ("auditor", "admin")
# Account languages; "ar" is accepted before its catalogue exists (the pages fall back to French).
LANGUAGES = ("fr", "en", "ar")
# How an account wants its notifications: one mail per notice, one digest a day, or none.
MAIL_MODES = ("immediate", "digest", "off")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
# An address a mail server will take: a local part without spaces, quotes or angle brackets, and a
# domain of dot-separated labels (letters, digits, inner hyphens) with at least one dot.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$")


def check_account_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME.match(name):
        raise InvalidInput(
            "an account name is 2 to 64 letters, digits, dots, dashes, @ or underscores", "name"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"a role is one of: {', '.join(ROLES)}", "role")
    return role


def check_email(address: str) -> str:
    address = (address or "").strip()
    local = address.partition("@")[0]
    if (len(address) > 254 or not EMAIL.match(address) or local.startswith(".")
            or local.endswith(".") or ".." in local):
        raise InvalidInput("an email address looks like name@example.org", "email")
    return address


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(f"a language is one of: {', '.join(LANGUAGES)}", "language")
    return language


def account_id(name: str) -> UUID:
    return derived_id("account", name.strip().casefold())


def token_id(token_digest: str) -> UUID:
    return derived_id("token", token_digest)


class Account(Aggregate):
    TOPIC = "account"

    # Fields added after the first release: an account whose snapshot was taken before them reads
    # these class defaults (a snapshot restores only the instance's own attributes).
    email: str | None = None
    session_epoch: int = 0
    revoked_tokens: tuple[str, ...] = ()
    totp_secret: str | None = None  # the second factor (base32), None when not enrolled
    recovery_codes: tuple[str, ...] = ()  # SHA-256 digests of the unused recovery codes
    last_code_step: int = 0  # the TOTP time step of the last code accepted (no replay)
    mail: str = "immediate"  # MAIL_MODES: how notifications reach the address
    watching: tuple[str, ...] = ()  # ids of the commitments and dialogues the account watches

    class Created(Aggregate.Created):
        TOPIC = "account.created"

    @staticmethod
    def create_id(name: str) -> UUID:
        return account_id(name)

    @event("Opened", topic="account.opened")
    def __init__(self, name: str, role: str, password_hash: str, meta: Meta) -> None:
        self.name = name
        self.role = role
        self.password_hash = password_hash
        self.memberships: dict[str, str] = {}  # dialogue id -> party id
        self.tokens: list[str] = []  # ids of the ApiToken aggregates issued to this account
        self.active = True
        self.language: str | None = None

    @classmethod
    def open(cls, *, name: str, role: str, password_hash: str, meta: Meta) -> Account:
        return cls(name=check_account_name(name), role=check_role(role),
                   password_hash=password_hash, meta=meta)

    def state(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "role": self.role,
            "memberships": dict(self.memberships),
            "active": self.active,
            "language": self.language,
            "email": self.email,
            "second_factor": self.totp_secret is not None,
            "mail": self.mail,
            "watching": list(self.watching),
            "version": self.version,
        }

    def _end_sessions(self) -> None:
        self.session_epoch = self.session_epoch + 1

    def active_tokens(self) -> list[str]:
        return [t for t in self.tokens if t not in self.revoked_tokens]

    def grant_membership(self, *, dialogue_id: str, party_id: str, meta: Meta) -> None:
        if self.role != "member":
            raise InvalidInput("only a member account belongs to dialogues", "role")
        if self.memberships.get(dialogue_id) == party_id:
            raise InvalidInput("this account already belongs to that dialogue for that party",
                               "dialogue")
        self._membership_granted(dialogue_id=dialogue_id, party_id=party_id, meta=meta)

    @event("MembershipGranted", topic="account.membership_granted")
    def _membership_granted(self, dialogue_id: str, party_id: str, meta: Meta) -> None:
        self.memberships[dialogue_id] = party_id

    def revoke_membership(self, *, dialogue_id: str, meta: Meta) -> None:
        if dialogue_id not in self.memberships:
            raise InvalidInput("this account does not belong to that dialogue", "dialogue")
        self._membership_revoked(dialogue_id=dialogue_id, meta=meta)

    @event("MembershipRevoked", topic="account.membership_revoked")
    def _membership_revoked(self, dialogue_id: str, meta: Meta) -> None:
        self.memberships.pop(dialogue_id, None)
        self._end_sessions()

    def change_role(self, *, role: str, meta: Meta) -> None:
        role = check_role(role)
        if role == self.role:
            raise InvalidInput(f"the account is already {role}", "role")
        self._role_changed(role=role, meta=meta)

    @event("RoleChanged", topic="account.role_changed")
    def _role_changed(self, role: str, meta: Meta) -> None:
        self.role = role
        if role != "member":
            self.memberships = {}
        self._end_sessions()

    def change_password(self, *, password_hash: str, meta: Meta) -> None:
        """A new password (set by its owner or reset by an administrator: the meta says who);
        every session of the account started before it ends."""
        self._password_changed(password_hash=password_hash, meta=meta)

    @event("PasswordChanged", topic="account.password_changed")
    def _password_changed(self, password_hash: str, meta: Meta) -> None:
        self.password_hash = password_hash
        self._end_sessions()

    def set_email(self, *, email: str, meta: Meta) -> None:
        email = check_email(email)
        if email == self.email:
            raise InvalidInput("the account already has this address", "email")
        self._email_set(email=email, meta=meta)

    @event("EmailSet", topic="account.email_set")
    def _email_set(self, email: str, meta: Meta) -> None:
        self.email = email

    def set_language(self, *, language: str, meta: Meta) -> None:
        self._language_set(language=check_language(language), meta=meta)

    @event("LanguageSet", topic="account.language_set")
    def _language_set(self, language: str, meta: Meta) -> None:
        self.language = language

    def choose_mail(self, *, mode: str, meta: Meta) -> None:
        """Immediate mail, a daily digest, or no mail (what an unsubscribe link sets)."""
        if mode not in MAIL_MODES:
            raise InvalidInput(f"mail is one of: {', '.join(MAIL_MODES)}", "mail")
        if mode == self.mail:
            raise InvalidInput(f"mail is already {mode}", "mail")
        self._mail_chosen(mode=mode, meta=meta)

    @event("MailChosen", topic="account.mail_chosen")
    def _mail_chosen(self, mode: str, meta: Meta) -> None:
        self.mail = mode

    def watch(self, *, target_id: str, meta: Meta) -> None:
        """Be told of every change to a commitment or to any commitment of a dialogue."""
        if target_id in self.watching:
            raise InvalidInput("you already watch this", "target")
        self._watched(target_id=target_id, meta=meta)

    @event("Watched", topic="account.watched")
    def _watched(self, target_id: str, meta: Meta) -> None:
        self.watching = (*self.watching, target_id)

    def unwatch(self, *, target_id: str, meta: Meta) -> None:
        if target_id not in self.watching:
            raise InvalidInput("you do not watch this", "target")
        self._unwatched(target_id=target_id, meta=meta)

    @event("Unwatched", topic="account.unwatched")
    def _unwatched(self, target_id: str, meta: Meta) -> None:
        self.watching = tuple(t for t in self.watching if t != target_id)

    def record_token(self, *, token_id: str, label: str, meta: Meta) -> None:
        if not self.active:
            raise TransitionRefused("a deactivated account cannot get new tokens")
        self._token_issued(token_id=token_id, label=clean_text(label, "label", limit=100),
                           meta=meta)

    @event("TokenIssued", topic="account.token_issued")
    def _token_issued(self, token_id: str, label: str, meta: Meta) -> None:
        self.tokens.append(token_id)

    def record_token_revoked(self, *, token_id: str, meta: Meta) -> None:
        if token_id not in self.tokens:
            raise InvalidInput("this account has no such token", "token")
        if token_id in self.revoked_tokens:
            raise TransitionRefused("this token is already revoked")
        self._token_revoked(token_id=token_id, meta=meta)

    @event("TokenRevoked", topic="account.token_revoked")
    def _token_revoked(self, token_id: str, meta: Meta) -> None:
        self.revoked_tokens = (*self.revoked_tokens, token_id)

    def deactivate(self, *, reason: str, meta: Meta) -> None:
        if not self.active:
            raise TransitionRefused("this account is already deactivated")
        self._deactivated(reason=clean_text(reason, "reason", required=True), meta=meta)

    @event("Deactivated", topic="account.deactivated")
    def _deactivated(self, reason: str, meta: Meta) -> None:
        self.active = False
        self._end_sessions()

    def reactivate(self, *, meta: Meta) -> None:
        if self.active:
            raise TransitionRefused("this account is already active")
        self._reactivated(meta=meta)

    @event("Reactivated", topic="account.reactivated")
    def _reactivated(self, meta: Meta) -> None:
        self.active = True

    def record_failed_login(self, *, source: str, meta: Meta) -> None:
        self._login_failed(source=clean_text(source, "source", limit=100), meta=meta)

    @event("LoginFailed", topic="account.login_failed")
    def _login_failed(self, source: str, meta: Meta) -> None:
        pass

    def record_sign_in(self, *, source: str, method: str, meta: Meta,
                       code_step: int | None = None, recovery_code: str | None = None) -> None:
        """A successful sign-in (`method`: password, totp or recovery), with the TOTP time step
        or the recovery code's digest it used, so that neither can be used again."""
        if not self.active:
            raise TransitionRefused("this account is deactivated")
        if code_step is not None and code_step <= self.last_code_step:
            raise InvalidInput("this code was already used; wait for the next one", "code")
        if recovery_code is not None and recovery_code not in self.recovery_codes:
            raise InvalidInput("this recovery code is not valid", "code")
        self._signed_in(source=clean_text(source, "source", limit=100), method=method,
                        code_step=code_step, recovery_code=recovery_code, meta=meta)

    @event("SignedIn", topic="account.signed_in")
    def _signed_in(self, source: str, method: str, code_step: int | None,
                   recovery_code: str | None, meta: Meta) -> None:
        if code_step is not None:
            self.last_code_step = code_step
        if recovery_code is not None:
            self.recovery_codes = tuple(c for c in self.recovery_codes if c != recovery_code)

    def enrol_second_factor(self, *, secret: str, recovery_codes: tuple[str, ...], code_step: int,
                            meta: Meta) -> None:
        if self.role not in SECOND_FACTOR_ROLES:
            raise InvalidInput("only administrators and auditors use a second factor", "role")
        if self.totp_secret is not None:
            raise TransitionRefused("this account already has a second factor; remove it first")
        self._second_factor_enrolled(secret=secret, recovery_codes=tuple(recovery_codes),
                                     code_step=code_step, meta=meta)

    @event("SecondFactorEnrolled", topic="account.second_factor_enrolled")
    def _second_factor_enrolled(self, secret: str, recovery_codes: tuple[str, ...],
                                code_step: int, meta: Meta) -> None:
        self.totp_secret = secret
        self.recovery_codes = tuple(recovery_codes)
        self.last_code_step = code_step

    def remove_second_factor(self, *, reason: str, meta: Meta) -> None:
        if self.totp_secret is None:
            raise TransitionRefused("this account has no second factor")
        self._second_factor_removed(reason=clean_text(reason, "reason", required=True), meta=meta)

    @event("SecondFactorRemoved", topic="account.second_factor_removed")
    def _second_factor_removed(self, reason: str, meta: Meta) -> None:
        self.totp_secret = None
        self.recovery_codes = ()
        self._end_sessions()


class ApiToken(Aggregate):
    """An API token, found by the SHA-256 digest of its secret (the secret itself is never stored)."""

    TOPIC = "api_token"

    class Created(Aggregate.Created):
        TOPIC = "api_token.created"

    @staticmethod
    def create_id(digest: str) -> UUID:
        return token_id(digest)

    @event("Issued", topic="api_token.issued")
    def __init__(self, digest: str, account_id: str, label: str, meta: Meta) -> None:
        self.account_id = account_id
        self.label = label
        self.revoked = False

    def state(self) -> dict[str, Any]:
        """Like every aggregate, its fields as plain values (never the digest)."""
        return {
            "id": str(self.id),
            "account_id": self.account_id,
            "label": self.label,
            "revoked": self.revoked,
            "version": self.version,
        }

    def revoke(self, *, meta: Meta) -> None:
        if self.revoked:
            raise TransitionRefused("this token is already revoked")
        self._revoked(meta=meta)

    @event("Revoked", topic="api_token.revoked")
    def _revoked(self, meta: Meta) -> None:
        self.revoked = True
