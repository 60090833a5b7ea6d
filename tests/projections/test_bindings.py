"""Bindings: every row of the events table is accounted for. A row written with SQL, at whatever
position (0, negative, in a gap of the positions, after the head), makes `tracker verify` exit 1
naming it; the application does not load it and the read models do not adopt it; an export and
import keeps the bindings and the signed checkpoints, and the imported store verifies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import uuid
from datetime import date

import pytest

from projections.binding import Binder, UnboundEvent, inner_state
from projections.database import ConfigurationError
from tests.conftest import postgres_schema_url
from tests.factories import advance, make_world, propose
from tests.projection_helpers import Tamper, raw
from tracker.bootstrap import build_application, build_read_models
from tracker.cli import main
from tracker.transfer import export_log, import_log


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def stored_row(tamper, position):
    """(topic, originator id, version, state) of the row at this position."""
    with raw(tamper.url) as conn:
        row = conn.execute(tamper.sql("SELECT topic, originator_id, originator_version, state "
                                      "FROM stored_events WHERE {id}=?"), (position,)).fetchone()
    return row[0], row[1], row[2], bytes(row[3])


def insert_row(tamper, position, originator_id, version, topic, state):
    oid = originator_id if tamper.pg else originator_id.hex
    tamper.run(("INSERT INTO stored_events (originator_id, originator_version, topic, state, {id})"
                " VALUES (?,?,?,?,?)", (oid, version, topic, state, position)))


@pytest.fixture
def completed(tracker, models):
    """Two commitments: one verified (its Verified event is the forger's model), one completed,
    waiting for another party to verify it. Fully projected."""
    world = make_world(tracker)
    done = propose(tracker, world, title="Joint night patrols on market days")
    advance(tracker, world, done.id, "verified")
    waiting = propose(tracker, world, title="Street lighting near the market")
    advance(tracker, world, waiting.id, "completed")
    models.catch_up()
    return world, done.id, waiting.id


def forged_verification(tracker, done_id, waiting_id):
    """A `commitment.verified` row for the waiting commitment, made from the real one of the
    other: (originator id, version, topic, plain state, the real row's bound state)."""
    real = [n for n in tracker.recorder.select_notifications(0, 1000)
            if n.topic == "commitment.verified" and str(n.originator_id) == done_id][0]
    version = tracker.commitment(waiting_id).version + 1
    return (uuid.UUID(waiting_id), version, real.topic, inner_state(real.state),
            bytes(real.state))


@pytest.mark.parametrize("where", ["zero", "negative"])
def test_a_row_below_position_1_is_named_by_verify_and_never_loaded(
        cli_env, tracker, models, completed, capsys, where):
    world, done_id, waiting_id = completed
    originator_id, version, topic, plain_state, bound_state = forged_verification(
        tracker, done_id, waiting_id)
    # At 0: plain JSON, no binding; below: the real event's binding, copied (another identity).
    position, state = (0, plain_state) if where == "zero" else (-7, bound_state)
    insert_row(Tamper(cli_env.database_url), position, originator_id, version, topic, state)

    code, out = run(capsys, "verify")
    assert code == 1
    assert f"first bad position {position}: the row at position {position} is out of place" in out

    # The application does not load it: the commitment is not "verified" by a forged row.
    with pytest.raises(UnboundEvent, match="not written by this tracker"):
        tracker.commitment(waiting_id)
    models.catch_up()
    assert models.commitment(waiting_id, today=date(2026, 1, 1))["status"] == "completed"


def test_a_copied_binding_under_another_identity_does_not_verify(cli_env, tracker, models,
                                                                completed, capsys):
    world, done_id, waiting_id = completed
    originator_id, version, topic, _, bound_state = forged_verification(tracker, done_id,
                                                                        waiting_id)
    head = tracker.recorder.max_notification_id()
    insert_row(Tamper(cli_env.database_url), head + 1, originator_id, version, topic, bound_state)

    code, out = run(capsys, "verify")
    assert code == 1
    assert f"first bad position {head + 1}: the row at position {head + 1} is not bound" in out
    assert "does not match its content and identity" in out
    with pytest.raises(UnboundEvent, match="does not match"):
        tracker.commitment(waiting_id)


def test_a_row_appended_after_the_head_is_reported_and_not_adopted(cli_env, tracker, models,
                                                                   completed, capsys):
    world, done_id, waiting_id = completed
    originator_id, version, topic, plain_state, _ = forged_verification(tracker, done_id,
                                                                        waiting_id)
    head = tracker.recorder.max_notification_id()
    insert_row(Tamper(cli_env.database_url), head + 1, originator_id, version, topic, plain_state)

    with pytest.raises(UnboundEvent, match=f"position {head + 1} of the log is not bound"):
        models.catch_up()
    assert set(models.positions().values()) == {head}, "no read model adopted it"
    assert models.ledger.head()["position"] == head
    assert models.commitment(waiting_id, today=date(2026, 1, 1))["status"] == "completed"

    code, out = run(capsys, "verify")
    assert code == 1
    assert f"first bad position {head + 1}: the row at position {head + 1} is not bound" in out
    assert "carries no binding" in out
    code, out = run(capsys, "export", str(cli_env.var_dir / "log.jsonl"))
    assert code == 2 and f"the event at position {head + 1} is not bound" in out


def test_bound_events_before_an_unbound_one_are_applied_first(cli_env, tracker, models,
                                                              completed):
    world, done_id, waiting_id = completed
    later = propose(tracker, world, title="Later, by the tracker")
    originator_id, _, topic, plain_state, _ = forged_verification(tracker, done_id, waiting_id)
    insert_row(Tamper(cli_env.database_url), later.position + 1, originator_id,
               tracker.commitment(waiting_id).version + 1, topic, plain_state)
    with pytest.raises(UnboundEvent):
        models.catch_up()
    assert set(models.positions().values()) == {later.position}


@pytest.fixture
def other_url(request, tmp_path):
    """A second, empty store on the same backend as `store_url`."""
    if request.getfixturevalue("store_url").startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def gapped(settings, tracker, tmp_path, other_url):
    """A store whose log has a gap (positions 3 to 7 free), as PostgreSQL's sequence leaves after
    refused writes: imported from an export shifted so, with the same keys."""
    from tracker.settings import Settings

    make_world(tracker, with_members=False)
    path = tmp_path / "gapped.jsonl"
    export_log(tracker, path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for index, row in enumerate(rows):
        row["position"] += 5 * (index >= 2)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gapped_settings = Settings(database_url=other_url, var_dir=settings.var_dir,
                               signing_key_file=settings.signing_key_file)
    app = build_application(gapped_settings)
    try:
        import_log(app, path)
        yield gapped_settings, app
    finally:
        app.close()


def test_a_row_inserted_in_a_gap_is_named(gapped, monkeypatch, capsys):
    settings, app = gapped
    monkeypatch.setenv("TRACKER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TRACKER_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("TRACKER_SIGNING_KEY_FILE", str(settings.signing_key_file))
    code, out = run(capsys, "verify")
    assert code == 0, out

    tamper = Tamper(settings.database_url)
    topic, _, _, state = stored_row(tamper, 1)
    insert_row(tamper, 5, uuid.uuid4(), 1, topic, inner_state(state))

    code, out = run(capsys, "verify")
    assert code == 1
    assert "first bad position 5: the row at position 5 is not bound" in out


def test_an_export_and_import_keeps_bindings_and_checkpoints_and_verifies(
        cli_env, tracker, completed, capsys, tmp_path, other_url, monkeypatch):
    checkpoint = tmp_path / "checkpoint.json"
    assert run(capsys, "checkpoint", "--out", str(checkpoint))[0] == 0
    propose(tracker, completed[0], title="After the checkpoint")
    assert run(capsys, "checkpoint")[0] == 0
    path = tmp_path / "log.jsonl"
    code, out = run(capsys, "export", str(path))
    assert code == 0 and "and 2 checkpoints" in out
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [("checkpoint" in line) for line in lines[:3]] == [True, True, False]
    assert {line["key_id"] for line in lines[2:]} == {"k1"}

    url = other_url
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)  # the same keys (var dir), another store
    code, out = run(capsys, "import", str(path))
    assert code == 0, out

    code, out = run(capsys, "verify")
    assert code == 0 and out.startswith("intact:"), out
    code, out = run(capsys, "verify", "--checkpoint", str(checkpoint))
    assert code == 0 and "extends the checkpoint" in out, out
    source = build_read_models(cli_env, tracker)
    imported_app = build_application(cli_env.model_copy(update={"database_url": url}))
    imported = build_read_models(cli_env.model_copy(update={"database_url": url}), imported_app)
    try:
        assert imported.ledger.checkpoints() == source.ledger.checkpoints()
        assert [bytes(n.state) for n in imported_app.recorder.select_notifications(0, 10**6)] == \
            [bytes(n.state) for n in tracker.recorder.select_notifications(0, 10**6)]
        # A kept checkpoint that the imported log does not pass through fails verify.
        Tamper(url).run(("UPDATE rm_checkpoints SET head_hash=? WHERE position=?",
                         ("0" * 64, json.loads(checkpoint.read_text())["position"])))
        code, out = run(capsys, "verify")
        assert code == 1 and "signature" in out
    finally:
        source.close()
        imported.close()
        imported_app.close()


def test_an_import_refuses_a_checkpoint_the_log_does_not_pass_through(
        cli_env, tracker, completed, capsys, tmp_path, monkeypatch):
    assert run(capsys, "checkpoint")[0] == 0
    path = tmp_path / "log.jsonl"
    assert run(capsys, "export", str(path))[0] == 0
    lines = path.read_text().splitlines()
    # The checkpoint is genuine, but one event before it was rewritten (and bound with the key).
    event = json.loads(lines[3])
    inner = inner_state(base64.b64decode(event["state"])).replace(b'"note":null', b'"note":"x"')
    event["state"] = base64.b64encode(tracker.mapper.binder.bind(
        event["topic"], event["originator_id"], event["originator_version"], inner)).decode()
    path.write_text("\n".join([*lines[:3], json.dumps(event), *lines[4:]]) + "\n")

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    code, out = run(capsys, "import", str(path))
    assert code == 2 and "line 1: the log in this file does not pass through the checkpoint" in out


def test_an_import_with_other_binding_keys_is_refused(tracker, completed, tmp_path, settings):
    path = tmp_path / "log.jsonl"
    export_log(tracker, path)
    other = build_application(settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'other.db'}",
        "binding_keys": "k9:another-key-of-this-length"}))
    try:
        with pytest.raises(Exception, match="line 1: this tracker cannot read the event"):
            import_log(other, path)
        assert not other.recorder.max_notification_id()
    finally:
        other.close()


