"""The production password hashing: argon2id, never below OWASP's minimum (m = 19 MiB, t = 2,
p = 1), and hashes made with earlier parameters still verify. (Other tests swap in a cheaper
hasher; this one reads the production parameters themselves.)"""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from argon2.low_level import Type

from tracker import application


def test_passwords_are_hashed_with_argon2id_at_owasp_s_minimum_or_above():
    hasher = PasswordHasher(**application.PASSWORD_HASHING)
    made = extract_parameters(hasher.hash("a correct horse battery"))
    assert made.type is Type.ID
    assert made.memory_cost >= 19 * 1024 and made.time_cost >= 2 and made.parallelism >= 1
    assert made.salt_len >= 16 and made.hash_len >= 32


def test_a_hash_made_with_the_library_s_defaults_still_verifies(monkeypatch):
    older = PasswordHasher().hash("a correct horse battery")  # m = 64 MiB, t = 3, p = 4
    monkeypatch.setattr(application, "_hasher", PasswordHasher(**application.PASSWORD_HASHING))
    assert application.password_matches(older, "a correct horse battery")
    assert not application.password_matches(older, "a wrong horse battery")
