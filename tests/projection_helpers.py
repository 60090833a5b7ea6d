"""Helpers for the read-model tests: the whole content of the views, and raw SQL on the store."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from projections.database import is_postgres, postgres_params, sqlite_path
from projections.readmodels import ReadModels


def dump(models: ReadModels, names: Sequence[str] | None = None) -> dict[str, list[tuple]]:
    """Every row of every table (and SQL view) of the chosen views, sorted: equal dumps mean equal
    read models."""
    content = {}
    for name, view in models.views.items():
        if names and name not in names:
            continue
        for table in (*view.tables, *view.sql_views):
            rows = models.store.fetchall(f"SELECT * FROM {table}")
            content[table] = sorted((tuple(sorted(row.items())) for row in rows), key=repr)
    return content


def public_dump(models: ReadModels) -> dict[str, list[tuple]]:
    """Everything the public pages can read: every `pub_*` table and SQL view, whichever view
    keeps it (the public timeline `pub_history` is the timeline view's)."""
    return {table: rows for table, rows in dump(models).items() if table.startswith("pub_")}


@contextmanager
def raw(url: str) -> Iterator[Any]:
    """A plain DB-API connection to the store, outside the application (to tamper with it)."""
    if is_postgres(url):
        import psycopg

        params = postgres_params(url)
        conn = psycopg.connect(user=params["user"], password=params["password"],
                               host=params["host"], port=params["port"],
                               dbname=params["dbname"], autocommit=True)
        conn.execute(f"SET search_path TO {params['schema'] or 'public'}")
        try:
            yield conn
        finally:
            conn.close()
    else:
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()


class Tamper:
    """Edits the stored events and the ledger table directly with SQL, as an intruder would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pg = is_postgres(url)
        self.id = "notification_id" if self.pg else "rowid"
        # The library names the PostgreSQL table after the application.
        self.events = "tracker_events" if self.pg else "stored_events"

    def sql(self, statement: str) -> str:
        statement = statement.replace("{id}", self.id).replace("stored_events", self.events)
        return statement.replace("?", "%s") if self.pg else statement

    def run(self, *statements: tuple[str, Sequence[Any]]) -> None:
        with raw(self.url) as conn:
            for statement, params in statements:
                conn.execute(self.sql(statement), tuple(params))

    def state(self, position: int) -> bytes:
        with raw(self.url) as conn:
            row = conn.execute(self.sql("SELECT state FROM stored_events WHERE {id}=?"),
                               (position,)).fetchone()
        return bytes(row[0])

    def edit_payload(self, position: int, old: bytes, new: bytes) -> None:
        state = self.state(position)
        assert old in state
        self.run(("UPDATE stored_events SET state=? WHERE {id}=?",
                  (state.replace(old, new), position)))

    def rebind(self, position: int, binder: Any) -> None:
        """Bind the row at this position again, as an intruder holding the binding key could."""
        from projections.binding import inner_state

        with raw(self.url) as conn:
            row = conn.execute(self.sql("SELECT topic, originator_id, originator_version, state "
                                        "FROM stored_events WHERE {id}=?"), (position,)).fetchone()
        oid = str(row[1]) if self.pg else str(uuid.UUID(row[1]))
        state = binder.bind(row[0], oid, row[2], inner_state(bytes(row[3])))
        self.run(("UPDATE stored_events SET state=? WHERE {id}=?", (state, position)))

    def delete(self, position: int) -> None:
        self.run(("DELETE FROM stored_events WHERE {id}=?", (position,)))

    def swap(self, a: int, b: int) -> None:
        self.run(("UPDATE stored_events SET {id}=-1 WHERE {id}=?", (a,)),
                 ("UPDATE stored_events SET {id}=? WHERE {id}=?", (a, b)),
                 ("UPDATE stored_events SET {id}=? WHERE {id}=-1", (b,)))

    def insert_copy(self, position: int, of: int, originator_id: Any) -> None:
        """Move the events from `position` on one place later, and put a copy of event `of`
        (as the first event of another aggregate) at `position`."""
        with raw(self.url) as conn:
            row = conn.execute(self.sql("SELECT topic, state FROM stored_events WHERE {id}=?"),
                               (of,)).fetchone()
        oid = originator_id if self.pg else originator_id.hex
        self.run(("UPDATE stored_events SET {id}=-{id} WHERE {id}>=?", (position,)),
                 ("UPDATE stored_events SET {id}=1-{id} WHERE {id}<0", ()),
                 ("INSERT INTO stored_events (originator_id, originator_version, topic, state, {id})"
                  " VALUES (?,?,?,?,?)", (oid, 1, row[0], bytes(row[1]), position)))

    def rewrite_ledger(self, models: ReadModels) -> None:
        """Recompute the ledger table from the (tampered) events, as a thorough intruder would."""
        from projections.ledger import GENESIS, chain

        previous, rows, after = GENESIS, [], 0
        while notes := models.app.recorder.select_notifications(after, 500,
                                                                inclusive_of_start=False):
            for note in notes:
                previous = chain(previous, note)
                rows.append((note.id, previous.hex()))
            after = notes[-1].id
        self.run(("DELETE FROM rm_ledger", ()),
                 *[("INSERT INTO rm_ledger VALUES (?,?)", row) for row in rows])
