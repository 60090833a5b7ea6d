"""Sealing: the private text of the tracker's own tables, encrypted in the process with AES-GCM.

The events and snapshots are encrypted by the library (`CIPHER_TOPIC`, see `projections.database`);
everything else the tracker writes into the same database (read models, sessions, sign-in
failures, and any table added later) goes through the store's `sealer`:

- `seal(text)` before writing a private value: AES-256-GCM with a fresh 96-bit nonce, stored as
  text (`PREFIX` + base64 of nonce and ciphertext), so a TEXT column takes it on SQLite and
  PostgreSQL alike. `None` and `""` stay as they are.
- `Store.fetchall` opens every sealed value of every row it reads (`open_row`), whatever the table,
  column or alias: the queries read plain text and never know.
- `blind(text)`: a keyed hash (HMAC-SHA-256) for a value looked up by equality only (an account
  name tried at sign-in).

Without a key the store's sealer is `PLAIN`: nothing is sealed and nothing is opened, as before.
The column key and the hash key are derived (HKDF-SHA-256) from `TRACKER_ENCRYPTION_KEY`, never
the key itself. A check value sealed with the key is kept in the `sealing` table: a process started
with another key (or with none) refuses to start instead of answering 500 (`claim`).

A sealed value reveals its length (within a few bytes) and that it is there; ids, statuses, dates,
numbers and the public tables (`pub_*`) stay plain, so filtering, counting and ordering stay in
SQL; only the text search runs in the process over the opened rows (`PrivateQueries.commitments`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from base64 import b64decode, b64encode
from binascii import Error as Base64Error
from binascii import a2b_base64
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from projections.binding import inner_state
from projections.database import ConfigurationError

# A control character (refused in every text field) starts a sealed value: no plain value can.
PREFIX = "\x1es1:"
_SKIP = len(PREFIX)
CHECK_TEXT = "jsd-tracker sealing check"
TABLE = "sealing"
KEY_SIZES = (16, 24, 32)


class WrongKey(ConfigurationError):
    """TRACKER_ENCRYPTION_KEY does not open this database (another key, or none given)."""


class SealError(ValueError):
    """A sealed value cannot be opened: damaged, or sealed with another key."""


def key_bytes(key: str) -> bytes:
    """The raw bytes of a TRACKER_ENCRYPTION_KEY (base64 of 16, 24 or 32 bytes)."""
    try:
        raw = b64decode(key.encode(), validate=True)
    except (Base64Error, ValueError):
        raw = b""
    if len(raw) not in KEY_SIZES:
        raise ConfigurationError(
            "TRACKER_ENCRYPTION_KEY must be base64 of 16, 24 or 32 bytes (make one with: python "
            "-c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')")
    return raw


class Plain:
    """No key: values are written and read as they are."""

    active = False
    key_id = ""

    def seal(self, text: str | None) -> str | None:
        return text

    def blind(self, text: str) -> str:
        return text

    def open_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows


PLAIN = Plain()


class Sealer(Plain):
    """Seals and opens values with keys derived from TRACKER_ENCRYPTION_KEY."""

    active = True

    def __init__(self, key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
                       info=b"jsd-tracker read models v1").derive(key_bytes(key))
        self._aead = AESGCM(derived[:32])
        self._hash_key = derived[32:]
        self.key_id = self.blind("key id")[:16]

    def seal(self, text: str | None) -> str | None:
        if not text:
            return text
        nonce = os.urandom(12)
        return PREFIX + b64encode(nonce + self._aead.encrypt(nonce, text.encode(), None)).decode()

    def open(self, value: str) -> str:
        try:
            raw = a2b_base64(value[_SKIP:])
            return self._aead.decrypt(raw[:12], raw[12:], None).decode()
        except (InvalidTag, Base64Error, ValueError):
            raise SealError("a sealed value cannot be opened with this key") from None

    def blind(self, text: str) -> str:
        return hmac.new(self._hash_key, text.encode(), hashlib.sha256).hexdigest()

    def open_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for row in rows:
            for name, value in row.items():
                if value.__class__ is str and value.startswith(PREFIX):
                    row[name] = self.open(value)
        return rows


def derived_aead(key: str, purpose: bytes) -> AESGCM:
    """An AES-GCM key of its own for one purpose beside the read models (stored answers,
    subscribers' addresses), derived from TRACKER_ENCRYPTION_KEY as theirs is."""
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"jsd-tracker " + purpose).derive(key_bytes(key)))


def sealer_for(key: str) -> Plain:
    return Sealer(key) if key else PLAIN


def claim(store: Any, key: str, events_table: str, where: str) -> None:
    """Check that `key` (TRACKER_ENCRYPTION_KEY, or "") is the one this database was sealed with,
    before anything reads or writes it; the first process with a key records its check value.
    `where` names the database for the message. A database from before this check (events but
    no check value) is recognised by its first stored event: the key must decrypt it."""
    sealer = store.sealer
    store.ensure_tables({TABLE: "key_id TEXT PRIMARY KEY, check_value TEXT"})
    known = [row["key_id"] for row in store.fetchall(f"SELECT key_id FROM {TABLE}")]  # noqa: S608
    if not key:
        if known:
            raise WrongKey(f"the {where} is encrypted: set TRACKER_ENCRYPTION_KEY to its key")
        return
    if known:
        try:
            checks = store.fetchall(f"SELECT check_value FROM {TABLE} WHERE key_id=?",  # noqa: S608
                                    (sealer.key_id,))
        except SealError:
            checks = []
        if not any(row["check_value"] == CHECK_TEXT for row in checks):
            raise WrongKey(f"TRACKER_ENCRYPTION_KEY does not open the {where}: it was encrypted "
                           f"with another key (key id {known[0]}, this key's {sealer.key_id})")
        return
    first = store.stored_events(events_table, 0, 1)
    if first and not _opens_event(first[0][4], key):
        raise WrongKey(f"TRACKER_ENCRYPTION_KEY does not decrypt the events of the {where} "
                       "(another key, or they were stored without one)")
    with store.transaction(commit=True) as cursor:
        cursor.execute(store.sql(f"INSERT INTO {TABLE} VALUES (?, ?) ON CONFLICT DO NOTHING"),
                       (sealer.key_id, sealer.seal(CHECK_TEXT)))


def _opens_event(state: bytes, key: str) -> bool:
    """Whether the library's cipher (AES-GCM: nonce, tag, ciphertext) opens a stored event."""
    raw = key_bytes(key)
    state = inner_state(state)
    try:
        AESGCM(raw).decrypt(state[:12], state[28:] + state[12:28], None)
    except (InvalidTag, ValueError):
        return False
    return True
