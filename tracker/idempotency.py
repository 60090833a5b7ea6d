"""Idempotency keys: a command sent again with the same `Idempotency-Key` gets the first answer
again and records nothing more, whichever server process takes it, also after a restart.

A key is a row of `idempotency_keys`, in the read models' database (shared by every process on
it), per account that sent it (`scope`: one account cannot see another's answers). The row holds
a fingerprint of the request (method, path, body) and, once the command has been answered, that
answer (status, headers, body). A row without an answer is a command still being given: a second
request with the key waits for it. Only answers of commands that were carried out (2xx, 3xx) are
kept; a refused command (4xx) records nothing, so its key is freed and may be sent again, the
text corrected. Keys are kept `KEEP_SECONDS` (7 days), then pruned.

An answer may hold private text (a private note in a fragment): with an encryption key (the
TRACKER_ENCRYPTION_KEY of the event store), it is stored encrypted (`answer_cipher`).

These rows are state, not records: not in the event log, not exported, not rebuilt.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from projections.sealing import derived_aead
from projections.store import Store

KEEP_SECONDS = 7 * 24 * 3600
PRUNE_EVERY = 3600.0  # seconds between two prunings by one process
PENDING = 0  # the status of a row whose command has not been answered yet

TABLES = {"idempotency_keys": "scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, "
                              "status INTEGER NOT NULL, answer TEXT, created_at DOUBLE PRECISION, "
                              "PRIMARY KEY (scope, key)"}
INDEXES = ("ix_idempotency_keys_created ON idempotency_keys(created_at)",)


class AnswerCipher:
    """Encrypts stored answers with AES-GCM under a key derived (HKDF-SHA256) from the
    tracker's encryption key; each answer has its own random nonce, and its row's scope and key
    as associated data (an answer moved to another row does not decrypt)."""

    def __init__(self, encryption_key: str) -> None:
        self._aead = derived_aead(encryption_key, b"stored answers v1")

    def encrypt(self, plain: bytes, context: bytes) -> str:
        nonce = os.urandom(12)
        return "aesgcm:" + base64.b64encode(nonce + self._aead.encrypt(nonce, plain, context)).decode()

    def decrypt(self, stored: str, context: bytes) -> bytes:
        raw = base64.b64decode(stored.removeprefix("aesgcm:"))
        return self._aead.decrypt(raw[:12], raw[12:], context)


def answer_cipher(encryption_key: str) -> AnswerCipher | None:
    """The cipher for stored answers, or None when the store has no encryption key."""
    return AnswerCipher(encryption_key) if encryption_key else None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Found:
    """What the table holds for a key: its request's fingerprint and, once given, its answer."""

    fingerprint: str
    answer: Answer | None
    created_at: float


class IdempotencyStore:
    """The idempotency keys of one tracker, in the read models' database."""

    def __init__(self, store: Store, *, encryption_key: str = "", keep: float = KEEP_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.keep = keep
        self.clock = clock
        self.cipher = answer_cipher(encryption_key)
        self._pruned_at = 0.0
        store.ensure_tables(TABLES, INDEXES)

    def _write(self, statement: str, params: tuple[Any, ...]) -> int:
        with self.store.transaction(commit=True) as cursor:
            cursor.execute(self.store.sql(statement), params)
            return getattr(getattr(cursor, "sqlite_cursor", cursor), "rowcount", 0)

    def claim(self, scope: str, key: str, fingerprint: str) -> bool:
        """Take the key for a request about to be given: True if it was free (this request gives
        the command), False if the key is already there (see `find`)."""
        now = self.clock()
        if now - self._pruned_at > PRUNE_EVERY:
            self.prune()
        return self._write("INSERT INTO idempotency_keys (scope, key, fingerprint, status, answer, "
                           "created_at) VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING",
                           (scope, key, fingerprint, PENDING, now)) == 1

    def find(self, scope: str, key: str) -> Found | None:
        row = self.store.fetchone("SELECT fingerprint, status, answer, created_at FROM "
                                  "idempotency_keys WHERE scope=? AND key=?", (scope, key))
        if row is None:
            return None
        answer = None
        if row["status"] != PENDING:
            answer = self._decode(scope, key, int(row["status"]), row["answer"] or "")
        return Found(row["fingerprint"], answer, float(row["created_at"]))

    def keep_answer(self, scope: str, key: str, answer: Answer) -> None:
        """Record the command's answer under its key (the key was claimed)."""
        plain = json.dumps({"headers": answer.headers,
                            "body": base64.b64encode(answer.body).decode()}).encode()
        stored = (self.cipher.encrypt(plain, _context(scope, key)) if self.cipher
                  else plain.decode())
        self._write("UPDATE idempotency_keys SET status=?, answer=? WHERE scope=? AND key=?",
                    (answer.status, stored, scope, key))

    def release(self, scope: str, key: str) -> None:
        """Free a claimed key whose command recorded nothing (refused, or failed)."""
        self._write("DELETE FROM idempotency_keys WHERE scope=? AND key=? AND status=?",
                    (scope, key, PENDING))

    def take_over(self, scope: str, key: str, created_at: float) -> bool:
        """Claim a key left pending by a process that stopped before answering (True: taken)."""
        return self._write("UPDATE idempotency_keys SET created_at=? WHERE scope=? AND key=? "
                           "AND status=? AND created_at=?",
                           (self.clock(), scope, key, PENDING, created_at)) == 1

    def prune(self) -> int:
        """Forget keys older than the time they are kept."""
        self._pruned_at = self.clock()
        return self._write("DELETE FROM idempotency_keys WHERE created_at<?",
                           (self._pruned_at - self.keep,))

    def count(self) -> int:
        row = self.store.fetchone("SELECT COUNT(*) AS n FROM idempotency_keys")
        return int(row["n"]) if row else 0

    def _decode(self, scope: str, key: str, status: int, stored: str) -> Answer:
        if stored.startswith("aesgcm:"):
            if self.cipher is None:
                raise RuntimeError("a stored answer is encrypted and no encryption key is set")
            plain = self.cipher.decrypt(stored, _context(scope, key))
        else:
            plain = stored.encode()
        data = json.loads(plain)
        return Answer(status, [(k, v) for k, v in data["headers"]],
                      base64.b64decode(data["body"]))


def _context(scope: str, key: str) -> bytes:
    return f"{scope}\n{key}".encode()