def test_old_events_keep_verifying_with_the_key_id_they_name(settings, tmp_path):
    old = settings.model_copy(update={"binding_keys": "k1:the-first-key-of-the-store"})
    app = build_application(old)
    try:
        world = make_world(app, with_members=False)
    finally:
        app.close()
    rotated = settings.model_copy(update={
        "binding_keys": "k2:the-second-key-after-rotation,k1:the-first-key-of-the-store"})
    app = build_application(rotated)
    models = build_read_models(rotated, app)
    try:
        app.add_party(app_system(), world.slug, name="Youth", kind="youth")
        states = [bytes(n.state) for n in app.recorder.select_notifications(0, 1000)]
        assert [s[3:5] for s in states] == [b"k1"] * (len(states) - 1) + [b"k2"]
        models.catch_up()
        from projections.ledger import verify

        assert verify(app, models.ledger).ok
    finally:
        models.close()
        app.close()
    without_old = settings.model_copy(update={"binding_keys": "k2:the-second-key-after-rotation"})
    app = build_application(without_old)
    models = build_read_models(without_old, app)
    try:
        from projections.ledger import verify

        result = verify(app, models.ledger)
        assert not result.ok and result.first_bad_position == 1
        assert "names the key id 'k1', which is not configured" in result.reason
    finally:
        models.close()
        app.close()


