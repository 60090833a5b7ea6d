"""Where the read models live: one tracking recorder class per backend, sharing the view logic.

A view is a `TrackingRecorder` (the library's SQLite or PostgreSQL one) plus a piece of view logic
(`projections.views`): its tables, and how a batch of events changes them. The rows of a batch and
the view's tracking position are written in ONE transaction, which also locks the view's tracking
row first: two processes catching up the same view queue on that lock, and the second one applies
only the events the first did not (so every event is applied exactly once, and a crash mid-batch
rolls back both the rows and the position).

The SQL of the views is written once, with `?` placeholders and unqualified table names; the
PostgreSQL recorder turns `?` into `%s` and sets the schema as the transaction's search path.
Dates are stored as ISO text (`2026-03-01`), times as UTC ISO text with microseconds (so text order
is time order), lists and dicts as JSON text, booleans as 0/1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
)
from psycopg import RawCursor
from psycopg.sql import SQL, Identifier

from projections.database import (
    idempotent_ddl,
    is_postgres,
    postgres_params,
    serialize_writes,
    sqlite_path,
)
from projections.sealing import PLAIN, Plain

_PLACEHOLDER = re.compile(r"\?")
_VALUES = re.compile(r"VALUES \(([?,]+)\)")
_MAX_PARAMETERS = 60_000  # PostgreSQL takes at most 65,535 parameters in one statement
_PLAIN_INSERT = re.compile(r"INSERT INTO (\w+)( \([\w, ]+\))? VALUES \([?,]+\)")
# The key of PostgreSQL's advisory lock that the tracker's own DDL queues on (Store.schema_change).
SCHEMA_LOCK = 0x6A73_6474
_SET_LOCAL = "SET LOCAL search_path TO {}"
_SET_LOCAL_ASYNC = _SET_LOCAL + "; SET LOCAL synchronous_commit TO OFF"
_COPY_FROM = 50  # rows: fewer go as one INSERT (a COPY costs a few round trips more)


def _uuid_text(stored: str) -> str:
    """SQLite keeps a UUID as 32 hex digits: give its canonical text, as str(UUID) would."""
    if len(stored) == 32 and "-" not in stored:
        return f"{stored[:8]}-{stored[8:12]}-{stored[12:16]}-{stored[16:20]}-{stored[20:]}"
    return stored


class Store(TrackingRecorder):
    """What the views and the query side need from a backend (implemented once per database)."""

    tracking_table = "tracking"
    # Seals private values before they are written, opens them in every row read (see
    # projections.sealing); PLAIN without an encryption key.
    sealer: Plain = PLAIN

    @contextmanager
    def transaction(self, commit: bool, durable: bool = True) -> Iterator[Any]:
        """A transaction on the store. `durable=False`: its commit may return before it is on
        disk (a crash may then lose it, rows and position together, never half of it): for the
        views' batches only, which the log gives again. Nothing else (sessions, idempotency keys,
        deliveries) is written so. A later durable commit makes every earlier one durable too."""
        raise NotImplementedError

    @contextmanager
    def schema_change(self) -> Iterator[Any]:
        """A transaction that creates (or drops) tables and indexes. Processes starting at once
        each create the same tables: on PostgreSQL they queue on one lock for the length of the
        transaction (`PostgresStore`), so the next finds the tables there instead of failing on
        a name the first has just taken; SQLite's writers already queue (`WriteLock`)."""
        with self.transaction(commit=True) as cursor:
            yield cursor

    def ensure_tables(self, tables: Mapping[str, str], indexes: Sequence[str] = ()) -> None:
        """Create the tables (name: columns) and indexes ("name ON table (columns)") that are
        not there yet, in one `schema_change`."""
        with self.schema_change() as cursor:
            for table, columns in tables.items():
                cursor.execute(self.sql(f"CREATE TABLE IF NOT EXISTS {table} ({columns})"))
            for index in indexes:
                cursor.execute(self.sql(f"CREATE INDEX IF NOT EXISTS {index}"))

    def sql(self, statement: str) -> str:
        return statement

    def execute_many(self, cursor: Any, statement: str, params: Sequence[Sequence[Any]]) -> None:
        """One statement (with `?` placeholders) for each of the parameter rows."""
        cursor.executemany(self.sql(statement), params)

    # --- generic helpers built on transaction() --------------------------------------------------

    def fetchall(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.transaction(commit=False) as cursor:
            cursor.execute(self.sql(statement), tuple(params))
            return self.sealer.open_rows([dict(row) for row in cursor.fetchall()])

    def fetchone(self, statement: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.fetchall(statement, params)
        return rows[0] if rows else None

    def position_of(self, key: str) -> int:
        """The last position applied under this tracking key (0: nothing yet)."""
        return self.positions_of([key])[key]

    def positions_of(self, keys: Sequence[str]) -> dict[str, int]:
        """The last position applied under each tracking key (0: nothing yet), in one query: the
        catch-up check after every write asks for every view's (one round trip, not six)."""
        rows = self.fetchall(f"SELECT application_name AS k, MAX(notification_id) AS n "
                             f"FROM {self.tracking_table} WHERE application_name IN "
                             f"({','.join('?' * len(keys))}) GROUP BY application_name", keys)
        found = {row["k"]: int(row["n"] or 0) for row in rows}
        return {key: found.get(key, 0) for key in keys}

    def lock_position(self, cursor: Any, key: str) -> int:
        """Inside a writing transaction: take the tracking row's lock, return its position."""
        return self.lock_positions(cursor, [key])[key]

    def lock_positions(self, cursor: Any, keys: Sequence[str]) -> dict[str, int]:
        """Inside a writing transaction: take the lock of every one of these tracking rows, in
        one statement, and return their positions (a row missing is made, at 0: a newer
        version of the view, started by another process, took its place)."""
        found = self._lock_rows(cursor, keys)
        missing = [key for key in keys if key not in found]
        if missing:
            cursor.execute(self.sql(f"INSERT INTO {self.tracking_table} VALUES "
                                    f"{','.join('(?, 0)' for _ in missing)} "
                                    "ON CONFLICT DO NOTHING"), missing)
            found.update(self._lock_rows(cursor, missing))
        return found

    def _lock_rows(self, cursor: Any, keys: Sequence[str]) -> dict[str, int]:
        raise NotImplementedError

    def set_position(self, cursor: Any, key: str, position: int) -> None:
        self.set_positions(cursor, {key: position})

    def set_positions(self, cursor: Any, positions: dict[str, int]) -> None:
        """Inside the transaction that locked them: the new positions of these tracking rows,
        in ONE statement (the views that move together write their positions together)."""
        if not positions:
            return
        cases = " ".join("WHEN ? THEN ?" for _ in positions)
        params: list[Any] = [value for pair in positions.items() for value in pair]
        cursor.execute(self.sql(f"UPDATE {self.tracking_table} SET notification_id="
                                f"CASE application_name {cases} END WHERE application_name IN "
                                f"({','.join('?' * len(positions))})"),
                       (*params, *positions))

    def stored_events(self, table: str, after: int | None, limit: int
                      ) -> list[tuple[int, str, str, int, bytes]]:
        """Raw rows of the event table after a position (None: from the very first row, whatever
        its position, 0 and negative ones too): (position, topic, originator id as canonical UUID
        text, version, state bytes exactly as stored)."""
        raise NotImplementedError


class SQLiteStore(SQLiteTrackingRecorder, Store):
    tracking_table = "tracking"

    def sql(self, statement: str) -> str:
        # SQLite stores 64-bit integers in INTEGER; "INTEGER PRIMARY KEY" is then the rowid itself.
        return statement.replace("BIGINT PRIMARY KEY", "INTEGER PRIMARY KEY")

    @contextmanager
    def transaction(self, commit: bool, durable: bool = True) -> Iterator[Any]:
        # (the read models' connections already commit without an fsync: _ReadModelPool)
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def fetchall(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """One read without BEGIN and ROLLBACK around it: the pool's connections are in
        autocommit mode, where a single SELECT is a transaction of its own (the same snapshot).
        Two statements fewer for each of the dozen queries of a page."""
        with self.datastore.get_connection(commit=False) as connection, connection.cursor() as cursor:
            cursor.execute(self.sql(statement), tuple(params))
            return self.sealer.open_rows([dict(row) for row in cursor.fetchall()])

    def _lock_rows(self, cursor: Any, keys: Sequence[str]) -> dict[str, int]:
        # A write first: it takes SQLite's write lock (the whole database's, so the order of the
        # rows does not matter), and what it returns is then the latest state.
        cursor.execute(f"UPDATE tracking SET notification_id=notification_id "
                       f"WHERE application_name IN ({','.join('?' * len(keys))}) "
                       "RETURNING application_name, notification_id", tuple(keys))
        return {row[0]: int(row[1]) for row in cursor.fetchall()}

    def stored_events(self, table: str, after: int | None, limit: int
                      ) -> list[tuple[int, str, str, int, bytes]]:
        where, params = ("", (limit,)) if after is None else ("WHERE rowid>? ", (after, limit))
        with self.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT rowid, topic, originator_id, originator_version, state "
                           f"FROM {table} {where}ORDER BY rowid LIMIT ?", params)
            return [(row[0], row[1], _uuid_text(row[2]), row[3], row[4])
                    for row in cursor.fetchall()]


class PostgresStore(PostgresTrackingRecorder, Store):
    tracking_table = "notification_tracking"

    def sql(self, statement: str) -> str:
        # PostgreSQL has no CREATE VIEW IF NOT EXISTS; a view's definition never changes within
        # one version of a read model, so replacing it is the same.
        statement = statement.replace("CREATE VIEW IF NOT EXISTS", "CREATE OR REPLACE VIEW")
        return _PLACEHOLDER.sub("%s", statement)

    def execute_many(self, cursor: Any, statement: str, params: Sequence[Sequence[Any]]) -> None:
        """A plain INSERT of many rows (no ON CONFLICT: the timeline, the ledger, the tree's
        nodes, the outbox's events) goes as one COPY, which psycopg's C extension encodes
        several times faster than it binds the parameters of a multi-row INSERT (the client's
        CPU, not PostgreSQL's, was most of a rebuild's writing).

        Any other INSERT goes as multi-row INSERTs (`VALUES (..),(..),..`): psycopg's executemany
        sends, and without its C extension flushes, one query per row, which made writing the
        rows several times slower than computing them. They go through a raw cursor (`$n`
        placeholders) on the same connection: psycopg would otherwise parse the long text for
        its `%s` each time. Other statements go one per row."""
        values = _VALUES.search(statement) if statement.startswith("INSERT") else None
        if values is None or len(params) < 2:
            cursor.executemany(self.sql(statement), params)
            return
        plain = _PLAIN_INSERT.fullmatch(statement) if len(params) >= _COPY_FROM else None
        if plain is not None:
            table, columns = plain.group(1), plain.group(2) or ""
            with cursor.copy(f"COPY {table}{columns} FROM STDIN") as copy:
                write_row = copy.write_row
                for row in params:
                    write_row(row)
            return
        width = values.group(1).count("?")
        head, tail = statement[:values.start()] + "VALUES ", statement[values.end():]
        per = max(1, _MAX_PARAMETERS // width)
        raw = RawCursor(cursor.connection)
        for start in range(0, len(params), per):
            chunk = params[start:start + per]
            groups = ",".join(
                "(" + ",".join(f"${n}" for n in range(first, first + width)) + ")"
                for first in range(1, len(chunk) * width + 1, width))
            raw.execute(head + groups + tail, [value for row in chunk for value in row])

    @contextmanager
    def transaction(self, commit: bool, durable: bool = True) -> Iterator[Any]:
        # Not durable: the commit does not wait for PostgreSQL's write-ahead log to reach the
        # disk (`synchronous_commit`, for this transaction only), set in the same round trip.
        with self.datastore.transaction(commit=commit) as cursor:
            cursor.execute(SQL(_SET_LOCAL if durable else _SET_LOCAL_ASYNC).format(
                Identifier(self.datastore.schema)))
            yield cursor

    @contextmanager
    def schema_change(self) -> Iterator[Any]:
        with self.transaction(commit=True) as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            yield cursor

    def fetchall(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """One read in one round trip: the pool's connections are in autocommit mode, so a single
        SELECT needs no BEGIN, SET LOCAL and ROLLBACK around it (four round trips per query made
        the pages wait on the network more than on PostgreSQL). The schema is set once per
        connection, for the session."""
        with self.datastore.get_connection() as conn:
            if getattr(conn, "_tracker_schema", None) != self.datastore.schema:
                conn.execute(SQL("SET search_path TO {}").format(Identifier(self.datastore.schema)))
                conn._tracker_schema = self.datastore.schema  # type: ignore[attr-defined]
            cursor = conn.cursor()
            cursor.execute(self.sql(statement), tuple(params))
            return self.sealer.open_rows([dict(row) for row in cursor.fetchall()])

    def _lock_rows(self, cursor: Any, keys: Sequence[str]) -> dict[str, int]:
        # In the order of their keys, whoever asks and for whichever views: two processes
        # locking overlapping sets of rows queue, never deadlock (ORDER BY sorts below FOR
        # UPDATE's locking).
        rows = cursor.execute("SELECT application_name, notification_id "
                              "FROM notification_tracking WHERE application_name = ANY(%s) "
                              "ORDER BY application_name FOR UPDATE", (list(keys),)).fetchall()
        return {row["application_name"]: int(row["notification_id"]) for row in rows}

    def stored_events(self, table: str, after: int | None, limit: int
                      ) -> list[tuple[int, str, str, int, bytes]]:
        # One SELECT in autocommit (see fetchall): one round trip instead of four; a proof reads
        # a range of events for each of its blocks (projections.tree).
        where, params = (("", (limit,)) if after is None
                         else ("WHERE notification_id>? ", (after, limit)))
        rows = self.fetchall(f'SELECT notification_id, topic, originator_id::text AS oid, '
                             f'originator_version, state FROM "{table}" {where}'
                             f'ORDER BY notification_id LIMIT ?', params)
        return [(row["notification_id"], row["topic"], row["oid"], row["originator_version"],
                 bytes(row["state"])) for row in rows]


class _ReadModelPool(SQLiteConnectionPool):
    """Connections for the read models only: `synchronous=NORMAL` (WAL mode) skips the fsync at
    each commit. A power cut may then lose the last read-model commits, never corrupt them, and
    since rows and position commit together the lost batches are simply applied again.
    Sealed (an encryption key), deleted rows are also overwritten with zeros (`secure_delete`):
    the public row of a commitment made private leaves no text in the file's free pages."""

    def __init__(self, *args: Any, secure_delete: bool = False, **kwargs: Any) -> None:
        self.secure_delete = secure_delete
        super().__init__(*args, **kwargs)

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
        connection._sqlite_conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: indexes of a big log
        if self.secure_delete:
            connection._sqlite_conn.execute("PRAGMA secure_delete=ON")
        return connection


def open_store(url: str, sealer: Plain = PLAIN) -> Store:
    """The read-model store in the same database (SQLite file or PostgreSQL schema) as the events,
    sealing private values with `sealer` (see projections.sealing)."""
    store: Store
    if is_postgres(url):
        params = postgres_params(url)
        datastore = PostgresDatastore(
            dbname=params["dbname"], host=params["host"], port=params["port"],
            user=params["user"], password=params["password"], schema=params["schema"],
            pool_size=2, max_overflow=6,
        )
        store = PostgresStore(datastore)
    else:
        datastore = SQLiteDatastore(sqlite_path(url))
        datastore.pool.close()
        datastore.pool = _ReadModelPool(db_name=sqlite_path(url), secure_delete=sealer.active)
        serialize_writes(datastore)  # (projections.database.WriteLock)
        store = SQLiteStore(datastore)
    store.sealer = sealer
    idempotent_ddl(store.create_table)
    return store


def close_store(store: Store) -> None:
    store.datastore.close()  # type: ignore[attr-defined]
