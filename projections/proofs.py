"""Proofs a donor can check alone: the leaf of an event, signed tree heads, witnesses' cosignatures,
and the checks `tracker verify-proof` and `tracker witness` make (no database: only these bytes).

A leaf is one stored event, as the ledger reads it, with its log position first:

    leaf = u64(position) || field(topic) || field(originator id) || u64(version) || SHA-256(state)

(`field(x)`: x's length as an 8-byte big-endian integer, then x; `u64`: 8-byte big-endian; the topic
UTF-8, the originator id its canonical UUID text, `state` the event's bytes exactly as stored, so any
authorship binding stored inside them is covered.) The state enters by its SHA-256 digest, not as
itself: the bytes of even a public event hold its private note and who acted, and a public proof
shows its leaves. An auditor's proof also carries the state, to check against the digest.

A tree head signs, with Ed25519, the UTF-8 text

    jsd-tracker-tree-head-v1\\n{tree_size}\\n{root_hash}\\n{signed_at}

and a witness's cosignature the text

    jsd-tracker-cosignature-v1\\n{log key_id}\\n{tree_size}\\n{root_hash}\\n{cosigned_at}

Public keys are the 32 raw Ed25519 bytes and signatures the 64 raw bytes, both in lower-case hex; a
key's `key_id` is the first 16 hex digits of SHA-256 of its 32 raw bytes. Every hash is lower-case
hex; a leaf is base64.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from projections.ledger import public_key_hex
from projections.merkle import leaf_hash, verify_consistency, verify_inclusion

_U64 = struct.Struct(">Q")
_sha256 = hashlib.sha256
_HEX = re.compile(r"[0-9a-f]*")
TREE_HEAD_FIELDS = ("tree_size", "root_hash", "signed_at", "signature", "public_key", "key_id")


class BadInput(ValueError):
    """The file is not what it should be (not JSON, a field missing or malformed): exit 2."""


# --- leaves ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Leaf:
    position: int
    topic: str
    originator_id: str
    version: int
    state_digest: bytes


def _field(data: bytes) -> bytes:
    return _U64.pack(len(data)) + data


@functools.lru_cache(maxsize=1024)
def _topic_field(topic: str) -> bytes:
    return _field(topic.encode())


def leaf_bytes(position: int, topic: str, originator_id: str, version: int, state: bytes) -> bytes:
    """The leaf of one stored event (its position in the log and its row exactly as stored)."""
    return (_U64.pack(position) + _topic_field(topic) + _field(originator_id.encode())
            + _U64.pack(version) + _sha256(state).digest())


def parse_leaf(leaf: bytes) -> Leaf:
    """The parts of a leaf; ValueError if these bytes are not one."""
    try:
        at = 0

        def u64() -> int:
            nonlocal at
            (value,) = _U64.unpack_from(leaf, at)
            at += 8
            return value

        def text() -> str:
            nonlocal at
            length = u64()
            if at + length > len(leaf):
                raise ValueError("short")
            value = leaf[at:at + length].decode()
            at += length
            return value

        position, topic, originator_id, version = u64(), text(), text(), u64()
    except (struct.error, UnicodeDecodeError, ValueError):
        raise ValueError("these bytes are not a tracker leaf") from None
    if len(leaf) - at != 32:
        raise ValueError("these bytes are not a tracker leaf")
    return Leaf(position, topic, originator_id, version, leaf[at:])


# --- keys and signed texts ---------------------------------------------------------------------------

def key_id(public_key: str) -> str:
    """The short name of a public key (hex): the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(bytes.fromhex(public_key)).hexdigest()[:16]


def tree_head_text(tree_size: int, root_hash: str, signed_at: str) -> bytes:
    return f"jsd-tracker-tree-head-v1\n{tree_size}\n{root_hash}\n{signed_at}".encode()


def cosignature_text(log_key_id: str, tree_size: int, root_hash: str, cosigned_at: str) -> bytes:
    return (f"jsd-tracker-cosignature-v1\n{log_key_id}\n{tree_size}\n{root_hash}\n"
            f"{cosigned_at}").encode()


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat()


def sign_tree_head(key: Ed25519PrivateKey, tree_size: int, root_hash: str,
                   now: datetime | None = None) -> dict[str, Any]:
    signed_at = _now(now)
    public = public_key_hex(key)
    return {"tree_size": tree_size, "root_hash": root_hash, "signed_at": signed_at,
            "signature": key.sign(tree_head_text(tree_size, root_hash, signed_at)).hex(),
            "public_key": public, "key_id": key_id(public)}


