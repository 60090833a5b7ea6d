"""Sessions and sign-in failures kept in the tracker's own database, shared by every server process.

A session is a row keyed by the SHA-256 of its random id (the cookie carries the id itself, signed;
a copy of the table gives nobody a session). It holds the account, the account's session epoch when
it started (see `domain.account`), a little data (language, a one-time confirmation, a sign-in
waiting for its second factor) and two times: when it started and when it was last seen. A session
idle longer than `idle` seconds, or older than `lifetime`, is over. Logging out deletes the row, so
every copy of the cookie stops working at once, on every server.

Sign-in failures are rows (what was tried: an account name or an address, and when), counted by
every process alike, so N workers allow no more attempts than one.

With an encryption key, a session's data is sealed and a failure's name is kept as a keyed hash
(`projections.sealing`): the table shows neither what a session holds nor who was tried.

These tables are state, not records: they are not in the event log, not exported and not
rebuilt. The events say who signed in and who changed what.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from projections.store import Store

TABLES = {
    "web_sessions": "id TEXT PRIMARY KEY, account_id TEXT, epoch INTEGER, data TEXT, "
                    "created_at DOUBLE PRECISION, seen_at DOUBLE PRECISION",
    "login_failures": "name TEXT, failed_at DOUBLE PRECISION",
}
INDEXES = ("ix_web_sessions_seen ON web_sessions(seen_at)",
           "ix_web_sessions_account ON web_sessions(account_id)",
           "ix_login_failures_name ON login_failures(name, failed_at)",
           "ix_login_failures_time ON login_failures(failed_at)")
# How often a session's last-seen time is written: not on every request (a write each time would
# cost more than the request), so an idle limit is kept to within this many seconds.
TOUCH_EVERY = 60.0


def session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class SessionRecord:
    account_id: str | None
    epoch: int | None
    data: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    seen_at: float = 0.0


class SessionStore:
    """The sessions and sign-in failures of one tracker, in the read models' database."""

    def __init__(self, store: Store, *, idle: float, lifetime: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.idle = idle
        self.lifetime = lifetime
        self.clock = clock
        store.ensure_tables(TABLES, INDEXES)

    def _write(self, statement: str, params: Sequence[Any]) -> int:
        with self.store.transaction(commit=True) as cursor:
            cursor.execute(self.store.sql(statement), tuple(params))
            # (the library's SQLite cursor wraps the sqlite3 one, which counts)
            return getattr(getattr(cursor, "sqlite_cursor", cursor), "rowcount", 0)

    # --- sessions ------------------------------------------------------------------------------

    def load(self, session_id: str) -> SessionRecord | None:
        """The live session with this id (None: unknown, or over, and then deleted). Its last-seen
        time moves on when it is older than TOUCH_EVERY."""
        key = session_key(session_id)
        row = self.store.fetchone("SELECT * FROM web_sessions WHERE id=?", (key,))
        if row is None:
            return None
        now = self.clock()
        if now - row["seen_at"] > self.idle or now - row["created_at"] > self.lifetime:
            self._write("DELETE FROM web_sessions WHERE id=?", (key,))
            return None
        if now - row["seen_at"] >= min(TOUCH_EVERY, self.idle / 10):
            self._write("UPDATE web_sessions SET seen_at=? WHERE id=?", (now, key))
        return SessionRecord(account_id=row["account_id"], epoch=row["epoch"],
                             data=json.loads(row["data"] or "{}"), created_at=row["created_at"],
                             seen_at=now)

    def save(self, session_id: str, data: dict[str, Any], created_at: float | None = None) -> None:
        """Write the session (a new one, or new data for one that exists)."""
        now = self.clock()
        account_id = data.get("account_id")
        epoch = data.get("epoch")
        rest = {k: v for k, v in data.items() if k not in ("account_id", "epoch")}
        self._write("INSERT INTO web_sessions (id, account_id, epoch, data, created_at, seen_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "account_id=excluded.account_id, epoch=excluded.epoch, data=excluded.data, "
                    "seen_at=excluded.seen_at",
                    (session_key(session_id), account_id, epoch,
                     self.store.sealer.seal(json.dumps(rest)),
                     created_at or now, now))

    def delete(self, session_id: str) -> None:
        self._write("DELETE FROM web_sessions WHERE id=?", (session_key(session_id),))

    def end_for_account(self, account_id: str, keep: str | None = None) -> int:
        """Delete the account's sessions (but `keep`'s); the epoch already refuses them, this
        only tidies the table. Answers how many were deleted."""
        return self._write("DELETE FROM web_sessions WHERE account_id=? AND id<>?",
                           (account_id, session_key(keep) if keep else ""))

    def purge(self) -> int:
        """Delete every session that is over."""
        now = self.clock()
        return self._write("DELETE FROM web_sessions WHERE seen_at<? OR created_at<?",
                           (now - self.idle, now - self.lifetime))

    def count_for(self, account_id: str) -> int:
        now = self.clock()
        row = self.store.fetchone("SELECT COUNT(*) AS n FROM web_sessions WHERE account_id=? "
                                  "AND seen_at>=? AND created_at>=?",
                                  (account_id, now - self.idle, now - self.lifetime))
        return int(row["n"]) if row else 0

    # --- sign-in failures ------------------------------------------------------------------------

    def failures_since(self, names: Sequence[str], since: float) -> dict[str, list[float]]:
        """The times of each name's failures since then, oldest first."""
        stored = {self.store.sealer.blind(name): name for name in names}
        marks = ",".join("?" * len(stored))
        rows = self.store.fetchall(f"SELECT name, failed_at FROM login_failures WHERE name IN "  # noqa: S608
                                   f"({marks}) AND failed_at>=? ORDER BY failed_at",
                                   (*stored, since))
        found: dict[str, list[float]] = {name: [] for name in names}
        for row in rows:
            found[stored[row["name"]]].append(float(row["failed_at"]))
        return found

    def add_failure(self, names: Sequence[str], horizon: float) -> None:
        """One failure for each name now; failures older than `horizon` seconds are forgotten."""
        now = self.clock()
        with self.store.transaction(commit=True) as cursor:
            cursor.execute(self.store.sql("DELETE FROM login_failures WHERE failed_at<?"),
                           (now - horizon,))
            for name in names:
                cursor.execute(self.store.sql("INSERT INTO login_failures VALUES (?, ?)"),
                               (self.store.sealer.blind(name), now))

    def clear_failures(self, name: str) -> None:
        self._write("DELETE FROM login_failures WHERE name=?", (self.store.sealer.blind(name),))

    def failure_names(self) -> int:
        row = self.store.fetchone("SELECT COUNT(DISTINCT name) AS n FROM login_failures")
        return int(row["n"]) if row else 0
