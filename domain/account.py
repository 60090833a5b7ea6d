"""Accounts: people who sign in, their role, their dialogue memberships and their API tokens.

An account's id is derived from its (case-folded) name, so names are unique by construction. Granting
and revoking access are events with the acting account in their metadata, so an auditor sees who gave
whom access, and when. Only hashes of passwords and tokens are ever stored.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.base import Meta, clean_text, derived_id
from domain.errors import InvalidInput, TransitionRefused

ROLES = ("member", "auditor", "admin")
LANGUAGES = ("fr", "en")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")


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


def account_id(name: str) -> UUID:
    return derived_id("account", name.strip().casefold())


def token_id(token_digest: str) -> UUID:
    return derived_id("token", token_digest)


class Account(Aggregate):
    TOPIC = "account"

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
            "version": self.version,
        }

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

    def change_password(self, *, password_hash: str, meta: Meta) -> None:
        self._password_changed(password_hash=password_hash, meta=meta)

    @event("PasswordChanged", topic="account.password_changed")
    def _password_changed(self, password_hash: str, meta: Meta) -> None:
        self.password_hash = password_hash

    def set_language(self, *, language: str, meta: Meta) -> None:
        if language not in LANGUAGES:
            raise InvalidInput(f"a language is one of: {', '.join(LANGUAGES)}", "language")
        self._language_set(language=language, meta=meta)

    @event("LanguageSet", topic="account.language_set")
    def _language_set(self, language: str, meta: Meta) -> None:
        self.language = language

    def record_token(self, *, token_id: str, label: str, meta: Meta) -> None:
        if not self.active:
            raise TransitionRefused("a deactivated account cannot get new tokens")
        self._token_issued(token_id=token_id, label=clean_text(label, "label", limit=100),
                           meta=meta)

    @event("TokenIssued", topic="account.token_issued")
    def _token_issued(self, token_id: str, label: str, meta: Meta) -> None:
        self.tokens.append(token_id)

    def deactivate(self, *, reason: str, meta: Meta) -> None:
        if not self.active:
            raise TransitionRefused("this account is already deactivated")
        self._deactivated(reason=clean_text(reason, "reason", required=True), meta=meta)

    @event("Deactivated", topic="account.deactivated")
    def _deactivated(self, reason: str, meta: Meta) -> None:
        self.active = False

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
