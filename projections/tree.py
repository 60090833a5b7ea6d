"""The Merkle tree over the whole event log (RFC 9162 §2.1), kept with the read models, and the
proofs, signed tree heads and witnesses' cosignatures made from it.

Leaf i is the i-th stored event in log order (`projections.proofs.leaf_bytes`: its position, topic,
originator id, version and the SHA-256 of its stored bytes). `TreeView` appends each batch of the
log to the tree and stores its leaf hashes by blocks of 16 (`rm_tree_blocks`, with where each
block starts in the log) and the hashes of complete subtrees of 16 leaves or more (`rm_tree_nodes`,
keyed by `merkle.node_key`), so a
root or a proof for any tree size up to the current one is a few queries, whatever the size of the
log.

Signed tree heads (`rm_tree_heads`) and cosignatures (`rm_tree_cosignatures`) are a history kept
apart from the view's own tables: rebuilding the tree keeps them, so a tree rebuilt over an edited
log no longer matches the heads signed before (what witnesses and donors holding one then see).

`ProofService` answers the proof routes and commands: the latest signed head (signing the current
tree first when the log has grown past it), a commitment's public inclusion proofs, any event's for
auditors, consistency proofs between sizes, and cosignatures from registered witness keys.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any, ClassVar

from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from projections import merkle
from projections.feed import Item
from projections.ledger import load_signing_key, public_key_hex
from projections.proofs import (
    BadInput,
    cosignature,
    cosignature_holds,
    key_id,
    leaf_bytes,
    sign_tree_head,
)
from projections.views import View

CHUNK = 900  # values in one IN (...) list
MAX_POSITIONS = 100  # events in one auditor's proof
LOW = 4  # levels 1 to LOW - 1 are not stored (see TreeView)
BLOCK = 1 << LOW


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


class TreeDamaged(Conflict):
    """The stored tree lacks a node it should hold (tables edited or dropped by hand)."""

    code = "tree_damaged"


class TreeView(View):
    """The tree as a read model: hashes of complete subtrees, kept by blocks of BLOCK leaves.

    `rm_tree_blocks` has a row per block of BLOCK leaves: the log position of its first leaf, how
    many leaves it has so far and their hashes (hex, one after the other); `rm_tree_nodes` the hash
    of every complete subtree of BLOCK leaves or more (levels LOW and up), keyed by
    `merkle.node_key`. The levels between are hashed again from their block's leaf hashes when a
    proof needs them. So building the tree writes about one row per 5 events, and the blocks also
    give the tree's size and the way from a log position to its leaf index and its stored row (the
    block's events are read in one range, in log order)."""

    name = "tree"
    version = 1
    tables: ClassVar = {"rm_tree_nodes": "node BIGINT PRIMARY KEY, hash TEXT",
                        "rm_tree_blocks": "block BIGINT PRIMARY KEY, position BIGINT, "
                                          "leaves INTEGER, hashes TEXT"}
    indexes = ("rm_tree_blocks(position)",)
    needs_events = False
    # Kept apart (not dropped by a rebuild): every head signed, every cosignature received.
    history: ClassVar = {
        "rm_tree_heads": "tree_size BIGINT, root_hash TEXT, signed_at TEXT, signature TEXT, "
                         "public_key TEXT, key_id TEXT",
        "rm_tree_cosignatures": "tree_size BIGINT, root_hash TEXT, key_id TEXT, name TEXT, "
                                "public_key TEXT, cosigned_at TEXT, signature TEXT, "
                                "PRIMARY KEY (key_id, tree_size, root_hash)",
    }

    def ensure(self) -> None:
        super().ensure()
        self.store.ensure_tables(self.history, [
            f"{table}_by_size ON {table} ({columns})" for table, columns in (
                ("rm_tree_heads", "tree_size, signed_at"), ("rm_tree_cosignatures", "tree_size"))])

    # --- reading stored hashes -------------------------------------------------------------------

    def _read(self, subtrees: Iterable[tuple[int, int]], cursor: Any = None
              ) -> Callable[[int, int], bytes]:
        """The hash of each of these complete subtrees, as a function of (level, index), from
        one read of the nodes and blocks they need."""
        keys, blocks = set(), set()
        for level, index in subtrees:
            if level >= LOW:
                keys.add(merkle.node_key(level, index))
            else:
                blocks.add((index << level) >> LOW)
        nodes: dict[int, bytes] = {}
        leaves: dict[int, bytes] = {}
        for row in self._rows(keys, blocks, cursor):
            (nodes if row["kind"] == "n" else leaves)[int(row["k"])] = bytes.fromhex(row["h"])
        if len(nodes) != len(keys) or len(leaves) != len(blocks):
            raise TreeDamaged("the stored tree lacks nodes it should hold; rebuild it with "
                              "`tracker projections rebuild tree`")

        made: dict[tuple[int, int], bytes] = {}

        def subtree(level: int, index: int) -> bytes:
            if level >= LOW:
                return nodes[merkle.node_key(level, index)]
            if (level, index) not in made:
                first = index << level
                block = leaves[first >> LOW]
                at = (first % BLOCK) * 32
                hashes = [block[i:i + 32] for i in range(at, at + (32 << level), 32)]
                if len(hashes[-1]) != 32:
                    raise TreeDamaged(f"the block of leaf {first} is short; rebuild the tree")
                made[(level, index)] = merkle.root(hashes)
            return made[(level, index)]

        return subtree

    def _rows(self, keys: set[int], blocks: set[int], cursor: Any) -> list[Any]:
        """These nodes and blocks, in one query (a few, for very many)."""
        rows: list[Any] = []
        for key_chunk, block_chunk in zip_longest(_chunks(sorted(keys)), _chunks(sorted(blocks)),
                                                  fillvalue=()):
            parts = []
            if key_chunk:
                parts.append(f"SELECT 'n' AS kind, node AS k, hash AS h FROM rm_tree_nodes "
                             f"WHERE node IN ({','.join('?' * len(key_chunk))})")
            if block_chunk:
                parts.append(f"SELECT 'b' AS kind, block AS k, hashes AS h FROM rm_tree_blocks "
                             f"WHERE block IN ({','.join('?' * len(block_chunk))})")
            if not parts:
                continue
            statement, params = " UNION ALL ".join(parts), (*key_chunk, *block_chunk)
            if cursor is None:
                rows += self.store.fetchall(statement, params)
            else:
                cursor.execute(self.store.sql(statement), params)
                rows += cursor.fetchall()
        return rows

    # --- building ------------------------------------------------------------------------------

    def apply(self, cursor: Any, items: Sequence[Item]) -> None:  # type: ignore[override]
        cursor.execute(self.store.sql("SELECT * FROM rm_tree_blocks ORDER BY block DESC LIMIT 1"))
        last = cursor.fetchone()
        size = int(last["block"]) * BLOCK + int(last["leaves"]) if last else 0
        edge = merkle.subtrees(0, size)
        subtree = self._read(edge, cursor)
        frontier = merkle.Frontier(size, [subtree(level, index) for level, index in edge])
        blocks: dict[int, tuple[int, list[bytes]]] = {}  # block -> (first position, leaf hashes)
        if last is not None and int(last["leaves"]) < BLOCK:
            hashes = bytes.fromhex(last["hashes"])
            blocks[int(last["block"])] = (int(last["position"]),
                                          [hashes[i:i + 32] for i in range(0, len(hashes), 32)])
        made: list[tuple[int, bytes]] = []
        append, leaf_hash = frontier.append, merkle.leaf_hash
        for item in items:
            n = item.notification
            digest = leaf_hash(leaf_bytes(item.position, n.topic, item.aggregate_id,
                                          n.originator_version, bytes(n.state)))
            block = frontier.size >> LOW
            if block not in blocks:
                blocks[block] = (item.position, [])
            blocks[block][1].append(digest)
            append(digest, made)
        self.execute_many(cursor, "INSERT INTO rm_tree_nodes VALUES (?,?)",
                          [(key, digest.hex()) for key, digest in made if key & 63 >= LOW])
        self.upsert(cursor, "rm_tree_blocks", (
            {"block": block, "position": position, "leaves": len(hashes),
             "hashes": b"".join(hashes).hex()} for block, (position, hashes) in blocks.items()),
            key="block")

    # --- reading -------------------------------------------------------------------------------

    def size(self) -> int:
        row = self.store.fetchone("SELECT block, leaves FROM rm_tree_blocks ORDER BY block DESC "
                                  "LIMIT 1")
        return int(row["block"]) * BLOCK + int(row["leaves"]) if row else 0

    def locate(self, positions: Sequence[int]) -> dict[int, tuple[int, tuple[Any, ...]]]:
        """For each of these log positions that is in the tree: its leaf index and its stored row
        (position, topic, originator id, version, state). One query finds their blocks, then one
        range read per block."""
        wanted = sorted(set(positions))
        blocks: dict[int, tuple[int, int]] = {}  # block -> (first position, leaves)
        one = ("SELECT * FROM (SELECT block, position, leaves FROM rm_tree_blocks WHERE position<=? "
               "ORDER BY position DESC LIMIT 1) b{n}")
        for start in range(0, len(wanted), 100):
            chunk = wanted[start:start + 100]
            for row in self.store.fetchall(" UNION ALL ".join(one.format(n=n)
                                                              for n in range(len(chunk))), chunk):
                blocks[int(row["block"])] = (int(row["position"]), int(row["leaves"]))
        table = self.feed.app.recorder.events_table_name
        found: dict[int, tuple[int, tuple[Any, ...]]] = {}
        for block, (position, leaves) in blocks.items():
            for offset, row in enumerate(self.store.stored_events(table, position - 1, leaves)):
                found[row[0]] = (block * BLOCK + offset, row)
        return {p: found[p] for p in wanted if p in found}

    def paths(self, size: int, indexes: Sequence[int], since: int | None = None
              ) -> tuple[bytes, dict[int, list[bytes]], list[bytes] | None]:
        """For a tree of `size` leaves: its root, the audit path of each leaf index, and (given
        `since`) the consistency proof from that size, from one read of the stored hashes."""
        inclusion = {i: merkle.inclusion_ranges(i, size) for i in indexes}
        consistency = merkle.consistency_ranges(since, size) if since else []
        ranges = [(0, size), *consistency, *(r for rs in inclusion.values() for r in rs)]
        subtree = self._read({t for lo, hi in ranges for t in merkle.subtrees(lo, hi)})

        def mth(lo: int, hi: int) -> bytes:
            return merkle.range_hash(lo, hi, subtree)

        return (mth(0, size),
                {i: [mth(lo, hi) for lo, hi in ranges] for i, ranges in inclusion.items()},
                [mth(lo, hi) for lo, hi in consistency] if since else None)

    def root(self, size: int) -> bytes:
        return self.paths(size, [])[0]

    # --- tree heads and cosignatures -------------------------------------------------------------

    def record_head(self, head: Mapping[str, Any]) -> None:
        with self.store.transaction(commit=True) as cursor:
            cursor.execute(self.store.sql("INSERT INTO rm_tree_heads VALUES (?,?,?,?,?,?)"), (
                head["tree_size"], head["root_hash"], head["signed_at"], head["signature"],
                head["public_key"], head["key_id"]))

    @staticmethod
    def _head(row: Mapping[str, Any]) -> dict[str, Any]:
        return dict(row, tree_size=int(row["tree_size"]))

    def heads(self, limit: int = 20, size: int | None = None) -> list[dict[str, Any]]:
        """Signed heads (of this size, or of any), the largest and then latest first."""
        where, params = ("WHERE tree_size=? ", [size]) if size is not None else ("", [])
        return [self._head(r) for r in self.store.fetchall(
            f"SELECT * FROM rm_tree_heads {where}ORDER BY tree_size DESC, signed_at DESC LIMIT ?",
            [*params, max(0, int(limit))])]

    def latest_head(self) -> dict[str, Any] | None:
        found = self.heads(1)
        return found[0] if found else None

    def head_signed(self, tree_size: int, root_hash: str) -> bool:
        return self.store.fetchone("SELECT tree_size FROM rm_tree_heads WHERE tree_size=? AND "
                                   "root_hash=? LIMIT 1", (tree_size, root_hash)) is not None

    def record_cosignature(self, c: Mapping[str, Any]) -> bool:
        """Keep a (checked) cosignature; False when this witness had already cosigned that head."""
        with self.store.transaction(commit=True) as cursor:
            cursor.execute(self.store.sql(
                "INSERT INTO rm_tree_cosignatures VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING "
                "RETURNING key_id"), (c["tree_size"], c["root_hash"], c["key_id"], c["name"],
                                      c["public_key"], c["cosigned_at"], c["signature"]))
            return cursor.fetchone() is not None

    def cosignatures(self, heads: Sequence[Mapping[str, Any]]) -> dict[tuple[int, str], list[dict[str, Any]]]:
        """The cosignatures of each of these heads, by (tree_size, root_hash), oldest first."""
        found: dict[tuple[int, str], list[dict[str, Any]]] = {
            (h["tree_size"], h["root_hash"]): [] for h in heads}
        sizes = sorted({h["tree_size"] for h in heads})
        for chunk in _chunks(sizes):
            for row in self.store.fetchall(
                    f"SELECT * FROM rm_tree_cosignatures WHERE tree_size IN "
                    f"({','.join('?' * len(chunk))}) ORDER BY cosigned_at, key_id", chunk):
                key = (int(row["tree_size"]), row["root_hash"])
                if key in found:
                    found[key].append(dict(row, tree_size=key[0]))
        return found

    def with_cosignatures(self, heads: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        found = self.cosignatures(heads)
        return [dict(h, cosignatures=found[(h["tree_size"], h["root_hash"])]) for h in heads]

    def latest_cosigned_head(self) -> dict[str, Any] | None:
        """The largest (then latest) head that some witness cosigned, with its cosignatures."""
        cosigned = self.store.fetchone("SELECT tree_size, root_hash FROM rm_tree_cosignatures "
                                       "ORDER BY tree_size DESC LIMIT 1")
        if cosigned is None:  # (a cosignature is kept only for a head this tracker signed)
            return None
        row = self.store.fetchone("SELECT * FROM rm_tree_heads WHERE tree_size=? AND root_hash=? "
                                  "ORDER BY signed_at DESC LIMIT 1",
                                  (cosigned["tree_size"], cosigned["root_hash"]))
        return self.with_cosignatures([self._head(row)])[0] if row else None


def witness_keys(setting: str) -> dict[str, str]:
    """The witness keys a tracker accepts cosignatures from: `TRACKER_WITNESS_KEYS`, comma-separated
    Ed25519 public keys in hex, each optionally named (`NAME=HEX`); public key -> name."""
    keys: dict[str, str] = {}
    for part in (p.strip() for p in setting.split(",")):
        if not part:
            continue
        name, _, value = part.rpartition("=")
        value = value.strip().lower()
        if len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value):
            raise ValueError(f"TRACKER_WITNESS_KEYS: {part[:80]!r} is not an Ed25519 public key "
                             "in hex (64 digits), optionally named NAME=HEX")
        keys[value] = name.strip() or key_id(value)
    return keys


