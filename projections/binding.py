"""Bindings: every stored event carries an HMAC, made when the tracker writes it, by a key the
database does not hold. The hash chain (projections.ledger) proves the order of the log; the
binding proves that the tracker wrote each row: a row someone writes into the events table
with SQL has none (or a wrong one), and the tracker neither loads it, nor adopts it into its
read models, nor exports it, and `tracker verify` names it.

The stored state of an event is an envelope around the bytes the library would store (its
JSON, compressed and encrypted when so configured):

    b"B1" || u8(len(key id)) || key id (ASCII) || mac (32 bytes) || inner bytes

    mac = HMAC-SHA256(key, b"jsd-tracker-binding-1\\n" || field(key id) || field(topic)
                           || field(originator id) || u64(version) || field(inner bytes))

with `field(x)` the 8-byte big-endian length of x and x, the originator id its canonical UUID
text, the version an 8-byte big-endian unsigned integer. So the MAC covers the event's identity
(which aggregate, which version, which kind of event) as well as its content: a bound row copied
under another id, version or topic does not verify. The library's own tables stay as they are.

Keys come from `TRACKER_BINDING_KEYS`: `ID:KEY,ID:KEY,...`; the first signs new events, every
one listed verifies the events that name it (rotation: put the new key first and keep the old
ones). Snapshots go through the same mapper and are bound the same way.
"""

from __future__ import annotations

import hmac
import re
import secrets
import struct
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent

from projections.database import ConfigurationError

MAGIC = b"B1"
_DOMAIN = b"jsd-tracker-binding-1\n"
_U64 = struct.Struct(">Q")
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
MIN_KEY = 16  # characters of a key, at least
MAC_SIZE = 32
VERIFIED_CACHE = 50_000  # rows whose checked bytes are kept (a few hundred bytes each)


class UnboundEvent(ValueError):
    """A stored row the tracker did not write (no binding, an unknown key id, or a MAC that does
    not match): it is not loaded, not adopted into the read models and not exported."""


def _field(data: bytes) -> bytes:
    return _U64.pack(len(data)) + data


def new_keys_text() -> str:
    """A fresh key list for a new store: one key, id `k1`, 256 random bits."""
    return f"k1:{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class Binder:
    """Makes and checks bindings with the configured keys (the first one signs)."""

    keys: dict[str, bytes]
    current: str
    # (an OrderedDict: dropping a plain dict's first key again and again makes `next(iter())`
    # walk the ever longer run of deleted slots before it, a fifth of a rebuild's time)
    _verified: OrderedDict[tuple[Any, int, str], bytes] = field(
        default_factory=OrderedDict, compare=False, repr=False)

    @classmethod
    def from_text(cls, text: str) -> Binder:
        """Parse `ID:KEY,ID:KEY,...` (the first signs); a malformed list is refused, naming the
        entry (never the key)."""
        keys: dict[str, bytes] = {}
        for number, part in enumerate((p.strip() for p in text.split(",")), start=1):
            if not part:
                continue
            key_id, colon, key = part.partition(":")
            if not colon or not _KEY_ID.fullmatch(key_id):
                raise ConfigurationError(
                    f"TRACKER_BINDING_KEYS: entry {number} must be ID:KEY, the id made of "
                    "letters, digits, '.', '_' or '-' (at most 32)")
            if len(key) < MIN_KEY:
                raise ConfigurationError(f"TRACKER_BINDING_KEYS: the key {key_id!r} is shorter "
                                         f"than {MIN_KEY} characters")
            if key_id in keys:
                raise ConfigurationError(f"TRACKER_BINDING_KEYS: the key id {key_id!r} is "
                                         "listed twice")
            keys[key_id] = key.encode()
        if not keys:
            raise ConfigurationError("TRACKER_BINDING_KEYS is empty: give at least one ID:KEY")
        return cls(keys, next(iter(keys)))

    def mac(self, key_id: str, topic: str, originator_id: str, version: int,
            inner: bytes) -> bytes:
        message = b"".join((_DOMAIN, _field(key_id.encode()), _field(topic.encode()),
                            _field(originator_id.encode()), _U64.pack(version), _field(inner)))
        return hmac.digest(self.keys[key_id], message, "sha256")

    def bind(self, topic: str, originator_id: str, version: int, inner: bytes) -> bytes:
        """The stored bytes: the envelope around `inner`, bound with the current key."""
        key_id = self.current
        return b"".join((MAGIC, bytes((len(key_id),)), key_id.encode(),
                         self.mac(key_id, topic, originator_id, version, inner), inner))

    def _keep(self, identity: tuple[Any, int, str], state: bytes) -> None:
        cache = self._verified
        cache[identity] = state
        if len(cache) > VERIFIED_CACHE:
            with suppress(KeyError):  # (another thread emptied it)
                cache.popitem(last=False)

    def problem(self, topic: str, originator_id: str, version: int, state: bytes
                ) -> str | None:
        """Why this stored row is not bound by the tracker, or None when it is."""
        state = bytes(state)  # (PostgreSQL may give a memoryview)
        if state[:2] != MAGIC or len(state) < 3:
            return "it carries no binding"
        size = state[2]
        key_id = state[3:3 + size].decode("ascii", "replace")
        mac = state[3 + size:3 + size + MAC_SIZE]
        if len(mac) < MAC_SIZE:
            return "its binding is cut short"
        if key_id not in self.keys:
            return f"its binding names the key id {key_id!r}, which is not configured"
        if not 0 <= version < 2**64:
            return "its version is out of range"
        expected = self.mac(key_id, topic, originator_id, version, state[3 + size + MAC_SIZE:])
        if not hmac.compare_digest(mac, expected):
            return f"its binding (key {key_id!r}) does not match its content and identity"
        return None

    def _checked(self, topic: str, originator_id: Any, version: int, state: bytes,
                 keep: bool = True) -> str | None:
        """`problem`, for rows read again and again (a commitment's events after its snapshot,
        at every command): the exact bytes found bound under an identity are kept
        (VERIFIED_CACHE rows), and bytes equal to them need no second MAC. `originator_id` as
        the store gives it (a UUID): its text is made only when the MAC is computed."""
        identity = (originator_id, version, topic)
        if self._verified.get(identity) == state:
            return None
        problem = self.problem(topic, str(originator_id), version, state)
        if problem is None and keep:
            self._keep(identity, state)
        return problem

    def unbind(self, topic: str, originator_id: Any, version: int, state: bytes,
               keep: bool = True) -> bytes:
        """The inner bytes of a bound row; UnboundEvent if it is not bound. `keep=False`: not
        kept as checked (a row read once, by a rebuild: it would push out the rows commands
        read again and again)."""
        if type(state) is not bytes:
            state = bytes(state)
        problem = self._checked(topic, originator_id, version, state, keep)
        if problem:
            raise UnboundEvent(f"the stored event {originator_id} version {version} ({topic}) "
                               f"was not written by this tracker: {problem}")
        return state[3 + state[2] + MAC_SIZE:]

    def check_notifications(self, notifications: Iterable[Any]) -> int | None:
        """The position of the first notification that is not bound, or None."""
        for n in notifications:
            state = n.state if type(n.state) is bytes else bytes(n.state)
            if self._checked(n.topic, n.originator_id, n.originator_version, state):
                return int(n.id)
        return None


