"""Encryption at rest: with TRACKER_ENCRYPTION_KEY set, the stored bytes hold no commitment text.

The raw bytes are read behind the library's back: the SQLite database file and its write-ahead log,
or the PostgreSQL table's `state` column. The same test without a key finds the text, which shows
that the search would see it if it were there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import MapperDeserialisationError

from projections.database import ConfigurationError, is_postgres, postgres_params, sqlite_path
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


# --- the whole database: read models, sessions, sign-in failures, the WAL ---------------------------
# Every private text below is written through the service (and the session store), then the raw
# bytes of the database are searched for it: the SQLite file and its write-ahead log, or a plain
# `pg_dump` of the schema (event payloads appear there as hex, so the hex form is searched too).

SENTINELS = {
    "private_title": "Zqx private title of the informant network",
    "private_description": "Zqx private description of the safe house",
    "private_note": "Zqx private note about the witness",
    "public_private_note": "Zqx private note on a public commitment",
    "action_note": "Zqx note given with an endorsement",
    "reject_reason": "Zqx reason for rejecting the private one",
    "amend_reason": "Zqx reason for amending the private one",
    "case_title": "Zqx case title naming the victim",
    "case_description": "Zqx case description with the address",
    "close_reason": "Zqx reason for closing the case",
    "meeting_summary": "Zqx meeting summary naming the speakers",
    "account_name": "zqx-aminata-ouedraogo",
    "account_email": "zqx.aminata@example.org",
    "token_label": "Zqx token label of the laptop",
    "failed_source": "Zqx source of a failed sign-in",
    "session_data": "Zqx what a session holds",
    "tried_name": "zqx-tried-account-name",
}


def database_bytes(settings: Settings) -> bytes:
    """The database as it lies on disk (SQLite: the file, its WAL and shared memory) or as a plain
    dump of the schema (PostgreSQL)."""
    url = settings.database_url
    if is_postgres(url):
        import os
        import subprocess

        params = postgres_params(url)
        dumped = subprocess.run(
            ["/usr/bin/pg_dump", "-h", params["host"], "-p", params["port"], "-U", params["user"],
             "-n", params["schema"], params["dbname"]],
            capture_output=True, check=True, env={**os.environ, "PGPASSWORD": params["password"]})
        assert b"COPY" in dumped.stdout
        return dumped.stdout
    database = Path(sqlite_path(url))
    files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    assert database in files
    return b"".join(p.read_bytes() for p in files)


def found_in(stored: bytes) -> set[str]:
    """The sentinels the bytes hold, as text or as hex (bytea in a dump)."""
    return {name for name, text in SENTINELS.items()
            if text.encode() in stored or text.encode().hex().encode() in stored}


def write_private_things(app: Tracker, settings: Settings) -> dict[str, str]:
    """Every kind of private text, through the service; the read models and the session store
    caught up and open (SQLite keeps its WAL while they are). Returns the ids the checks need."""
    from datetime import date

    from tracker.application import SYSTEM
    from tracker.bootstrap import build_read_models, build_sessions

    s = SENTINELS
    world = make_world(app)
    police = world.members["police"]
    private = propose(app, world, title="A first title", description=s["private_description"],
                      private_note=s["private_note"], public=False).id
    app.commitment_action(police, private, "amend", {"title": s["private_title"],
                                                     "reason": s["amend_reason"]})
    app.commitment_action(world.members["vigilante"], private, "reject",
                          {"reason": s["reject_reason"]})
    public = propose(app, world, private_note=s["public_private_note"]).id
    app.commitment_action(world.members["vigilante"], public, "endorse", {},
                          note=s["action_note"])
    case = app.raise_case(police, world.slug, title=s["case_title"],
                          description=s["case_description"], category="theft_burglary").id
    app.case_action(police, case, "close", {"reason": s["close_reason"]})
    app.record_meeting(SYSTEM, world.slug, held_on=date(2026, 3, 1), title="Monthly meeting",
                       attendance={}, summary=s["meeting_summary"])
    app.add_account(SYSTEM, name=s["account_name"], role="auditor", password="long enough pass",
                    email=s["account_email"])
    app.create_token(SYSTEM, s["account_name"], label=s["token_label"])
    app.record_failed_login(s["account_name"], s["failed_source"])
    models = build_read_models(settings, app)
    models.catch_up()
    sessions = build_sessions(settings, models)
    sessions.save("a-session-id", {"account_id": "a", "epoch": 0, "flash": s["session_data"]})
    sessions.add_failure([s["tried_name"]], horizon=3600)
    return {"dialogue": world.dialogue_id, "private": private, "public": public, "case": case,
            "models": models, "sessions": sessions}  # type: ignore[dict-item]


def check_members_find_everything(found: dict, today) -> None:
    """The members' filters and text search, the timeline, the accounts, the sessions."""
    s, models, sessions = SENTINELS, found["models"], found["sessions"]
    rows, total = models.commitments(found["dialogue"], today=today, q="INFORMANT network")
    assert [r["id"] for r in rows] == [found["private"]] and total == 1
    assert rows[0]["title"] == s["private_title"]
    assert rows[0]["description"] == s["private_description"]
    rows, total = models.commitments(found["dialogue"], today=today, q="safe house",
                                     status="rejected")
    assert [r["id"] for r in rows] == [found["private"]]
    assert models.commitments(found["dialogue"], today=today, q="safe house",
                              status="proposed") == ([], 0)
    rows, total = models.commitments(found["dialogue"], today=today, limit=1)
    assert total == 2 and len(rows) == 1
    rows, total = models.commitments(found["dialogue"], today=today, q="zqx", limit=1, offset=0)
    assert total == 1 and len(rows) == 1
    history = models.timeline(found["private"])
    assert s["reject_reason"] in [e["reason"] for e in history]
    assert any(s["private_note"] in json.dumps(e["changes"]) for e in history)
    assert s["action_note"] in [e["note"] for e in models.timeline(found["public"])]
    case = models.case(found["case"])
    assert (case["title"], case["description"]) == (s["case_title"], s["case_description"])
    assert [c["id"] for c in models.cases(found["dialogue"])] == [found["case"]]
    dialogue = models.dialogue_by_id(found["dialogue"])
    assert [m["summary"] for m in dialogue["meetings"]] == [s["meeting_summary"]]
    account = next(a for a in models.accounts() if a["name"] == s["account_name"])
    assert account["email"] == s["account_email"]
    assert [t["label"] for t in account["tokens"]] == [s["token_label"]]
    assert models.activity(account_id=None, limit=500)
    assert sessions.load("a-session-id").data["flash"] == s["session_data"]
    assert len(sessions.failures_since([s["tried_name"]], 0)[s["tried_name"]]) == 1