def app_system():
    from tracker.application import SYSTEM

    return SYSTEM


# --- the binding itself, against a MAC computed by hand -----------------------------------------

def test_a_binding_is_the_hmac_the_module_documents():
    binder = Binder.from_text("k7:0123456789abcdef0123")
    oid = "d3ab9c33-494a-5a07-b3db-9f37d3b2717c"
    inner = b'{"title":"Patrols"}'
    stored = binder.bind("commitment.amended", oid, 4, inner)

    def field(data: bytes) -> bytes:
        return struct.pack(">Q", len(data)) + data

    message = (b"jsd-tracker-binding-1\n" + field(b"k7") + field(b"commitment.amended")
               + field(oid.encode()) + struct.pack(">Q", 4) + field(inner))
    mac = hmac.new(b"0123456789abcdef0123", message, hashlib.sha256).digest()
    assert stored == b"B1\x02k7" + mac + inner
    assert binder.problem("commitment.amended", oid, 4, stored) is None
    assert binder.unbind("commitment.amended", oid, 4, stored) == inner
    assert "does not match" in binder.problem("commitment.amended", oid, 5, stored)
    assert "does not match" in binder.problem("commitment.agreed", oid, 4, stored)
    assert binder.problem("commitment.amended", oid, 4, inner) == "it carries no binding"


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("nokey", "entry 1 must be ID:KEY"),
    ("k1:short", "shorter than 16"),
    ("k1:0123456789abcdef,k1:0123456789abcdef", "listed twice"),
    ("bad id:0123456789abcdef", "entry 1 must be ID:KEY"),
])
def test_a_malformed_key_list_is_refused_naming_the_entry(text, message):
    with pytest.raises(ConfigurationError, match=message):
        Binder.from_text(text)


def test_without_a_setting_one_key_is_generated_once_and_kept(settings):
    import stat

    first = settings.ensure_binding_keys()
    path = settings.var_dir / "binding_keys"
    assert first.startswith("k1:") and len(first) > 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.model_copy(update={"binding_keys": ""}).ensure_binding_keys() == first
