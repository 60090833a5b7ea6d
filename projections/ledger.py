"""The ledger: a SHA-256 hash chain over the whole event log, in log order, and signed checkpoints.

Entry n is computed from entry n-1 and the n-th stored event exactly as stored:

    hash(n) = SHA-256( hash(n-1) || field(topic) || field(originator id) || u64(version)
                       || field(state) )

where `hash(0)` is 32 zero bytes, `field(x)` is the 8-byte big-endian length of x followed by x,
`u64` an 8-byte big-endian unsigned integer, the topic is its UTF-8 text, the originator id its
canonical UUID text (`str(uuid)`), and the state the stored bytes themselves (so, when
TRACKER_ENCRYPTION_KEY is set, the encrypted bytes; the chain is then tied to that key). The recorded
time is not a separate field: it lives inside the state bytes, so it is covered. The log position
(notification id) is not hashed either, so the chain survives an export and import into a new store;
the ledger keeps it beside each hash to name the first bad position.

A checkpoint signs `jsd-tracker-ledger-checkpoint\\n{position}\\n{head_hash}\\n{signed_at}` (UTF-8)
with Ed25519; the JSON file holds position, head_hash, signed_at, signature and public_key (both hex).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eventsourcing.persistence import Notification

from projections.feed import Item
from projections.store import Store
from projections.views import View

GENESIS = bytes(32)
BATCH = 2000
_U64 = struct.Struct(">Q")


def _field(data: bytes) -> bytes:
    return _U64.pack(len(data)) + data


def entry(previous: bytes, topic: str, originator_id: str, version: int, state: bytes) -> bytes:
    """The ledger entry of one stored event, given the previous entry (raw 32-byte digests)."""
    return hashlib.sha256(
        previous + _field(topic.encode()) + _field(originator_id.encode()) + _U64.pack(version)
        + _field(state)
    ).digest()


def chain(previous: bytes, notification: Notification) -> bytes:
    return entry(previous, notification.topic, str(notification.originator_id),
                 notification.originator_version, bytes(notification.state))


class LedgerView(View):
    """The hash chain as a read model: one row per event (position, hex hash)."""

    name = "ledger"
    version = 1
    tables: ClassVar = {"rm_ledger": "position BIGINT PRIMARY KEY, hash TEXT"}
    needs_events = False

    def apply(self, cursor: Any, items: list[Item]) -> None:  # type: ignore[override]
        cursor.execute(self.store.sql("SELECT hash FROM rm_ledger ORDER BY position DESC LIMIT 1"))
        row = cursor.fetchone()
        previous = bytes.fromhex(row["hash"]) if row else GENESIS
        rows = []
        for item in items:
            n = item.notification
            previous = entry(previous, n.topic, item.aggregate_id, n.originator_version,
                             bytes(n.state))
            rows.append((item.position, previous.hex()))
        self.execute_many(cursor, "INSERT INTO rm_ledger VALUES (?,?)", rows)

    def head(self) -> dict[str, Any]:
        row = self.store.fetchone("SELECT position, hash FROM rm_ledger ORDER BY position DESC "
                                  "LIMIT 1")
        if row is None:
            return {"position": 0, "head_hash": GENESIS.hex()}
        return {"position": int(row["position"]), "head_hash": row["hash"]}

    def entries(self, after: int, limit: int) -> list[tuple[int, str]]:
        rows = self.store.fetchall("SELECT position, hash FROM rm_ledger WHERE position>? "
                                   "ORDER BY position LIMIT ?", (after, limit))
        return [(int(r["position"]), r["hash"]) for r in rows]

    # --- checkpoints (a history kept apart from the view's own tables: a rebuild keeps it) -------

    def ensure_checkpoints(self) -> None:
        self.store.ensure_tables({"rm_checkpoints": "position BIGINT, head_hash TEXT, "
                                  "signed_at TEXT, signature TEXT, public_key TEXT"})

    def record_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        with self.store.transaction(commit=True) as cursor:
            cursor.execute(self.store.sql("INSERT INTO rm_checkpoints VALUES (?,?,?,?,?)"), (
                checkpoint["position"], checkpoint["head_hash"], checkpoint["signed_at"],
                checkpoint["signature"], checkpoint["public_key"]))

    def checkpoints(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Every checkpoint written (or the first `limit`), newest first."""
        rows = self.store.fetchall("SELECT * FROM rm_checkpoints ORDER BY signed_at DESC, "
                                   "position DESC" + (f" LIMIT {int(limit)}" if limit else ""))
        return [dict(r, position=int(r["position"])) for r in rows]

    def latest_checkpoint(self) -> dict[str, Any] | None:
        """The newest checkpoint, read alone: every public answer asks for it, and the history
        only grows."""
        rows = self.checkpoints(limit=1)
        return rows[0] if rows else None


# --- signing ------------------------------------------------------------------------------------------

def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in this PEM file, generated (readable by the owner only) if missing."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex()


def _message(position: int, head_hash: str, signed_at: str) -> bytes:
    return f"jsd-tracker-ledger-checkpoint\n{position}\n{head_hash}\n{signed_at}".encode()


def sign_checkpoint(key: Ed25519PrivateKey, head: dict[str, Any],
                    now: datetime | None = None) -> dict[str, Any]:
    signed_at = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
    position, head_hash = int(head["position"]), str(head["head_hash"])
    return {
        "position": position,
        "head_hash": head_hash,
        "signed_at": signed_at,
        "signature": key.sign(_message(position, head_hash, signed_at)).hex(),
        "public_key": public_key_hex(key),
    }