def test_with_the_key_no_private_text_stands_anywhere_in_the_database(encrypted_settings):
    from datetime import date

    app = build_application(encrypted_settings)
    found = write_private_things(app, encrypted_settings)
    try:
        stored = database_bytes(encrypted_settings)
        if not is_postgres(encrypted_settings.database_url):
            assert Path(sqlite_path(encrypted_settings.database_url) + "-wal").exists()
        assert found_in(stored) == set()
        check_members_find_everything(found, date(2026, 6, 1))
        # A rebuild seals what it writes again.
        found["models"].rebuild()
        assert found_in(database_bytes(encrypted_settings)) == set()
        check_members_find_everything(found, date(2026, 6, 1))
    finally:
        found["models"].close()
        app.close()
    assert found_in(database_bytes(encrypted_settings)) == set()  # (SQLite: WAL checkpointed)

    # The next process with the same key reads it all.
    from tracker.bootstrap import build_read_models, build_sessions

    reopened = build_application(encrypted_settings)
    models = build_read_models(encrypted_settings, reopened)
    try:
        again = dict(found, models=models, sessions=build_sessions(encrypted_settings, models))
        check_members_find_everything(again, date(2026, 6, 1))
    finally:
        models.close()
        reopened.close()


def test_without_the_key_the_same_scan_finds_every_private_text(settings):
    from datetime import date

    app = build_application(settings)
    found = write_private_things(app, settings)
    try:
        assert found_in(database_bytes(settings)) == set(SENTINELS)
        check_members_find_everything(found, date(2026, 6, 1))
    finally:
        found["models"].close()
        app.close()


