"""The ledger: `tracker verify` finds each kind of tampering, naming the first bad position."""

from __future__ import annotations

import json
import stat
import uuid
from datetime import date

import pytest

from projections.ledger import checkpoint_error, verify
from tests.factories import advance, make_world, propose
from tests.projection_helpers import Tamper
from tracker.bootstrap import build_read_models
from tracker.cli import main


@pytest.fixture
def history(tracker, models):
    """A small log (dialogue, members, two commitments), fully projected."""
    world = make_world(tracker)
    first = propose(tracker, world, title="Joint night patrols on market days")
    advance(tracker, world, first.id, "verified")
    propose(tracker, world, title="Street lighting near the market")
    models.catch_up()
    return world


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def position_of(tracker, topic, nth=0):
    found = [n.id for n in tracker.recorder.select_notifications(0, 1000)
             if n.topic == topic]
    return found[nth]


def test_an_untouched_log_verifies(cli_env, history, capsys):
    code, out = run(capsys, "verify")
    assert code == 0, out
    assert out.startswith("intact:")


def test_an_edited_payload_is_found(cli_env, tracker, history, capsys):
    position = position_of(tracker, "commitment.proposed")
    Tamper(cli_env.database_url).edit_payload(position, b"night patrols", b"day patrols!")
    code, out = run(capsys, "verify")
    assert code == 1
    assert f"first bad position {position}:" in out


def test_a_deleted_event_is_found(cli_env, tracker, history, capsys):
    position = position_of(tracker, "commitment.endorsed")
    Tamper(cli_env.database_url).delete(position)
    code, out = run(capsys, "verify")
    assert code == 1
    assert f"first bad position {position}:" in out


def test_a_deleted_last_event_is_found(cli_env, tracker, history, capsys):
    position = tracker.recorder.max_notification_id()
    Tamper(cli_env.database_url).delete(position)
    code, out = run(capsys, "verify")
    assert code == 1
    assert f"first bad position {position}:" in out


def test_two_swapped_events_are_found(cli_env, tracker, history, capsys):
    a = position_of(tracker, "commitment.endorsed", 0)
    Tamper(cli_env.database_url).swap(a, a + 1)
    code, out = run(capsys, "verify")
    assert code == 1
    assert f"first bad position {a}:" in out


def test_an_inserted_event_is_found(cli_env, tracker, history, capsys):
    position = position_of(tracker, "commitment.agreed")
    Tamper(cli_env.database_url).insert_copy(position, of=position - 1,
                                             originator_id=uuid.uuid4())
    code, out = run(capsys, "verify")
    assert code == 1
    assert f"first bad position {position}:" in out


def test_an_edit_is_caught_by_its_binding_even_with_the_ledger_rewritten(
        cli_env, tracker, models, history, capsys):
    position = position_of(tracker, "commitment.completed")
    tamper = Tamper(cli_env.database_url)
    tamper.edit_payload(position, b"Patrols run", b"Patrols ran")
    tamper.rewrite_ledger(models)

    code, out = run(capsys, "verify")
    assert code == 1
    assert f"first bad position {position}: the row at position {position} is not bound" in out


def test_with_the_binding_key_a_rewrite_is_caught_only_by_a_checkpoint(
        cli_env, tracker, models, history, capsys, tmp_path):
    """What an intruder who also holds the binding key can do: rewrite an event, bind it again,
    recompute the ledger. The checkpoints the store keeps show it; deleted as well, only a
    checkpoint kept outside the store does."""
    checkpoint = tmp_path / "checkpoint.json"
    code, out = run(capsys, "checkpoint", "--out", str(checkpoint))
    assert code == 0, out
    position = position_of(tracker, "commitment.completed")
    tamper = Tamper(cli_env.database_url)
    tamper.edit_payload(position, b"Patrols run", b"Patrols ran")
    tamper.rebind(position, tracker.mapper.binder)
    tamper.rewrite_ledger(models)

    code, out = run(capsys, "verify")
    saved = json.loads(checkpoint.read_text())
    assert code == 1 and f"first bad position {saved['position']}:" in out
    assert "the checkpoint signed at" in out

    tamper.run(("DELETE FROM rm_checkpoints", ()))
    code, out = run(capsys, "verify")
    assert code == 0, "without a checkpoint, a consistent rewrite with the key cannot be seen"
    code, out = run(capsys, "verify", "--checkpoint", str(checkpoint))
    assert code == 1
    assert f"first bad position {saved['position']}:" in out


def test_a_checkpoint_is_signed_kept_and_extended_by_later_events(cli_env, tracker, models,
                                                                  history, capsys, tmp_path):
    checkpoint = tmp_path / "checkpoint.json"
    assert run(capsys, "checkpoint", "--out", str(checkpoint))[0] == 0
    saved = json.loads(checkpoint.read_text())
    # The contract's fields, and the signed tree head of the same moment (tests/proofs check it).
    assert set(saved) == {"position", "head_hash", "signed_at", "signature", "public_key",
                          "tree_head"}
    assert saved["tree_head"]["tree_size"] == saved["position"]  # no gaps in this log
    assert saved["tree_head"]["public_key"] == saved["public_key"]
    assert saved["position"] == tracker.recorder.max_notification_id()
    assert checkpoint_error(saved) is None
    assert stat.S_IMODE(cli_env.signing_key_file.stat().st_mode) == 0o600
    assert models.latest_checkpoint()["head_hash"] == saved["head_hash"]
    assert len(models.checkpoints()) == 1

    propose(tracker, history, title="Later commitment")
    code, out = run(capsys, "verify", "--checkpoint", str(checkpoint))
    assert code == 0, out

    forged = dict(saved, head_hash="0" * 64)
    checkpoint.write_text(json.dumps(forged))
    code, out = run(capsys, "verify", "--checkpoint", str(checkpoint))
    assert code == 1 and "signature" in out


def test_verify_is_one_function_for_the_cli_and_the_pages(tracker, models, history):
    result = verify(tracker, models.ledger)
    assert result.ok and result.first_bad_position is None
    assert result.head == models.ledger_head()


def test_projections_status_and_rebuild_on_the_command_line(cli_env, tracker, history, capsys):
    code, out = run(capsys, "projections", "status")
    assert code == 0
    assert "commitments" in out and "ledger" in out
    code, out = run(capsys, "projections", "rebuild", "timeline")
    assert code == 0 and "replayed" in out
    code, out = run(capsys, "projections", "rebuild", "nonsense")
    assert code == 2
    assert out.count("\n") == 1 and "no read model is called 'nonsense'" in out
    code, out = run(capsys, "projections", "rebuild")
    assert code == 0


def test_verify_refuses_a_checkpoint_file_that_is_not_json(cli_env, history, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    code, out = run(capsys, "verify", "--checkpoint", str(bad))
    assert code == 2 and out.count("\n") == 1


def test_encrypted_payloads_are_projected_and_their_stored_bytes_chained(settings, tmp_path):
    from eventsourcing.cryptography import AESCipher

    from tracker.bootstrap import build_application

    secret = settings.model_copy(update={"encryption_key": AESCipher.create_key(32)})
    app = build_application(secret)
    models = build_read_models(secret, app)
    try:
        world = make_world(app)
        result = propose(app, world, title="Encrypted at rest")
        models.catch_up()
        assert models.commitment(result.id, today=date(2026, 1, 1))["title"] == "Encrypted at rest"
        assert b"Encrypted at rest" not in b"".join(
            n.state for n in app.recorder.select_notifications(0, 1000))
        assert verify(app, models.ledger).ok
    finally:
        models.close()
        app.close()
