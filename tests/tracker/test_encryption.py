"""Encryption at rest: with TRACKER_ENCRYPTION_KEY set, the stored bytes hold no commitment text.

The raw bytes are read behind the library's back: the SQLite database file and its write-ahead log,
or the PostgreSQL table's `state` column. The same test without a key finds the text, which shows
that the search would see it if it were there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import MapperDeserialisationError

from projections.database import is_postgres, postgres_params, sqlite_path
from tests.factories import make_world, propose
from tracker.application import Tracker
from tracker.bootstrap import build_application
from tracker.settings import Settings

TITLE = "Joint night patrols behind the Zangouettin market"
PRIVATE_NOTE = "Informant lives next to the mill"


def raw_stored_bytes(app: Tracker, settings: Settings) -> bytes:
    """Everything the store holds, as it lies on disk or in the table."""
    if is_postgres(settings.database_url):
        import psycopg
        from psycopg import sql

        params = postgres_params(settings.database_url)
        query = sql.SQL("SELECT state FROM {}.{}").format(
            sql.Identifier(app.recorder.datastore.schema),
            sql.Identifier(app.recorder.events_table_name))
        with psycopg.connect(user=params["user"], password=params["password"],
                             host=params["host"], port=params["port"],
                             dbname=params["dbname"]) as conn:
            rows = conn.execute(query).fetchall()
        assert rows
        return b"".join(bytes(state) for (state,) in rows)
    database = Path(sqlite_path(settings.database_url))
    files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    assert database in files
    return b"".join(p.read_bytes() for p in files)


def record_a_commitment(app: Tracker) -> str:
    world = make_world(app)
    return propose(app, world, title=TITLE, private_note=PRIVATE_NOTE).id


@pytest.fixture
def encrypted_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"encryption_key": AESCipher.create_key(32)})


def test_with_an_encryption_key_the_store_holds_no_plaintext(encrypted_settings):
    app = build_application(encrypted_settings)
    try:
        commitment_id = record_a_commitment(app)
        stored = raw_stored_bytes(app, encrypted_settings)
        assert TITLE.encode() not in stored
        assert PRIVATE_NOTE.encode() not in stored
        assert b"Police nationale" not in stored
        assert b"saaba-police" not in stored
        # The application itself reads it back.
        assert app.commitment(commitment_id).title == TITLE
    finally:
        app.close()

    # So does the next process started with the same key.
    reopened = build_application(encrypted_settings)
    try:
        assert reopened.commitment(commitment_id).private_note == PRIVATE_NOTE
    finally:
        reopened.close()


def test_without_the_key_the_text_is_stored_as_is(settings):
    assert not settings.encryption_key
    app = build_application(settings)
    try:
        record_a_commitment(app)
        stored = raw_stored_bytes(app, settings)
        assert TITLE.encode() in stored
        assert PRIVATE_NOTE.encode() in stored
    finally:
        app.close()


def test_encrypted_events_cannot_be_read_with_another_key(encrypted_settings):
    app = build_application(encrypted_settings)
    try:
        commitment_id = record_a_commitment(app)
    finally:
        app.close()

    other_key = encrypted_settings.model_copy(update={"encryption_key": AESCipher.create_key(32)})
    intruder = build_application(other_key)
    try:
        with pytest.raises(MapperDeserialisationError):
            intruder.commitment(commitment_id)
    finally:
        intruder.close()
