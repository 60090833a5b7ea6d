"""Export the event log and import it into an empty store: the same record, position for position."""

from __future__ import annotations

import base64
import json
from uuid import UUID

import pytest

from domain.account import Account
from domain.case import Case
from domain.commitment import Commitment
from domain.dialogue import Dialogue
from domain.errors import Conflict, InvalidInput
from tests.conftest import postgres_schema_url
from tests.factories import advance, make_world, propose
from tracker.application import SYSTEM
from tracker.bootstrap import build_application
from tracker.cli import main
from tracker.demo import load_demo
from tracker.settings import Settings
from tracker.transfer import export_log, import_log


def log(app):
    return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in app.recorder.select_notifications(None, 1_000_000)]


def aggregates(app):
    """Every aggregate's state and version, by id."""
    states = {}
    for originator_id in {n.originator_id for n in app.recorder.select_notifications(None, 10**6)}:
        aggregate = app.repository.get(originator_id)
        if isinstance(aggregate, Dialogue | Case | Commitment | Account):
            states[originator_id] = (type(aggregate).__name__, aggregate.version, aggregate.state())
        else:
            states[originator_id] = (type(aggregate).__name__, aggregate.version, None)
    return states


def fill(tracker):
    """Dialogues, cases, accounts and commitments at several stages, one with a long history."""
    world = make_world(tracker)
    case = tracker.raise_case(world.members["women"], world.slug, title="Break-ins at night",
                              category="theft_burglary")
    verified = propose(tracker, world, case_id=case.id)
    advance(tracker, world, verified.id, "verified")
    long = propose(tracker, world, title="Street lighting", public=False, private_note="internal")
    advance(tracker, world, long.id, "in_progress")
    for percent in range(60):  # more than one snapshot interval
        tracker.commitment_action(world.members["police"], long.id, "progress",
                                  {"percent": percent % 101})
    tracker.case_action(world.members["women"], case.id, "resolve", {"summary": "Fewer thefts"})
    tracker.create_token(SYSTEM, world.members["police"].name)
    return long.id


@pytest.fixture
def fresh_url(request, tmp_path):
    """A second, empty store on the same backend as `store_url`."""
    if request.getfixturevalue("store_url").startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'imported.db'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def fresh(fresh_url, settings, tmp_path):
    """The application on it, with the source's binding keys (an operator moves them along)."""
    app = build_application(Settings(database_url=fresh_url, var_dir=tmp_path / "var2",
                                     binding_keys=settings.ensure_binding_keys()))
    try:
        yield app
    finally:
        app.close()


def test_an_exported_log_imports_into_an_empty_store_unchanged(tracker, fresh, tmp_path):
    long_history = fill(tracker)
    load_demo(tracker)
    path = tmp_path / "log.jsonl"

    exported = export_log(tracker, path)
    assert exported == tracker.recorder.max_notification_id()
    assert import_log(fresh, path) == exported

    assert log(fresh) == log(tracker)
    assert aggregates(fresh) == aggregates(tracker)
    # Snapshots are not exported; the import takes them again for long histories.
    assert list(fresh.snapshots.get(UUID(long_history)))