def checkpoint_error(checkpoint: dict[str, Any], trusted_key: str | None = None) -> str | None:
    """Why this checkpoint cannot be trusted, or None when its signature holds."""
    try:
        position = int(checkpoint["position"])
        head_hash = str(checkpoint["head_hash"])
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint["public_key"]))
        public.verify(bytes.fromhex(checkpoint["signature"]),
                      _message(position, head_hash, str(checkpoint["signed_at"])))
    except (KeyError, TypeError, ValueError):
        return "the checkpoint is not a valid checkpoint file"
    except InvalidSignature:
        return "the checkpoint's signature does not match its content"
    if trusted_key and checkpoint["public_key"] != trusted_key:
        return "the checkpoint was signed by another key than this tracker's"
    return None


def read_checkpoint(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise ValueError(f"cannot read the checkpoint {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path} is not a JSON checkpoint") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON checkpoint")
    return data


# --- verification -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    first_bad_position: int | None
    reason: str
    head: dict[str, Any]
    checked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rows(app: Any, store: Store, batch: int) -> Iterator[tuple[int, str, str, int, bytes]]:
    """Every row of the event table, whatever its position (0 and negative ones too), in
    position order, read in batches of raw rows."""
    after = None
    table = app.recorder.events_table_name
    while rows := store.stored_events(table, after, batch):
        yield from rows
        after = rows[-1][0]


def _stored(ledger: LedgerView, batch: int) -> Iterator[tuple[int, str]]:
    after = 0
    while True:
        entries = ledger.entries(after, batch)
        if not entries:
            return
        yield from entries
        after = entries[-1][0]


def verify(app: Any, ledger: LedgerView, checkpoint: dict[str, Any] | None = None,
           trusted_key: str | None = None, batch: int = BATCH,
           progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Check every stored row of the event table, recompute the chain and compare it with the
    stored ledger, the checkpoints kept in the store and, if given, a signed checkpoint. The first
    disagreement, in position order, is the first bad position: a row out of place (position 0 or
    below), not bound by the tracker's keys (projections.binding), not in the ledger (inserted,
    also in a gap of the positions), not matching it (edited, reordered), or missing from the log.

    Rows beyond the ledger's head (not yet projected) must be bound too; they are hashed but have
    nothing to compare with. A checkpoint beyond the end of the log is a failure (events were
    removed). `progress(n)` hears how many rows were checked, once a batch.
    """
    head = {"position": 0, "head_hash": GENESIS.hex()}
    if checkpoint is not None:
        error = checkpoint_error(checkpoint, trusted_key)
        if error:
            return VerifyResult(False, None, error, head)
    # position -> head hashes the chain must pass through: the given checkpoint's, then those kept
    expected: dict[int, list[tuple[str, str]]] = {}
    if checkpoint is not None:
        expected.setdefault(int(checkpoint["position"]), []).append(
            (str(checkpoint["head_hash"]), "the checkpoint"))
    for kept in ledger.checkpoints():
        error = checkpoint_error(kept)
        if error:
            return VerifyResult(False, None, f"the checkpoint kept at position "
                                             f"{kept['position']}: {error}", head)
        expected.setdefault(int(kept["position"]), []).append(
            (str(kept["head_hash"]), f"the checkpoint signed at {kept['signed_at']}"))
    expected.pop(0, None)  # the empty log extends anything (a checkpoint of nothing)
    next_at = min(expected, default=None)
    binder = app.mapper.binder
    stored = _stored(ledger, batch)
    pending = next(stored, None)
    count = head_position = 0
    previous = GENESIS

    def bad(position: int, reason: str) -> VerifyResult:
        return VerifyResult(False, position, reason,
                            {"position": head_position, "head_hash": previous.hex()}, count)

    for position, topic, originator_id, version, state in _rows(app, ledger.store, batch):
        if pending is not None and pending[0] < position:
            return bad(pending[0], f"the event at position {pending[0]} is missing from the log "
                                   "(deleted or moved)")
        if position < 1:
            return bad(position, f"the row at position {position} is out of place: the log "
                                 "starts at position 1 (written outside the tracker)")
        problem = binder.problem(topic, originator_id, version, state)
        if problem:
            return bad(position, f"the row at position {position} is not bound by this "
                                 f"tracker's keys: {problem} (written outside the tracker)")
        count += 1
        if progress is not None and count % batch == 0:
            progress(count)
        previous = entry(previous, topic, originator_id, version, state)
        head_position = position
        if pending is not None:
            stored_position, stored_hash = pending
            if stored_position > position:
                return bad(position, f"the event at position {position} is not in the ledger "
                                     "(inserted)")
            if stored_hash != previous.hex():
                return bad(position, f"the event at position {position} does not match the "
                                     "ledger (edited, reordered or inserted)")
            pending = next(stored, None)
        while next_at is not None and next_at <= position:
            for head_hash, which in expected.pop(next_at):
                if next_at != position or head_hash != previous.hex():
                    return bad(next_at, f"the log does not extend {which} at position "
                                        f"{next_at}: its history up to there was changed")
            next_at = min(expected, default=None)
    if pending is not None:
        return bad(pending[0], f"the event at position {pending[0]} is missing from the log "
                               "(deleted)")
    if expected:
        at = min(expected)
        return bad(at, f"the log ends before the position {at} of {expected[at][0][1]}: "
                       "events were removed")
    return VerifyResult(True, None, "intact",
                        {"position": head_position, "head_hash": previous.hex()}, count)
