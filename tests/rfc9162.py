"""An RFC 9162 verifier written for the tests from the RFC's text, apart from the project's code.

`mth` is the definition of §2.1.1; `verify_inclusion` the steps of §2.1.3.2 and
`verify_consistency` those of §2.1.4.2, numbered as there. `leaf` builds a tracker leaf from a
stored row as the README describes it, so the tests also check the project's leaf format.
"""

from __future__ import annotations

import hashlib
from functools import cache


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def roots(leaves: list[bytes]):
    """MTH(D[0:m]) as a function of m, by §2.1.1: MTH({}) = SHA-256(); MTH({d0}) =
    SHA-256(0x00 || d0); else, k the largest power of two below n,
    SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])). Subtrees are hashed once (big trees)."""

    @cache
    def of(lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return sha256(b"")
        if n == 1:
            return sha256(b"\x00" + leaves[lo])
        k = 1
        while k * 2 < n:
            k *= 2
        return sha256(b"\x01" + of(lo, lo + k) + of(lo + k, hi))

    return lambda m: of(0, m)


def mth(leaves: list[bytes]) -> bytes:
    return roots(leaves)(len(leaves))


def verify_inclusion(leaf_index: int, tree_size: int, hash_: bytes, inclusion_path: list[bytes],
                     root_hash: bytes) -> bool:
    """§2.1.3.2, with `hash_` the leaf hash SHA-256(0x00 || leaf)."""
    # 1. leaf_index >= tree_size: fail.
    if leaf_index >= tree_size:
        return False
    # 2.
    fn, sn = leaf_index, tree_size - 1
    # 3.
    r = hash_
    # 4.
    for p in inclusion_path:
        # a.
        if sn == 0:
            return False
        # b.
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        # c.
        fn >>= 1
        sn >>= 1
    # 5.
    return sn == 0 and r == root_hash


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                       consistency_path: list[bytes]) -> bool:
    """§2.1.4.2."""
    path = list(consistency_path)
    # 1.
    if not path:
        return False
    # 2.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        # a.
        if sn == 0:
            return False
        # b.
        if fn & 1 or fn == sn:
            fr = sha256(b"\x01" + c + fr)
            sr = sha256(b"\x01" + c + sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = sha256(b"\x01" + sr + c)
        # c.
        fn >>= 1
        sn >>= 1
    # 7.
    return fr == first_hash and sr == second_hash and sn == 0


def leaf(position: int, topic: str, originator_id: str, version: int, state: bytes) -> bytes:
    """A tracker leaf as the README defines it."""
    def u64(n: int) -> bytes:
        return n.to_bytes(8, "big")

    return (u64(position) + u64(len(topic.encode())) + topic.encode()
            + u64(len(originator_id.encode())) + originator_id.encode() + u64(version)
            + sha256(state))
