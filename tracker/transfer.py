"""Export the whole event log as JSON Lines, and import such a file into an empty store.

First one line per signed checkpoint the store keeps (`tracker checkpoint`), oldest first, then one
line per stored event, in log order:

    {"checkpoint": {"position": 12, "head_hash": "…", "signed_at": "…", "signature": "…",
                    "public_key": "…"}}
    {"position": 17, "originator_id": "…", "originator_version": 3, "topic": "commitment.agreed",
     "state": "<base64 of the stored bytes>", "key_id": "k1", "data": {…}}

`state` holds the stored bytes exactly as the store keeps them (and as the ledger hashes them),
binding included (projections.binding; `key_id` names its key, for people reading the file), so an
import gives back the same log, position for position, and `tracker verify` holds on it. `data` is
the same payload decoded as JSON, for people reading the file; it is written only when the store
keeps plain JSON and is ignored on import. An export refuses a row the tracker did not write (no
binding or a wrong one): run `tracker verify`. The import checks every binding with its own keys
(so the target needs the source's `TRACKER_BINDING_KEYS`), every checkpoint's signature, and that
the log passes through every checkpoint's head hash, before writing anything; it keeps the
checkpoints beside the imported log.
A store with `TRACKER_ENCRYPTION_KEY` set exports its encrypted bytes and no `data`: the file can be
imported only into a store configured with the same key (the import checks this before writing).

An import refuses a store that already holds events, and checks the whole file before writing
anything: a malformed line stops it with the line's number. Events are then inserted in batches
through the library's recorder, in order, all in one transaction: an import that fails or is killed
midway leaves the store empty, ready for the same import again. Where the exported log has gaps in
its positions (a PostgreSQL sequence skips numbers when a write is refused) the gaps are kept, so
every event gets its original position. Snapshots are not part of the log; the import takes fresh
ones for long histories.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.errors import Conflict, InvalidInput
from projections.binding import inner_state, key_id_of
from projections.ledger import GENESIS, LedgerView, checkpoint_error, entry
from tracker.application import MAX_VERSION, Tracker

BATCH = 500
FIELDS = ("position", "originator_id", "originator_version", "topic", "state")
CHECKPOINT_FIELDS = ("position", "head_hash", "signed_at", "signature", "public_key")


def export_log(app: Tracker, path: str | os.PathLike[str],
               checkpoints: Sequence[dict[str, Any]] = (),
               progress: Callable[[int], None] | None = None) -> int:
    """Write the signed checkpoints, then every stored event, to `path` as JSON Lines, in log
    order; return how many events. `progress(n)` hears how many were written, once a batch."""
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    readable = app.mapper.cipher is None and app.mapper.compressor is None
    binder = app.mapper.binder  # type: ignore[attr-defined]
    count = 0
    try:
        with partial.open("w", encoding="utf-8") as out:
            for checkpoint in sorted(checkpoints, key=lambda c: (c["position"], c["signed_at"])):
                kept = {name: checkpoint[name] for name in CHECKPOINT_FIELDS}
                out.write(json.dumps({"checkpoint": kept}, separators=(",", ":")) + "\n")
            position = None
            while True:
                batch = app.recorder.select_notifications(position, BATCH, inclusive_of_start=False)
                unbound = binder.check_notifications(batch)
                if unbound is not None:
                    raise Conflict(f"the event at position {unbound} is not bound by this "
                                   "tracker's keys (written outside the tracker); nothing was "
                                   "exported: run `tracker verify`")
                for notification in batch:
                    state = bytes(notification.state)
                    row: dict[str, Any] = {
                        "position": notification.id,
                        "originator_id": str(notification.originator_id),
                        "originator_version": notification.originator_version,
                        "topic": notification.topic,
                        "state": base64.b64encode(state).decode("ascii"),
                        "key_id": key_id_of(state),
                    }
                    if readable:
                        row["data"] = json.loads(inner_state(state))
                    out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
                    count += 1
                if progress is not None:
                    progress(count)
                if len(batch) < BATCH:
                    break
                position = batch[-1].id
        partial.replace(target)  # a reader never sees half a file under the target's name
    finally:
        partial.unlink(missing_ok=True)
    return count


def import_log(app: Tracker, path: str | os.PathLike[str], ledger: LedgerView | None = None,
               progress: Callable[[int], None] | None = None) -> int:
    """Insert the events of an exported file into this empty store, and its checkpoints into
    `ledger`'s (when given); return how many events. `progress(n)` hears how many were
    inserted, once a batch.

    Raises Conflict when the store already holds events and InvalidInput when the file is malformed;
    in both cases nothing is written.
    """
    _refuse_unless_empty(app.recorder.max_notification_id())
    last_versions, checkpoints = _check_file(app, path)  # the whole file, before writing anything

    count = last = 0
    with app.recorder.datastore.transaction(commit=True) as cursor:
        _refuse_unless_empty(_last_position(app, cursor))  # nobody wrote meanwhile
        for batch in _runs(_read(path)):
            _insert(app, cursor, batch, gap=batch[0][0] != last + 1)
            count += len(batch)
            last = batch[-1][0]
            if progress is not None:
                progress(count)
    if ledger is not None:
        kept = {(c["position"], c["signed_at"], c["signature"]) for c in ledger.checkpoints()}
        for checkpoint in checkpoints:
            if (checkpoint["position"], checkpoint["signed_at"], checkpoint["signature"]) not in kept:
                ledger.record_checkpoint(checkpoint)
    _take_snapshots(app, last_versions)
    return count


# --- reading and checking the file ---------------------------------------------------------------


def _lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; a line that is not a JSON object is refused."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise InvalidInput(f"line {number} of {os.fspath(path)} is not valid JSON; "
                                   "expected one exported event per line") from None
            if not isinstance(row, dict):
                raise InvalidInput(f"line {number} of {os.fspath(path)} is not a JSON object")
            yield number, row


def _parse(number: int, row: dict[str, Any]) -> tuple[int, StoredEvent]:
    missing = [name for name in FIELDS if name not in row]
    if missing:
        raise InvalidInput(f"line {number} lacks {', '.join(missing)}")
    position, version = row["position"], row["originator_version"]
    for name, value in (("position", position), ("originator_version", version)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInput(f"line {number}: {name} must be a whole number from 1")
        if value > MAX_VERSION:  # a signed 64-bit column in both stores
            raise InvalidInput(f"line {number}: {name} {value} is larger than a store holds "
                               f"({MAX_VERSION})")
    try:
        originator_id = UUID(str(row["originator_id"]))
    except ValueError:
        raise InvalidInput(f"line {number}: originator_id is not a UUID") from None
    topic = row["topic"]
    if not isinstance(topic, str) or not topic:
        raise InvalidInput(f"line {number}: topic must be a non-empty string")
    try:
        state = base64.b64decode(str(row["state"]), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"line {number}: state is not base64") from None
    return position, StoredEvent(originator_id=originator_id, originator_version=version,
                                 topic=topic, state=state)


def _read(path: str | os.PathLike[str]) -> Iterator[tuple[int, StoredEvent]]:
    for number, row in _lines(path):
        if "checkpoint" not in row:
            yield _parse(number, row)


def _parse_checkpoint(number: int, row: dict[str, Any]) -> dict[str, Any]:
    checkpoint = row["checkpoint"]
    if not isinstance(checkpoint, dict) or any(name not in checkpoint
                                               for name in CHECKPOINT_FIELDS):
        raise InvalidInput(f"line {number}: a checkpoint has {', '.join(CHECKPOINT_FIELDS)}")
    error = checkpoint_error(checkpoint)
    if error:
        raise InvalidInput(f"line {number}: {error}")
    checkpoint = {name: checkpoint[name] for name in CHECKPOINT_FIELDS}
    checkpoint["position"] = int(checkpoint["position"])
    return checkpoint


def _check_file(app: Tracker, path: str | os.PathLike[str]
                ) -> tuple[dict[UUID, int], list[dict[str, Any]]]:
    """Check every line; return each aggregate's last version and the checkpoints. Raises
    InvalidInput on the first fault: a malformed line, an event this store cannot read (its
    binding included), a checkpoint whose signature does not hold or whose head hash the log
    does not pass through."""
    last_position = 0
    last_versions: dict[UUID, int] = {}
    checkpoints: list[dict[str, Any]] = []
    expected: dict[int, list[tuple[int, str]]] = {}  # position -> (line, head hash)
    chained = GENESIS
    for number, row in _lines(path):
        if "checkpoint" in row:
            if last_position:
                raise InvalidInput(f"line {number}: the checkpoints come before the events")
            checkpoint = _parse_checkpoint(number, row)
            checkpoints.append(checkpoint)
            if checkpoint["position"]:
                expected.setdefault(checkpoint["position"], []).append(
                    (number, checkpoint["head_hash"]))
            continue
        position, stored = _parse(number, row)
        if position <= last_position:
            raise InvalidInput(f"line {number}: positions must increase "
                               f"({position} follows {last_position})")
        previous = last_versions.get(stored.originator_id, 0)
        if stored.originator_version != previous + 1:
            raise InvalidInput(f"line {number}: version {stored.originator_version} of "
                               f"{stored.originator_id} follows version {previous}")
        try:
            app.mapper.to_domain_event(stored)
        except Exception as error:  # any failure to decode means the file does not fit this store
            raise InvalidInput(
                f"line {number}: this tracker cannot read the event ({type(error).__name__}); "
                "was it exported from a store with another TRACKER_ENCRYPTION_KEY or "
                "TRACKER_BINDING_KEYS?") from None
        chained = entry(chained, stored.topic, str(stored.originator_id),
                        stored.originator_version, stored.state)
        while expected and (at := min(expected)) <= position:
            for line, head_hash in expected.pop(at):
                if at != position or head_hash != chained.hex():
                    raise InvalidInput(f"line {line}: the log in this file does not pass "
                                       f"through the checkpoint at position {at}")
        last_position = position
        last_versions[stored.originator_id] = stored.originator_version
    if expected:
        line = min(line for pairs in expected.values() for line, _ in pairs)
        raise InvalidInput(f"line {line}: the checkpoint's position is beyond the log's end "
                           f"({last_position})")
    return last_versions, checkpoints


# --- writing -----------------------------------------------------------------------------------


def _is_postgres(app: Tracker) -> bool:
    return hasattr(app.recorder.datastore, "schema")


def _refuse_unless_empty(last_position: int | None) -> None:
    if last_position:
        raise Conflict(f"the store is not empty (its log reaches position {last_position}); "
                       "import only into an empty store")


def _last_position(app: Tracker, cursor: Any) -> int | None:
    """The log's last position, read in the import's transaction with the log locked for writes."""
    recorder: Any = app.recorder
    if _is_postgres(app):
        recorder._lock_table(cursor)  # the lock every writer of the log takes first
        cursor.execute(recorder.max_notification_id_statement)
        return cursor.fetchone()["max"]
    # The transaction holds SQLite's write lock already.
    cursor.execute(f"SELECT MAX(rowid) FROM {recorder.events_table_name}")  # noqa: S608 (the recorder's own table name)
    return cursor.fetchone()[0]


def _runs(events: Iterator[tuple[int, StoredEvent]]) -> Iterator[list[tuple[int, StoredEvent]]]:
    """Batches of at most BATCH events with consecutive positions."""
    batch: list[tuple[int, StoredEvent]] = []
    for position, stored in events:
        if batch and (position != batch[-1][0] + 1 or len(batch) >= BATCH):
            yield batch
            batch = []
        batch.append((position, stored))
    if batch:
        yield batch


def _insert(app: Tracker, cursor: Any, batch: list[tuple[int, StoredEvent]], *, gap: bool) -> None:
    """Insert a run of consecutive positions in the import's transaction, the first one at its
    exported position; `gap`: the log skipped numbers before it, which stay free."""
    recorder: Any = app.recorder
    table = recorder.events_table_name
    first = batch[0][0]
    events = [stored for _, stored in batch]
    if _is_postgres(app):
        # The sequence gives `first` next. (Moving a sequence is not undone by a rollback; it
        # need not be: every batch sets it.)
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s, false)",
                       (f'"{recorder.datastore.schema}"."{table}"', first))
        recorder._insert_stored_events(cursor, events)
        ids = recorder._fetch_ids_after_insert_events(cursor, events)
    elif not gap:
        ids = recorder._insert_events(cursor, events)
    else:
        # SQLite numbers a row max(rowid) + 1: a placeholder row just before the batch, removed
        # at once, makes its first event land on its exported position.
        # The table name is the recorder's own, not input.
        placeholder = (f"INSERT INTO {table} (rowid, originator_id, originator_version, topic, "  # noqa: S608
                       "state) VALUES (?, 'import-gap', 0, '', x'')")
        cursor.execute(placeholder, (first - 1,))
        ids = recorder._insert_events(cursor, events)
        cursor.execute(f"DELETE FROM {table} WHERE rowid = ?", (first - 1,))  # noqa: S608
    wanted = [position for position, _ in batch]
    if list(ids) != wanted:
        raise InvalidInput(f"the store gave positions {ids[0]}..{ids[-1]} to the events exported "
                           f"at {wanted[0]}..{wanted[-1]}; import into a new, empty store")


def _take_snapshots(app: Tracker, last_versions: dict[UUID, int]) -> None:
    """Snapshots are not exported: take one for every long history, so loading stays fast."""
    if app.snapshots is None or not app.snapshotting_intervals:
        return
    shortest = min(app.snapshotting_intervals.values())
    for originator_id, version in last_versions.items():
        if version >= shortest:
            app.take_snapshot(originator_id)
