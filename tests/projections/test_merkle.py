"""The Merkle tree: every proof the tracker makes passes the RFC 9162 verifier written in
tests/rfc9162.py from the RFC's text (not the project's own verifying code), for trees of every
size from 1 to 70 and one of 100,000 leaves; over real events kept by the tree view, on each
backend; and the project's own verifiers agree with the RFC's, also on tampered proofs.
"""

from __future__ import annotations

import random
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections import merkle
from tests import rfc9162
from tests.factories import advance, make_world, propose
from tests.projection_helpers import dump
from tracker.bootstrap import build_read_models


def build(leaves: list[bytes]) -> tuple[dict[int, bytes], merkle.Frontier]:
    """The stored nodes of a tree of these leaves, made leaf by leaf as the tree view makes them."""
    frontier, made = merkle.Frontier(), []
    for leaf in leaves:
        frontier.append(merkle.leaf_hash(leaf), made)
    return dict(made), frontier


def lookup(nodes):
    return lambda level, index: nodes[merkle.node_key(level, index)]


def inclusion(nodes, index, size):
    return [merkle.range_hash(lo, hi, lookup(nodes))
            for lo, hi in merkle.inclusion_ranges(index, size)]


def consistency(nodes, first, second):
    return [merkle.range_hash(lo, hi, lookup(nodes))
            for lo, hi in merkle.consistency_ranges(first, second)]


def tampered(path: list[bytes], n: int) -> list[bytes]:
    changed = list(path)
    changed[n % len(changed)] = bytes([changed[n % len(changed)][0] ^ 1]) + changed[n % len(changed)][1:]
    return changed


def test_every_proof_of_every_tree_from_1_to_70_leaves_passes_the_rfc_verifier():
    leaves = [f"event {n}".encode() for n in range(70)]
    nodes, _ = build(leaves)  # the tree of 70 holds every smaller tree's complete subtrees
    root_of = rfc9162.roots(leaves)
    for size in range(1, 71):
        root = root_of(size)
        assert merkle.range_hash(0, size, lookup(nodes)) == root
        assert merkle.root([merkle.leaf_hash(x) for x in leaves[:size]]) == root
        for index in range(size):
            path = inclusion(nodes, index, size)
            leaf_hash = rfc9162.sha256(b"\x00" + leaves[index])
            assert rfc9162.verify_inclusion(index, size, leaf_hash, path, root), (index, size)
            assert merkle.verify_inclusion(leaf_hash, index, size, path, root)
            if path:  # a tampered path fails both verifiers
                bad = tampered(path, index)
                assert not rfc9162.verify_inclusion(index, size, leaf_hash, bad, root)
                assert not merkle.verify_inclusion(leaf_hash, index, size, bad, root)
            other = (index + 1) % size
            if other != index:  # another leaf's hash, or another index, fails too
                assert not merkle.verify_inclusion(leaf_hash, other, size, path, root)
        for first in range(1, size):
            proof = consistency(nodes, first, size)
            assert rfc9162.verify_consistency(first, size, root_of(first), root, proof), (first, size)
            assert merkle.verify_consistency(first, size, root_of(first), root, proof)
            bad = tampered(proof, first)
            assert not rfc9162.verify_consistency(first, size, root_of(first), root, bad)
            assert not merkle.verify_consistency(first, size, root_of(first), root, bad)
            wrong_old = rfc9162.sha256(b"not the old root")
            assert not merkle.verify_consistency(first, size, wrong_old, root, proof)


def test_proofs_of_a_tree_of_100000_leaves_pass_the_rfc_verifier():
    size = 100_000
    leaves = [n.to_bytes(4, "big") for n in range(size)]
    nodes, frontier = build(leaves)
    root_of = rfc9162.roots(leaves)
    root = root_of(size)
    assert frontier.root() == root == merkle.range_hash(0, size, lookup(nodes))
    pick = random.Random(13)
    indexes = {0, 1, 65_535, 65_536, 98_303, 98_304, size - 2, size - 1,
               *(pick.randrange(size) for _ in range(300))}
    for index in sorted(indexes):
        path = inclusion(nodes, index, size)
        assert len(path) <= 17
        assert rfc9162.verify_inclusion(index, size, rfc9162.sha256(b"\x00" + leaves[index]),
                                        path, root), index
    firsts = {1, 2, 3, 1024, 65_535, 65_536, 65_537, size - 1,
              *(pick.randrange(1, size) for _ in range(100))}
    for first in sorted(firsts):
        proof = consistency(nodes, first, size)
        assert rfc9162.verify_consistency(first, size, root_of(first), root, proof), first


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=12))
def test_appending_in_any_batches_makes_the_same_nodes(batches):
    leaves = [bytes([n]) for n in range(sum(batches))]
    whole, _ = build(leaves)
    nodes: dict[int, bytes] = {}
    size, start = 0, 0
    for count in batches:  # each batch starts from the stored frontier, as the view does
        frontier = merkle.Frontier(size, [nodes[k] for k in merkle.Frontier.keys(size)])
        made: list[tuple[int, bytes]] = []
        for leaf in leaves[start:start + count]:
            frontier.append(merkle.leaf_hash(leaf), made)
        nodes.update(made)
        size, start = frontier.size, start + count
    assert nodes == whole


