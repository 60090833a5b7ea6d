"""The database a tracker keeps everything in, named by one URL: the event store's environment for the
eventsourcing library, and the connection parameters the read models use.

It stands below both the application (`tracker/`) and the read models (`projections/`), so that
neither reaches up to the other for it; it knows nothing of the settings class.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigurationError(ValueError):
    """The configuration cannot be used; the message says what to change."""


def sqlite_path(url: str) -> str:
    """The file path (or shared in-memory URI) named by a sqlite:/// URL."""
    path = url[len("sqlite:///") :]
    if not path:
        raise ConfigurationError("a sqlite:/// URL needs a path, e.g. sqlite:///./var/tracker.db")
    return path


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgresql+psycopg://"))


def postgres_params(url: str) -> dict[str, str]:
    """Connection parameters of a postgresql:// URL (user, password, host, port, dbname, schema)."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    dbname = parts.path.lstrip("/")
    if not dbname:
        raise ConfigurationError("a postgresql:// URL needs a database name: .../DBNAME")
    query = parse_qs(parts.query)
    return {
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "dbname": dbname,
        "schema": query.get("schema", [""])[0],
    }


def event_store_env(url: str, encryption_key: str = "") -> dict[str, str]:
    """The eventsourcing environment (persistence module and its settings) for this database URL,
    with payloads encrypted (AES) when an encryption key is given."""
    env: dict[str, str] = {}
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        if not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=path)
    elif is_postgres(url):
        params = postgres_params(url)
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_DBNAME=params["dbname"],
            POSTGRES_HOST=params["host"],
            POSTGRES_PORT=params["port"],
            POSTGRES_USER=params["user"],
            POSTGRES_PASSWORD=params["password"],
            POSTGRES_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        )
        if params["schema"]:
            env["POSTGRES_SCHEMA"] = params["schema"]
    else:  # the settings validator already refuses other schemes
        raise ConfigurationError(f"unsupported database URL {url!r}")
    if encryption_key:
        env.update(CIPHER_TOPIC="eventsourcing.cryptography:AESCipher", CIPHER_KEY=encryption_key)
    return env


class DatabaseUnavailable(ConfigurationError):
    """The database cannot be used: unreachable, missing, or without the schema named. The message
    names what was tried (never the password) and what to check."""


CONNECT_TIMEOUT = 5  # seconds to wait for a PostgreSQL server that does not answer


def describe(url: str) -> str:
    """The database a URL names, for messages: never its password."""
    if is_postgres(url):
        p = postgres_params(url)
        schema = f", schema {p['schema']}" if p["schema"] else ""
        return f"PostgreSQL database {p['dbname']!r} at {p['host']}:{p['port']} (user {p['user']}{schema})"
    return f"SQLite database {sqlite_path(url)}"


def check_database(url: str) -> None:
    """Fail within a few seconds, with one line that says what and where, when the database
    cannot be reached or used; before anything else opens it."""
    if is_postgres(url):
        import psycopg

        p = postgres_params(url)
        try:
            with psycopg.connect(dbname=p["dbname"], host=p["host"], port=p["port"],
                                 user=p["user"], password=p["password"],
                                 connect_timeout=CONNECT_TIMEOUT) as conn:
                if p["schema"] and conn.execute("SELECT 1 FROM pg_namespace WHERE nspname=%s",
                                                (p["schema"],)).fetchone() is None:
                    raise DatabaseUnavailable(
                        f"{describe(url)}: the schema {p['schema']!r} does not exist "
                        f"(create it with: CREATE SCHEMA {p['schema']})")
        except psycopg.Error as error:
            reason = " ".join(str(error).split())
            if p["password"]:
                reason = reason.replace(p["password"], "***")
            raise DatabaseUnavailable(f"cannot use the {describe(url)}: {reason[:300]}") from None
        return
    path = sqlite_path(url)
    if path.startswith("file:"):
        return
    import sqlite3

    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(target, timeout=CONNECT_TIMEOUT)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except (OSError, sqlite3.Error) as error:
        raise DatabaseUnavailable(f"cannot use the {describe(url)}: {error}") from None


class WriteLock:
    """One writer at a time on a SQLite file, for every thread and process that writes to it.

    SQLite lets one transaction write at a time; the others sleep and try again (its busy
    handler: sleeps of 1 to 100 ms, then "database is locked" after the timeout). Writers that
    take this lock first instead wait in the kernel's queue on a file lock beside the database
    (`fcntl.flock`) and start the moment the writer before them commits: no sleeps, no timeout.
    Threads of one process queue on a lock of their own first (the file lock is the process's).
    Re-entrant: a write begun inside another in the same thread does not wait on itself."""

    def __init__(self, path: str) -> None:
        # A shared in-memory database has no file beside it: its process's threads queue alone.
        self.path = None if path.startswith("file:") else f"{path}-write.lock"
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            self._take(wait=True)
            try:
                yield
            finally:
                self._give_back()

    @contextmanager
    def held_if_free(self) -> Iterator[bool]:
        """`held` without waiting: True inside when this thread holds it now, False (not held)
        when another thread or process does."""
        if not self._threads.acquire(blocking=False):
            yield False
            return
        try:
            taken = self._take(wait=False)
            try:
                yield taken
            finally:
                if taken:
                    self._give_back()
        finally:
            self._threads.release()

    def _take(self, *, wait: bool) -> bool:
        if self._depth == 0 and self.path is not None:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return False
        self._depth += 1
        return True

    def _give_back(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_write_locks: dict[str, WriteLock] = {}
_write_locks_guard = threading.Lock()


def _forget_write_locks() -> None:
    # A forked process (a `tracker serve --workers N` worker) shares its parent's open files, and
    # with them its file locks: it opens its own.
    global _write_locks_guard
    _write_locks.clear()
    _write_locks_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_write_locks)


def write_lock(path: str) -> WriteLock:
    """The process's one write lock of this SQLite database (every connection pool on it)."""
    key = path if path.startswith("file:") else os.path.realpath(path)
    with _write_locks_guard:
        if key not in _write_locks:
            _write_locks[key] = WriteLock(key)
        return _write_locks[key]


def datastore_write_lock(datastore: Any) -> WriteLock | None:
    """The `WriteLock` of an eventsourcing datastore's database (None: not SQLite)."""
    from eventsourcing.sqlite import SQLiteDatastore

    return write_lock(datastore.pool.db_name) if isinstance(datastore, SQLiteDatastore) else None


def serialize_writes(datastore: Any) -> None:
    """Make every writing transaction of this eventsourcing datastore wait on the database's
    `WriteLock` (SQLite only: PostgreSQL's writers already wait on its row and table locks)."""
    lock = datastore_write_lock(datastore)
    if lock is None:
        return
    transaction = datastore.transaction

    @contextmanager
    def locked_transaction(*, commit: bool) -> Iterator[Any]:
        if not commit:
            with transaction(commit=False) as cursor:
                yield cursor
            return
        with lock.held(), transaction(commit=True) as cursor:
            yield cursor

    datastore.transaction = locked_transaction


def idempotent_ddl(create: Callable[[], Any], attempts: int = 5) -> None:
    """Run `create`, idempotent DDL (CREATE ... IF NOT EXISTS). Processes that start at once race
    on it and PostgreSQL refuses the losers ("tuple concurrently updated"): they simply try again,
    up to `attempts` times."""
    from eventsourcing.persistence import IntegrityError, InternalError, ProgrammingError
    from eventsourcing.utils import retry

    retry((InternalError, IntegrityError, ProgrammingError), max_attempts=attempts, wait=0.2)(
        create)()


def create_tables(*recorders: Any) -> None:
    """Create the recorders' tables (`idempotent_ddl`)."""
    for recorder in recorders:
        idempotent_ddl(recorder.create_table, attempts=10)


class AsyncLogHead:
    """The log's last position on PostgreSQL, asked on the event loop (psycopg's async
    connection) instead of from a thread-pool worker: a read that finds the read models already
    there is then answered without leaving the loop (`web.deps.read_hop`).

    One connection per process, opened on first use and again after a failure. Callers that
    arrive while a query runs share the next query's answer (one started after they arrived,
    so it sees every commit before them), not the running one's. `ask` answers None when the
    database cannot be asked this way; the caller then asks through the event store, whose
    reads retry."""

    def __init__(self, url: str, statement: Any) -> None:
        params = postgres_params(url)
        self._connect = {key: params[key] for key in ("user", "password", "host", "port", "dbname")}
        self._statement = statement  # the event store's own (its schema and table)
        self._connection: Any = None
        self._lock: Any = None
        self._started = 0  # queries started so far
        self._last: tuple[int, int] = (0, 0)  # (which query, its answer)

    async def ask(self) -> int | None:
        import psycopg  # (PostgreSQL only)

        if self._lock is None:
            self._lock = asyncio.Lock()
        arrived = self._started
        async with self._lock:
            if self._last[0] > arrived:  # a query started after this caller arrived
                return self._last[1]
            self._started += 1
            query = self._started
            try:
                if self._connection is None or self._connection.closed:
                    self._connection = await psycopg.AsyncConnection.connect(
                        **self._connect, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
                    if not isinstance(self._statement, str):  # composed once, prepared once
                        self._statement = self._statement.as_string(self._connection)
                cursor = await self._connection.execute(self._statement, prepare=True)
                row = await cursor.fetchone()
            except psycopg.Error:
                await self.close()
                return None
            self._last = (query, (row[0] if row else None) or 0)
            return self._last[1]

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            await connection.close()