def test_with_the_key_an_evidence_photo_is_sealed_and_still_served(encrypted_settings):
    """A photo can show people: with the key, neither the image nor its thumbnail lies in the
    database as it is, and the member still gets the very bytes back."""
    import io

    from PIL import Image

    from tracker.bootstrap import build_photos, build_read_models
    from tracker.photos import prepare

    picture = Image.new("RGB", (640, 480))
    picture.putdata([((x * 7) % 256, (x * 13) % 256, (x * 29) % 256) for x in range(640 * 480)])
    jpeg = io.BytesIO()
    picture.save(jpeg, "JPEG")
    photo = prepare(jpeg.getvalue())
    app = build_application(encrypted_settings)
    models = build_read_models(encrypted_settings, app)
    try:
        photos = build_photos(encrypted_settings, models)
        photos.keep(photo)
        stored = database_bytes(encrypted_settings)
        for kept in (photo.image, photo.thumbnail):
            middle = kept[len(kept) // 2:len(kept) // 2 + 64]  # past the JPEG headers
            assert middle not in stored and middle.hex().encode() not in stored
        assert photos.image(photo.sha256) == (photo.image, "image/jpeg")
        assert photos.image(photo.sha256, thumbnail=True) == (photo.thumbnail, "image/jpeg")
        # A process without the key cannot show them, and says why.
        plain = build_photos(encrypted_settings.model_copy(update={"encryption_key": ""}), models)
        with pytest.raises(ConfigurationError, match="photos are encrypted"):
            plain.image(photo.sha256)
    finally:
        models.close()
        app.close()


# --- a key that does not open the database: one line, exit 2, before anything starts ---------------

@pytest.fixture
def sealed_store(encrypted_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A store written with a key (events, read models, its check value), and the `tracker`
    environment pointing at it (the key itself is set by each test)."""
    from tracker.bootstrap import build_read_models

    app = build_application(encrypted_settings)
    try:
        record_a_commitment(app)
        build_read_models(encrypted_settings, app).close()
    finally:
        app.close()
    monkeypatch.setenv("TRACKER_DATABASE_URL", encrypted_settings.database_url)
    monkeypatch.setenv("TRACKER_VAR_DIR", str(encrypted_settings.var_dir))
    monkeypatch.setenv("TRACKER_SIGNING_KEY_FILE", str(encrypted_settings.signing_key_file))
    monkeypatch.setenv("TRACKER_SECRET_KEY", encrypted_settings.secret_key)
    return encrypted_settings


def one_line_refusal(capsys, *args: str) -> str:
    from tracker.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 2, (args, out, err)
    assert err.count("\n") == 1 and err.startswith("tracker: error: "), (args, err)
    return err


COMMANDS = (("projections", "status"), ("verify",), ("export", "out.jsonl"), ("demo",),
            ("user", "list"), ("checkpoint",))


def test_every_command_refuses_another_key_in_one_line(sealed_store, capsys, monkeypatch,
                                                       tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKER_ENCRYPTION_KEY", AESCipher.create_key(32))
    for command in COMMANDS:
        assert "TRACKER_ENCRYPTION_KEY does not open the" in one_line_refusal(capsys, *command)
    assert not (tmp_path / "out.jsonl").exists()
    # The right key: the same commands work.
    from tracker.cli import main

    monkeypatch.setenv("TRACKER_ENCRYPTION_KEY", sealed_store.encryption_key)
    assert main(["projections", "status"]) == 0
    assert main(["verify"]) == 0


def test_an_encrypted_database_without_the_key_is_refused(sealed_store, capsys, monkeypatch):
    monkeypatch.delenv("TRACKER_ENCRYPTION_KEY", raising=False)
    for command in COMMANDS[:2]:
        assert "is encrypted: set TRACKER_ENCRYPTION_KEY" in one_line_refusal(capsys, *command)


def test_a_malformed_key_is_refused_in_one_line(sealed_store, capsys, monkeypatch):
    monkeypatch.setenv("TRACKER_ENCRYPTION_KEY", "not-a-key")
    assert "base64 of 16, 24 or 32 bytes" in one_line_refusal(capsys, "projections", "status")


def test_a_database_from_before_the_check_is_opened_only_by_its_events_key(sealed_store, capsys,
                                                                           monkeypatch):
    """A store encrypted before the read models were (no check value yet): the first stored
    event decides."""
    from projections.store import close_store, open_store

    store = open_store(sealed_store.database_url)
    with store.transaction(commit=True) as cursor:
        cursor.execute("DROP TABLE sealing")
    close_store(store)
    monkeypatch.setenv("TRACKER_ENCRYPTION_KEY", AESCipher.create_key(32))
    assert "does not decrypt the events" in one_line_refusal(capsys, "verify")
    from tracker.cli import main

    monkeypatch.setenv("TRACKER_ENCRYPTION_KEY", sealed_store.encryption_key)
    assert main(["verify"]) == 0


def test_serve_refuses_to_start_with_another_key(sealed_store, monkeypatch):
    """`tracker serve` as it is run: a process that exits 2 with one line, and never listens."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TRACKER_ENCRYPTION_KEY": AESCipher.create_key(32)}
    done = subprocess.run([sys.executable, "-m", "tracker.cli", "serve", "--port", str(port)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "TRACKER_ENCRYPTION_KEY does not open the" in done.stderr
    with socket.socket() as probe:  # nothing took the port
        probe.bind(("127.0.0.1", port))


def test_a_commitment_made_private_leaves_no_public_copy_of_its_text(encrypted_settings):
    """While public, its title stood (plain) in the public tables and the public timeline; made
    private, no copy of it is left in the database (the store also zeroes what SQLite deletes,
    `secure_delete`, though this small case passes without it)."""
    from tracker.bootstrap import build_read_models

    title = "Zqx title public at first then private"
    app = build_application(encrypted_settings)
    models = build_read_models(encrypted_settings, app)
    try:
        world = make_world(app)
        commitment_id = propose(app, world, title=title).id
        propose(app, world, title="Another public commitment, which stays")  # (page not emptied)
        models.catch_up()
        assert title.encode() in database_bytes(encrypted_settings)  # public: shown as it is
        app.set_commitment_visibility(world.members["police"], commitment_id, public=False,
                                      reason="Names a witness")
        models.catch_up()
    finally:
        models.close()
        app.close()
    assert title.encode() not in database_bytes(encrypted_settings)