def test_an_import_cut_off_midway_leaves_the_store_empty_and_can_be_run_again(
        tracker, fresh, tmp_path, monkeypatch):
    """The import is one transaction: a failure (or a kill) between two batches leaves no prefix
    of the log behind, and the next import gives every event its exported position."""
    import tracker.transfer as transfer

    load_demo(tracker)
    path = tmp_path / "log.jsonl"
    export_log(tracker, path)
    monkeypatch.setattr(transfer, "BATCH", 7)
    real_insert, calls = transfer._insert, []

    def failing_insert(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("the disk went away")
        return real_insert(*args, **kwargs)

    monkeypatch.setattr(transfer, "_insert", failing_insert)
    with pytest.raises(OSError):
        import_log(fresh, path)
    assert not fresh.recorder.max_notification_id()

    monkeypatch.setattr(transfer, "_insert", real_insert)
    assert import_log(fresh, path) == tracker.recorder.max_notification_id()
    assert log(fresh) == log(tracker)


def test_the_export_is_readable_json_lines_with_the_exact_stored_bytes(tracker, tmp_path):
    fill(tracker)
    path = tmp_path / "log.jsonl"
    export_log(tracker, path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["position"] for r in rows] == [n[0] for n in log(tracker)]
    assert [base64.b64decode(r["state"]) for r in rows] == [n[4] for n in log(tracker)]
    assert rows[0]["topic"] == "dialogue.started" and rows[0]["data"]["slug"] == "saaba"


def test_gaps_in_the_exported_positions_are_kept(tracker, fresh, tmp_path):
    make_world(tracker, with_members=False)
    path = tmp_path / "log.jsonl"
    export_log(tracker, path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    # A log whose sequence skipped numbers, as PostgreSQL's does after a refused write.
    for index, row in enumerate(rows):
        row["position"] += 5 + 3 * (index >= 2)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    import_log(fresh, path)

    assert [n[0] for n in log(fresh)] == [r["position"] for r in rows]
    assert fresh.dialogue_by_slug("saaba").state() == tracker.dialogue_by_slug("saaba").state()


def test_importing_into_a_store_that_has_events_is_refused_and_changes_nothing(tracker, tmp_path):
    make_world(tracker, with_members=False)
    path = tmp_path / "log.jsonl"
    export_log(tracker, path)
    before = log(tracker)

    with pytest.raises(Conflict, match="the store is not empty"):
        import_log(tracker, path)
    assert log(tracker) == before


@pytest.mark.parametrize("damage, message", [
    (lambda lines: lines[:2] + ["{not json"] + lines[2:], "line 3 of"),
    (lambda lines: lines + ['["a list"]'], "not a JSON object"),
    (lambda lines: [lines[0].replace('"topic"', '"subject"')] + lines[1:], "lacks topic"),
    (lambda lines: lines[:1] + [lines[1].replace('"state":"', '"state":"%%')] + lines[2:],
     "not base64"),
    (lambda lines: lines[:1] + [lines[1].replace('"position":2,', '"position":1,')] + lines[2:],
     "positions must increase"),
    (lambda lines: lines[:1] + lines[2:], "follows version"),
])
def test_a_malformed_file_is_refused_with_its_line_and_nothing_is_written(
        tracker, fresh, tmp_path, damage, message):
    make_world(tracker, with_members=False)
    path = tmp_path / "log.jsonl"
    export_log(tracker, path)
    path.write_text("\n".join(damage(path.read_text().splitlines())) + "\n")

    with pytest.raises(InvalidInput, match=message):
        import_log(fresh, path)
    assert not fresh.recorder.max_notification_id()


def test_an_event_this_store_cannot_decode_is_refused(tracker, fresh, tmp_path):
    make_world(tracker, with_members=False)
    path = tmp_path / "log.jsonl"
    export_log(tracker, path)
    lines = path.read_text().splitlines()
    row = json.loads(lines[-1])
    row["state"] = base64.b64encode(b"\x00garbage").decode()
    path.write_text("\n".join(lines[:-1] + [json.dumps(row)]) + "\n")

    with pytest.raises(InvalidInput, match=f"line {len(lines)}: this tracker cannot read"):
        import_log(fresh, path)
    assert not fresh.recorder.max_notification_id()


def test_the_command_line_exports_imports_and_exits_2_on_a_non_empty_store_or_a_bad_file(
        tmp_path, monkeypatch, capsys):
    source, target = tmp_path / "source.db", tmp_path / "target.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{source}")
    app = build_application(Settings())
    try:
        make_world(app, with_members=False)
    finally:
        app.close()
    path = tmp_path / "log.jsonl"
    assert main(["export", str(path)]) == 0

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{target}")
    assert main(["import", str(path)]) == 0
    capsys.readouterr()

    assert main(["import", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("tracker: error: the store is not empty") and error.count("\n") == 1

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'third.db'}")
    path.write_text("garbage\n")
    assert main(["import", str(path)]) == 2
    assert "line 1" in capsys.readouterr().err


def test_an_encrypted_store_exports_ciphertext_that_imports_only_with_the_same_key(
        store_url, tmp_path):
    from eventsourcing.cryptography import AESCipher

    key = AESCipher.create_key(32)
    source = build_application(Settings(database_url=store_url, encryption_key=key))
    try:
        make_world(source, with_members=False)
        path = tmp_path / "log.jsonl"
        export_log(source, path)
        expected = log(source)
    finally:
        source.close()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert "data" not in rows[0] and b"saaba" not in base64.b64decode(rows[0]["state"])

    other = build_application(Settings(database_url=f"sqlite:///{tmp_path / 'other.db'}",
                                       encryption_key=AESCipher.create_key(32)))
    try:
        with pytest.raises(InvalidInput, match="TRACKER_ENCRYPTION_KEY"):
            import_log(other, path)
    finally:
        other.close()
    same = build_application(Settings(database_url=f"sqlite:///{tmp_path / 'same.db'}",
                                      encryption_key=key))
    try:
        import_log(same, path)
        assert log(same) == expected
        assert same.dialogue_by_slug("saaba").name == "Dialogue saaba"
    finally:
        same.close()

