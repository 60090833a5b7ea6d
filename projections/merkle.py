"""The Merkle tree of RFC 9162 §2.1 (Certificate Transparency), as pure functions.

    MTH({})      = SHA-256()
    MTH({d(0)})  = SHA-256(0x00 || d(0))                                  (a leaf hash)
    MTH(D[n])    = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))            (a node hash)

where k is the largest power of two smaller than n. Every range the RFC's recursion splits a tree
into, [lo, hi), starts at a multiple of the largest power of two not above its size, so it is a
row of *complete* subtrees of decreasing size (`subtrees`), whose hashes fold from the right into
its MTH (`fold`). A stored tree therefore keeps hashes of complete subtrees (`Frontier` makes
them as leaves are appended) and answers any root, inclusion proof (§2.1.3) or consistency proof
(§2.1.4) from a few of them: `inclusion_ranges` and `consistency_ranges` say which ranges a proof
is made of, so what to fetch is known before anything is fetched.

A complete subtree is named by (level, index): the 2**level leaves from index * 2**level on.
`node_key` turns it into one integer that grows in the order nodes are made (so a table keyed by
it is only ever appended to): the last leaf it covers, times 64, plus its level.

Verification (`verify_inclusion`, `verify_consistency`) walks the same recursion as the proofs are
made by; tests check every proof with the RFC's own step-by-step verifiers, written apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

_sha256 = hashlib.sha256
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_LEVEL = 63  # node_key keeps the level in 6 bits


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(size: int) -> int:
    """The largest power of two smaller than `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def node_key(level: int, index: int) -> int:
    """One integer for the complete subtree (level, index), growing in the order nodes are made."""
    return ((((index + 1) << level) - 1) << 6) | level


def subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """The complete subtrees, largest first, that make up the range [lo, hi) of a tree's leaves;
    `lo` must be a multiple of the largest power of two not above hi - lo (as every range of the
    RFC's recursion is)."""
    found = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo % (1 << level):
            raise ValueError(f"[{lo}, {hi}) is not a range of the tree's recursion")
        found.append((level, lo >> level))
        lo += 1 << level
    return found


def fold(hashes: Sequence[bytes]) -> bytes:
    """The MTH of a range from the hashes of its complete subtrees (largest first)."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, computed from scratch (small trees; tests)."""
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    # Pairing neighbours level by level and carrying an odd last node up gives the RFC's tree.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose MTHs make the audit path of leaf `index` in a tree of `size` leaves
    (RFC 9162 §2.1.3.1), leaf to root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose MTHs make the consistency proof from a tree of `first` leaves to one of
    `second` (RFC 9162 §2.1.4.1, SUBPROOF), 0 < first < second."""
    if not 0 < first < second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves (0 < first < second)")
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:  # the old tree's last subtree, unless it is the old tree itself
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def range_hash(lo: int, hi: int, subtree: Callable[[int, int], bytes]) -> bytes:
    """MTH(D[lo:hi]) from the hashes of its complete subtrees (`subtree(level, index)`)."""
    return fold([subtree(level, index) for level, index in subtrees(lo, hi)])


# --- verification ----------------------------------------------------------------------------------

def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes],
                     expected_root: bytes) -> bool:
    """True when `path` proves that the leaf hash `leaf` is leaf `index` of the tree of `size`
    leaves whose root is `expected_root`."""
    if not 0 <= index < size:
        return False
    steps = iter(path)

    def climb(i: int, n: int) -> bytes | None:
        # MTH of the n-leaf subtree holding leaf i, from the leaf and the path's next entries.
        if n == 1:
            return leaf
        k = split(n)
        below = climb(i, k) if i < k else climb(i - k, n - k)
        sibling = next(steps, None)
        if below is None or sibling is None:
            return None
        return node_hash(below, sibling) if i < k else node_hash(sibling, below)

    found = climb(index, size)
    return found is not None and next(steps, None) is None and found == expected_root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """True when `proof` shows that the tree of `second` leaves with root `second_root` extends
    the tree of `first` leaves with root `first_root` (0 < first <= second; equal sizes need an
    empty proof and equal roots)."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second:
        return False
    steps = iter(proof)

    def walk(m: int, n: int, whole: bool) -> tuple[bytes, bytes] | None:
        # (old MTH, new MTH) of an n-leaf subtree whose first m leaves were in the old tree.
        if m == n:
            if whole:
                return first_root, first_root
            known = next(steps, None)
            return None if known is None else (known, known)
        k = split(n)
        if m <= k:
            below = walk(m, k, whole)
            sibling = next(steps, None)
            if below is None or sibling is None:
                return None
            return below[0], node_hash(below[1], sibling)
        below = walk(m - k, n - k, False)
        sibling = next(steps, None)
        if below is None or sibling is None:
            return None
        return node_hash(sibling, below[0]), node_hash(sibling, below[1])

    found = walk(first, second, True)
    return (found is not None and next(steps, None) is None
            and found[0] == first_root and found[1] == second_root)


# --- building a tree leaf by leaf ------------------------------------------------------------------

class Frontier:
    """The right edge of a growing tree: the hash of each complete subtree of `subtrees(0, size)`.
    Appending a leaf makes its own node and every subtree it completes."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        levels = [level for level, _ in subtrees(0, size)]
        if len(levels) != len(hashes):
            raise ValueError(f"a tree of {size} leaves has {len(levels)} frontier subtrees")
        self.size = size
        self._stack: list[tuple[int, bytes]] = list(zip(levels, hashes, strict=True))

    @staticmethod
    def keys(size: int) -> list[int]:
        """The node keys of the frontier of a tree of `size` leaves, largest subtree first."""
        return [node_key(level, index) for level, index in subtrees(0, size)]

    def append(self, leaf: bytes, made: list[tuple[int, bytes]]) -> None:
        """Add one leaf hash; adds (node key, hash) of every node it makes to `made`, the leaf's
        first. (Every node it completes ends with this leaf: its key is this leaf's, times 64,
        plus its level.)"""
        index = self.size
        stack = self._stack
        level, current = 0, leaf
        key = index << 6
        made.append((key, current))
        while stack and stack[-1][0] == level:
            current = _sha256(NODE_PREFIX + stack.pop()[1] + current).digest()
            level += 1
            made.append((key | level, current))
        stack.append((level, current))
        self.size = index + 1

    def root(self) -> bytes:
        return fold([h for _, h in self._stack])