def key_id_of(state: bytes) -> str | None:
    """The key id a stored row's binding names (None: no binding)."""
    state = bytes(state)
    if state[:2] != MAGIC or len(state) < 3:
        return None
    return state[3:3 + state[2]].decode("ascii", "replace")


def inner_state(state: bytes) -> bytes:
    """The bytes inside a binding's envelope (unchecked: for showing a row that was checked)."""
    state = bytes(state)
    return state[3 + state[2] + MAC_SIZE:] if state[:2] == MAGIC and len(state) > 2 else state


class _Unwrapped:
    """What the library's mapper reads of a stored event, with the inner bytes (lighter to make
    than a frozen StoredEvent, once per event read)."""

    __slots__ = ("originator_id", "originator_version", "topic", "state")

    def __init__(self, stored: StoredEvent, state: bytes) -> None:
        self.originator_id = stored.originator_id
        self.originator_version = stored.originator_version
        self.topic = stored.topic
        self.state = state


class BindingMapper(Mapper[Any]):
    """The library's mapper, with every stored state bound (writing) and checked (reading)."""

    def __init__(self, base: Mapper[Any], binder: Binder) -> None:
        super().__init__(base.transcoder, compressor=base.compressor, cipher=base.cipher)
        self.binder = binder

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        state = self.binder.bind(stored.topic, str(stored.originator_id),
                                 stored.originator_version, stored.state)
        # Kept as checked under the id as the store gives it back (a UUID): the next command
        # loads the event it just wrote.
        self.binder._keep((stored.originator_id, stored.originator_version, stored.topic), state)
        return StoredEvent(originator_id=stored.originator_id,
                           originator_version=stored.originator_version, topic=stored.topic,
                           state=state)

    def to_domain_event(self, stored_event: StoredEvent, keep: bool = True) -> Any:
        """The domain event of a bound row (UnboundEvent if it is not bound); `keep` as for
        `Binder.unbind`."""
        inner = self.binder.unbind(stored_event.topic, stored_event.originator_id,
                                   stored_event.originator_version, stored_event.state, keep)
        return super().to_domain_event(_Unwrapped(stored_event, inner))  # type: ignore[arg-type]