class ProofService:
    """Signed tree heads, inclusion and consistency proofs, cosignatures: what the proof routes
    and commands ask, over one tree view and the public read model."""

    def __init__(self, tree: TreeView, public: Any, signing_key_file: Path,
                 witnesses: Mapping[str, str] | None = None) -> None:
        self.tree = tree
        self.public = public  # PublicQueries: which events of a commitment are public
        self.signing_key_file = Path(signing_key_file)
        self.witnesses = dict(witnesses or {})
        self._key: Any = None
        self._lock = threading.Lock()

    def _signing_key(self) -> Any:
        with self._lock:
            if self._key is None:
                self._key = load_signing_key(self.signing_key_file)
            return self._key

    # --- tree heads ---------------------------------------------------------------------------------

    def sign(self, now: datetime | None = None) -> dict[str, Any]:
        """Sign the tree as it is now and keep the head."""
        size = self.tree.size()
        head = sign_tree_head(self._signing_key(), size, self.tree.root(size).hex(), now)
        self.tree.record_head(head)
        return dict(head, cosignatures=[])

    def current_head(self) -> dict[str, Any]:
        """The latest signed head, with its cosignatures; when the tree's size is not the latest
        head's (it has grown since), the current tree is signed first."""
        latest = self.tree.latest_head()
        if latest is None or latest["tree_size"] != self.tree.size():
            return self.sign()
        return self.tree.with_cosignatures([latest])[0]

    # --- inclusion ----------------------------------------------------------------------------------

    def _bundle(self, positions: Sequence[int], since: int | None, with_state: bool,
                extra: Mapping[str, Any]) -> dict[str, Any]:
        located = self.tree.locate(positions)
        missing = [p for p in positions if p not in located]
        if missing:
            raise NotFound(f"no event at position {missing[0]} is in the tree")
        size = self.tree.size()  # the head's, once signed (refused first: nothing is signed)
        if since is not None and not 0 < since < size:
            raise InvalidInput(f"since must be from 1 to {size - 1}, the size of an earlier tree "
                               "head", "since")
        head = self.current_head()  # it holds every located event: they were in the tree
        size = head["tree_size"]
        _, paths, consistency = self.tree.paths(size, [i for i, _ in located.values()], since)
        entries = []
        for position in positions:
            index, (p, topic, originator_id, version, state) = located[position]
            entry = {"position": position, "leaf_index": index,
                     "leaf": base64.b64encode(leaf_bytes(p, topic, originator_id, version,
                                                         state)).decode(),
                     "audit_path": [h.hex() for h in paths[index]]}
            if with_state:
                entry["state"] = base64.b64encode(state).decode()
            entries.append(entry)
        bundle: dict[str, Any] = {"tree_head": head, **extra, "entries": entries}
        if consistency is not None:
            bundle["consistency"] = {"first": since, "second": size,
                                     "proof": [h.hex() for h in consistency]}
        return bundle

    def commitment_bundle(self, commitment_id: str, since: int | None = None) -> dict[str, Any]:
        """The inclusion proof of each public event of a public commitment (those of its public
        timeline), in the latest signed head."""
        positions = self.public.public_positions(commitment_id)
        if positions is None:
            raise NotFound("no public commitment has this id; a private commitment has no "
                           "public proof")
        return self._bundle(positions, since, False, {"commitment_id": commitment_id})

    def events_bundle(self, positions: Sequence[int], since: int | None = None) -> dict[str, Any]:
        """Auditors: the inclusion proof of any events by position, with their stored bytes."""
        wanted = sorted(set(positions))
        if not wanted or len(wanted) > MAX_POSITIONS:
            raise InvalidInput(f"give from 1 to {MAX_POSITIONS} positions", "position")
        if not 0 < wanted[0] <= wanted[-1] < 2**62:
            raise InvalidInput("a log position is a whole number from 1", "position")
        return self._bundle(wanted, since, True, {})

    # --- consistency --------------------------------------------------------------------------------

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        """The consistency proof between two tree sizes, with the latest signed head of each."""
        size = self.tree.size()
        if not 0 < first < second <= size:
            raise InvalidInput(f"first and second must be tree sizes with 0 < first < second <= "
                               f"{size} (the current size); equal sizes need no proof: compare "
                               "their roots", "first" if first < 1 or first >= second else "second")
        _, _, proof = self.tree.paths(second, [], first)
        heads = {}
        for name, size_of in (("first_head", first), ("second_head", second)):
            found = self.tree.heads(1, size=size_of)
            heads[name] = self.tree.with_cosignatures(found)[0] if found else None
        return {"first": first, "second": second, "proof": [h.hex() for h in proof or []],
                **heads}

    # --- cosignatures -------------------------------------------------------------------------------

    def add_cosignature(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Keep a witness's cosignature of a head this tracker signed; (it, whether it is new)."""
        try:
            c = cosignature(body)
        except BadInput as error:
            raise InvalidInput(str(error)) from None
        name = self.witnesses.get(c["public_key"])
        if name is None:
            raise Forbidden(f"the key {c['key_id']} is not a registered witness key: its owner "
                            "must ask this tracker's operator to add it to TRACKER_WITNESS_KEYS")
        if not self.tree.head_signed(c["tree_size"], c["root_hash"]):
            raise InvalidInput(f"this tracker signed no tree head of size {c['tree_size']} with "
                               "this root", "root_hash")
        own = key_id(self.public_key())
        if not cosignature_holds(c, {"key_id": own}):
            raise InvalidInput("the cosignature does not match the tree head (it must sign the "
                               f"cosignature text with this tracker's key id {own})", "signature")
        c["name"] = name
        created = self.tree.record_cosignature(c)
        return c, created

    def public_key(self) -> str:
        """This tracker's signing key's public half (hex)."""
        return public_key_hex(self._signing_key())