def sign_cosignature(key: Ed25519PrivateKey, head: Mapping[str, Any],
                     now: datetime | None = None) -> dict[str, Any]:
    """A witness's cosignature of a tree head (which it has checked)."""
    cosigned_at = _now(now)
    public = public_key_hex(key)
    text = cosignature_text(head["key_id"], int(head["tree_size"]), head["root_hash"], cosigned_at)
    return {"tree_size": int(head["tree_size"]), "root_hash": head["root_hash"],
            "cosigned_at": cosigned_at, "public_key": public, "key_id": key_id(public),
            "signature": key.sign(text).hex()}


def _signature_holds(public_key: str, signature: str, text: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), text)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- the shape of what is read ----------------------------------------------------------------------

def _hex(value: Any, digits: int, name: str) -> str:
    if not isinstance(value, str) or len(value) != digits or not _HEX.fullmatch(value):
        raise BadInput(f"{name} must be {digits} lower-case hexadecimal digits")
    return value


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadInput(f"{name} must be a whole number from 0")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 100:
        raise BadInput(f"{name} must be a text")
    return value


def _object(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadInput(f"{name} must be a JSON object")
    return value


def tree_head(value: Any, name: str = "tree_head") -> dict[str, Any]:
    """A tree head read from JSON, its fields checked for shape (not its signature)."""
    head = _object(value, name)
    missing = [f for f in TREE_HEAD_FIELDS if f not in head]
    if missing:
        raise BadInput(f"{name} has no {', '.join(missing)}")
    return {"tree_size": _count(head["tree_size"], f"{name}.tree_size"),
            "root_hash": _hex(head["root_hash"], 64, f"{name}.root_hash"),
            "signed_at": _text(head["signed_at"], f"{name}.signed_at"),
            "signature": _hex(head["signature"], 128, f"{name}.signature"),
            "public_key": _hex(head["public_key"], 64, f"{name}.public_key"),
            "key_id": _hex(head["key_id"], 16, f"{name}.key_id"),
            "cosignatures": [cosignature(c, f"{name}.cosignatures[{n}]")
                             for n, c in enumerate(_list(head.get("cosignatures", []),
                                                         f"{name}.cosignatures"))]}


def cosignature(value: Any, name: str = "cosignature") -> dict[str, Any]:
    c = _object(value, name)
    missing = [f for f in ("tree_size", "root_hash", "cosigned_at", "public_key", "signature")
               if f not in c]
    if missing:
        raise BadInput(f"{name} has no {', '.join(missing)}")
    public = _hex(c["public_key"], 64, f"{name}.public_key")
    return {"tree_size": _count(c["tree_size"], f"{name}.tree_size"),
            "root_hash": _hex(c["root_hash"], 64, f"{name}.root_hash"),
            "cosigned_at": _text(c["cosigned_at"], f"{name}.cosigned_at"),
            "public_key": public, "key_id": key_id(public),
            "signature": _hex(c["signature"], 128, f"{name}.signature"),
            **({"name": c["name"]} if isinstance(c.get("name"), str) else {})}


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadInput(f"{name} must be a list")
    return value


def _hashes(value: Any, name: str) -> list[bytes]:
    return [bytes.fromhex(_hex(h, 64, f"{name}[{n}]")) for n, h in enumerate(_list(value, name))]


def _base64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise BadInput(f"{name} must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(f"{name} is not base64") from None


def head_in(document: Any) -> dict[str, Any]:
    """The tree head a file holds: a tree head itself, or the `tree_head` of a proof bundle or a
    checkpoint, or the `second_head` of a consistency answer."""
    doc = _object(document, "the file")
    for key in ("tree_head", "second_head"):
        if isinstance(doc.get(key), Mapping):
            return tree_head(doc[key], key)
    return tree_head(doc, "the tree head")


def read_json(path: Path | str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except OSError as error:
        raise BadInput(f"cannot read the {what} {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadInput(f"{path} is not JSON") from None


def read_public_key(path: Path | str) -> str:
    """The Ed25519 public key (hex) in a PEM file: a public key, or a private key's public half."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise BadInput(f"cannot read the key {path}: {error.strerror}") from None
    key: Any = None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            key = None
    if isinstance(key, Ed25519PrivateKey):
        return public_key_hex(key)
    if not isinstance(key, Ed25519PublicKey):
        raise BadInput(f"{path} holds no Ed25519 key in PEM")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_key_pem(public_key: str) -> str:
    """A public key (hex) as PEM (SubjectPublicKeyInfo), the form `--key` reads."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# --- checking signatures ----------------------------------------------------------------------------

def tree_head_error(head: Mapping[str, Any], trusted_key: str | None = None) -> str | None:
    """Why this (well-formed) tree head cannot be trusted, or None when it holds."""
    size = head["tree_size"]
    if head["key_id"] != key_id(head["public_key"]):
        return f"the tree head of size {size} names key {head['key_id']}, not its own key's id"
    text = tree_head_text(size, head["root_hash"], head["signed_at"])
    if not _signature_holds(head["public_key"], head["signature"], text):
        return f"the signature of the tree head of size {size} does not match its content"
    if trusted_key and head["public_key"] != trusted_key:
        return (f"the tree head of size {size} was signed by key {head['key_id']}, "
                f"not by the trusted key {key_id(trusted_key)}")
    for c in head.get("cosignatures", []):
        if (c["tree_size"], c["root_hash"]) != (size, head["root_hash"]):
            return f"the cosignature of key {c['key_id']} is for another tree head"
        if not cosignature_holds(c, head):
            return f"the cosignature of key {c['key_id']} does not match the tree head"
    return None


def cosignature_holds(c: Mapping[str, Any], head: Mapping[str, Any]) -> bool:
    text = cosignature_text(head["key_id"], c["tree_size"], c["root_hash"], c["cosigned_at"])
    return _signature_holds(c["public_key"], c["signature"], text)


# --- checking a file: verify-proof -------------------------------------------------------------------

@dataclass
class Report:
    """What was checked: `ok`, the reason when not, and one line per fact established."""

    ok: bool
    reason: str = ""
    lines: list[str] = field(default_factory=list)


def head_line(head: Mapping[str, Any], trusted_key: str | None) -> str:
    who = ("the trusted key" if trusted_key else
           "its own public key (not compared with a key you trust: give --key)")
    line = (f"tree head of size {head['tree_size']}, root {head['root_hash']}, signed at "
            f"{head['signed_at']} by key {head['key_id']}: the signature holds under {who}")
    for c in head.get("cosignatures", []):
        line += f"; cosigned by key {c['key_id']} at {c['cosigned_at']}"
    return line


def check_extension(earlier: Mapping[str, Any], later: Mapping[str, Any],
                    proof: Sequence[bytes] | None) -> str | None:
    """Why the `later` head does not extend the `earlier` one (both signatures checked), or None.
    `proof` is the consistency proof between their sizes (None: the file holds none)."""
    m, n = earlier["tree_size"], later["tree_size"]
    if m > n:
        return (f"the log's head of size {n} is smaller than the earlier head of size {m}: "
                "the log lost events it had")
    if m == n or m == 0:
        if m == n and earlier["root_hash"] != later["root_hash"]:
            return (f"fork: two tree heads of size {m} with different roots; the log was "
                    "rewritten after the earlier one was signed")
        return None
    if proof is None:
        raise BadInput(f"the file holds no consistency proof from size {m} to {n}; ask for it "
                       f"(?since={m}, tracker prove --since {m}, or /api/v1/public/ledger/"
                       f"consistency?first={m}&second={n})")
    if not verify_consistency(m, n, bytes.fromhex(earlier["root_hash"]),
                              bytes.fromhex(later["root_hash"]), proof):
        return (f"fork: the log's head of size {n} is not consistent with the earlier head of "
                f"size {m}; the log's first {m} events were changed")
    return None


def check_document(document: Any, trusted_key: str | None = None,
                   earlier: Mapping[str, Any] | None = None) -> Report:
    """Check a proof bundle (`tree_head` and `entries`) or a consistency answer (`first`, `second`,
    `proof`): the signatures, every audit path, and (given an earlier head) that the file's head
    extends it. Raises BadInput when the file is not one of those."""
    doc = _object(document, "the file")
    if earlier is not None:
        problem = tree_head_error(earlier, trusted_key)
        if problem:
            return Report(False, f"the earlier head: {problem}")
    if "entries" in doc:
        return _check_bundle(doc, trusted_key, earlier)
    if "proof" in doc and "first" in doc and "second" in doc:
        return _check_consistency(doc, trusted_key, earlier)
    raise BadInput("the file is neither a proof bundle (tree_head, entries) nor a consistency "
                   "answer (first, second, proof)")


def _consistency_in(doc: Mapping[str, Any], earlier: Mapping[str, Any] | None,
                    second: int) -> list[bytes] | None:
    found = doc.get("consistency")
    if earlier is None or not isinstance(found, Mapping):
        return None
    if (found.get("first"), found.get("second")) != (earlier["tree_size"], second):
        return None
    return _hashes(found.get("proof"), "consistency.proof")


def _check_bundle(doc: Mapping[str, Any], trusted_key: str | None,
                  earlier: Mapping[str, Any] | None) -> Report:
    head = tree_head(doc.get("tree_head"))
    entries = _list(doc["entries"], "entries")
    parsed = []
    for n, value in enumerate(entries):
        entry = _object(value, f"entries[{n}]")
        for name in ("position", "leaf_index", "leaf", "audit_path"):
            if name not in entry:
                raise BadInput(f"entries[{n}] has no {name}")
        parsed.append((_count(entry["position"], f"entries[{n}].position"),
                       _count(entry["leaf_index"], f"entries[{n}].leaf_index"),
                       _base64(entry["leaf"], f"entries[{n}].leaf"),
                       _hashes(entry["audit_path"], f"entries[{n}].audit_path"),
                       _base64(entry["state"], f"entries[{n}].state") if "state" in entry else None))
    consistency = _consistency_in(doc, earlier, head["tree_size"])
    problem = tree_head_error(head, trusted_key)
    if problem:
        return Report(False, problem)
    report = Report(True, lines=[head_line(head, trusted_key)])
    root = bytes.fromhex(head["root_hash"])
    for position, index, leaf, path, state in parsed:
        try:
            found = parse_leaf(leaf)
        except ValueError:
            return Report(False, f"the leaf given for position {position} is not a tracker leaf")
        if found.position != position:
            return Report(False, f"the leaf given for position {position} is the leaf of position "
                                 f"{found.position}")
        if state is not None and hashlib.sha256(state).digest() != found.state_digest:
            return Report(False, f"the stored bytes given for position {position} are not the "
                                 "ones its leaf was made from")
        if not verify_inclusion(leaf_hash(leaf), index, head["tree_size"], path, root):
            return Report(False, f"the event at position {position} is not in the signed tree "
                                 f"head of size {head['tree_size']}: its leaf and audit path do "
                                 "not lead to the signed root (the event or the tree was changed)")
        report.lines.append(f"position {position} (leaf {index}): {found.topic} of "
                            f"{found.originator_id}, version {found.version}: included")
    if earlier is not None:
        problem = check_extension(earlier, head, consistency)
        if problem:
            return Report(False, problem)
        report.lines.append(f"the tree head extends the earlier head of size "
                            f"{earlier['tree_size']} ({earlier['root_hash']})")
    report.reason = (f"{len(parsed)} events included in the signed tree head of size "
                     f"{head['tree_size']}")
    return report


def _check_consistency(doc: Mapping[str, Any], trusted_key: str | None,
                       earlier: Mapping[str, Any] | None) -> Report:
    first, second = _count(doc["first"], "first"), _count(doc["second"], "second")
    proof = _hashes(doc["proof"], "proof")
    heads = {name: tree_head(doc[name], name) if doc.get(name) is not None else None
             for name in ("first_head", "second_head")}
    later = heads["second_head"]
    if later is None:
        raise BadInput(f"the file holds no signed tree head of size {second} (second_head)")
    before = earlier or heads["first_head"]
    if before is None:
        raise BadInput(f"the file holds no signed tree head of size {first}: give the earlier "
                       "head you kept with --head")
    if before["tree_size"] != first:
        raise BadInput(f"the earlier head has size {before['tree_size']}, the proof starts at "
                       f"size {first}")
    if later["tree_size"] != second:
        raise BadInput(f"second_head has size {later['tree_size']}, not {second}")
    for head in (h for h in (heads["first_head"], later) if h is not None):
        problem = tree_head_error(head, trusted_key)
        if problem:
            return Report(False, problem)
    problem = check_extension(before, later, proof)
    if problem:
        return Report(False, problem)
    return Report(True, f"the tree head of size {second} extends the one of size {first}",
                  [head_line(before, trusted_key), head_line(later, trusted_key)])