def test_node_keys_grow_in_the_order_nodes_are_made():
    made: list[tuple[int, bytes]] = []
    frontier = merkle.Frontier()
    for n in range(300):
        frontier.append(bytes([n % 256]), made)
    keys = [key for key, _ in made]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for key in keys:  # each is node_key(level, index) of the subtree it names
        level, last_leaf = key & 63, key >> 6
        assert merkle.node_key(level, ((last_leaf + 1) >> level) - 1) == key


def test_proof_ranges_refuse_sizes_outside_the_tree():
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(0, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(5, 5)


# --- the tree view over real events ------------------------------------------------------------------

@pytest.fixture
def events(tracker):
    """A log of at least 70 real events."""
    world = make_world(tracker)
    while (tracker.recorder.max_notification_id() or 0) < 70:
        advance(tracker, world, propose(tracker, world).id, "verified")
    return tracker.recorder.max_notification_id()


def stored_leaves(tracker, store):
    """The leaves as the README defines them, built here from the raw stored rows."""
    rows = store.stored_events(tracker.recorder.events_table_name, 0, 10_000)
    return [rfc9162.leaf(*row) for row in rows]


def test_the_tree_view_proves_every_event_for_every_tree_size(settings, tracker, events):
    models = build_read_models(settings, tracker)
    models.batch = 7  # the tree grows over many catch-up batches
    try:
        models.catch_up()
        tree = models.tree
        leaves = stored_leaves(tracker, models.store)
        assert tree.size() == len(leaves) == events
        root_of = rfc9162.roots(leaves)
        for size in range(1, len(leaves) + 1):
            root, paths, _ = tree.paths(size, list(range(size)))
            assert root == root_of(size)
            for index, path in paths.items():
                assert rfc9162.verify_inclusion(index, size, rfc9162.sha256(b"\x00" + leaves[index]),
                                                path, root), (index, size)
            for first in range(1, size):
                proof = tree.paths(size, [], since=first)[2]
                assert rfc9162.verify_consistency(first, size, root_of(first), root, proof)
        located = tree.locate([1, events, events + 1])
        assert {p: index for p, (index, _) in located.items()} == {1: 0, events: events - 1}
        assert rfc9162.leaf(*located[events][1]) == leaves[-1]

        # One batch or many, and a rebuild: the same tree.
        built = dump(models, ["tree"])
        models.batch = 10_000
        models.rebuild("tree")
        assert dump(models, ["tree"]) == built
    finally:
        models.close()


def test_only_a_named_rebuild_replays_the_tree_and_its_signed_heads_stay(settings, tracker, events):
    models = build_read_models(settings, tracker)
    try:
        models.catch_up()
        before = dump(models, ["tree"])
        models.tree.record_head({"tree_size": 1, "root_hash": "0" * 64, "signed_at": "x",
                                 "signature": "0" * 128, "public_key": "0" * 64, "key_id": "0" * 16})
        with models.store.transaction(commit=True) as cursor:
            cursor.execute(models.store.sql("DELETE FROM rm_tree_nodes WHERE node=?"),
                           (merkle.node_key(4, 1),))
        models.rebuild()  # every read model but the ledger and the tree
        assert dump(models, ["tree"]) != before
        models.rebuild("tree")
        assert dump(models, ["tree"]) == before
        assert len(models.tree.heads()) == 1  # kept apart from the view's tables
    finally:
        models.close()


def test_the_tree_view_of_100000_leaves_proves_them_for_the_rfc_verifier(settings, tracker):
    """The view's own storage (leaf hashes by blocks, levels of 16 leaves and up) at 100,000
    leaves, filled with stored-looking rows in batches of 10,000 as a catch-up would."""
    from eventsourcing.persistence import Notification

    size = 100_000
    originator = uuid.UUID(int=7)
    rows = [(n + 1, "commitment.progress_reported", str(originator), n + 1, b"%d" % n)
            for n in range(size)]
    models = build_read_models(settings, tracker)
    try:
        tree = models.tree
        for start in range(0, size, 10_000):
            notes = [Notification(originator_id=originator, originator_version=v, topic=t,
                                  state=state, id=p) for p, t, _, v, state in rows[start:start + 10_000]]
            tree.apply_batch(models.feed.wrap(notes), start)
        assert tree.size() == size
        leaves = [rfc9162.leaf(*row) for row in rows]
        root_of = rfc9162.roots(leaves)
        pick = random.Random(5)
        indexes = sorted({0, 15, 16, 65_535, 65_536, size - 1, *(pick.randrange(size) for _ in range(50))})
        root, paths, _ = tree.paths(size, indexes)
        assert root == root_of(size)
        for index in indexes:
            assert rfc9162.verify_inclusion(index, size, rfc9162.sha256(b"\x00" + leaves[index]),
                                            paths[index], root), index
        for first in (1, 17, 4096, 65_537, size - 3):
            proof = tree.paths(size, [], since=first)[2]
            assert rfc9162.verify_consistency(first, size, root_of(first), root, proof), first
        for smaller in (1, 31, 99_999):  # any earlier size's root, from the same stored hashes
            assert tree.root(smaller) == root_of(smaller)
    finally:
        models.close()
