"""`tracker prove`, `tracker verify-proof` (no database) and the tree head in `tracker checkpoint`;
a rewritten log (an event edited, the tree rebuilt and re-signed with the tracker's own key) is
caught by `verify-proof` given a head kept from before.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests import rfc9162
from tests.factories import advance, make_world, propose
from tests.projection_helpers import Tamper
from tests.tracker.test_transfer import fresh, fresh_url  # noqa: F401 (fixtures)
from tracker.cli import main


@pytest.fixture
def world(tracker):
    world = make_world(tracker)
    world.done = propose(tracker, world, title="Joint night patrols on market days").id
    advance(tracker, world, world.done, "verified")
    world.private = propose(tracker, world, title="Protecting informants", public=False).id
    return world


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def prove(capsys, tmp_path, *args, name="proof.json"):
    path = tmp_path / name
    code, out, err = run(capsys, "prove", *args, "--out", str(path))
    assert code == 0, err
    return path, json.loads(path.read_text())


def public_key_pem(settings, path):
    key = serialization.load_pem_private_key(settings.signing_key_file.read_bytes(), password=None)
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def test_a_proof_from_prove_is_valid_without_the_database(cli_env, world, capsys, tmp_path, monkeypatch):
    path, bundle = prove(capsys, tmp_path, world.done)
    assert bundle["commitment_id"] == world.done and len(bundle["entries"]) == 7
    key = public_key_pem(cli_env, tmp_path / "ledger-key.pem")
    # No database: verify-proof must not touch one (an address nothing listens on).
    monkeypatch.setenv("TRACKER_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, out, _ = run(capsys, "verify-proof", str(path), "--key", str(key))
    assert code == 0, out
    assert out.startswith("valid: 7 events included in the signed tree head of size")
    assert "the signature holds under the trusted key" in out
    code, out, _ = run(capsys, "verify-proof", str(path))
    assert code == 0 and "not compared with a key you trust" in out


def test_stdout_and_any_event_by_position(cli_env, world, tracker, capsys, tmp_path):
    code, out, _ = run(capsys, "prove", world.done)
    assert code == 0 and json.loads(out)["entries"]
    private_event = [n.id for n in tracker.recorder.select_notifications(0, 1000)
                     if str(n.originator_id) == world.private][0]
    path, bundle = prove(capsys, tmp_path, "--position", "1", "--position", str(private_event))
    assert [e["position"] for e in bundle["entries"]] == [1, private_event]
    assert all("state" in e for e in bundle["entries"])
    assert run(capsys, "verify-proof", str(path))[0] == 0


@pytest.mark.parametrize("change", ["audit_path", "leaf", "position", "state", "root", "signature",
                                    "key_id", "leaf_index"])
def test_any_change_to_a_proof_makes_it_invalid(cli_env, world, capsys, tmp_path, change):
    path, bundle = prove(capsys, tmp_path, "--position", "3", "--position", "12")
    entry, head = bundle["entries"][1], bundle["tree_head"]
    if change == "audit_path":
        first = entry["audit_path"][0]
        entry["audit_path"][0] = ("1" if first[0] == "0" else "0") + first[1:]
    elif change == "leaf":
        leaf = bytearray(base64.b64decode(entry["leaf"]))
        leaf[-1] ^= 1
        entry["leaf"] = base64.b64encode(bytes(leaf)).decode()
    elif change == "position":
        entry["position"] = 13
    elif change == "state":
        entry["state"] = base64.b64encode(b"another event").decode()
    elif change == "root":
        head["root_hash"] = "ab" * 32
    elif change == "signature":
        head["signature"] = head["signature"][::-1]
    elif change == "key_id":
        head["key_id"] = "0" * 16
    else:
        entry["leaf_index"] += 1
    path.write_text(json.dumps(bundle))
    code, out, _ = run(capsys, "verify-proof", str(path))
    assert code == 1, out
    assert out.startswith("invalid: ")


def test_a_proof_signed_by_another_key_is_invalid_under_the_trusted_key(cli_env, world, capsys, tmp_path):
    path, _ = prove(capsys, tmp_path, world.done)
    other = tmp_path / "other.pem"
    other.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    code, out, _ = run(capsys, "verify-proof", str(path), "--key", str(other))
    assert code == 1 and "not by the trusted key" in out


def test_bad_input_is_one_line_and_exit_2(cli_env, world, capsys, tmp_path):
    path, bundle = prove(capsys, tmp_path, world.done)
    not_json = tmp_path / "not.json"
    not_json.write_text("{nope")
    no_bundle = tmp_path / "other.json"
    no_bundle.write_text(json.dumps({"hello": 1}))
    malformed = tmp_path / "malformed.json"
    malformed.write_text(json.dumps(dict(bundle, entries=[{"position": 1}])))
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key")
    for argv in (["verify-proof", str(tmp_path / "missing.json")], ["verify-proof", str(not_json)],
                 ["verify-proof", str(no_bundle)], ["verify-proof", str(malformed)],
                 ["verify-proof", str(path), "--key", str(bad_key)],
                 ["verify-proof", str(path), "--head", str(not_json)],
                 ["prove", world.private], ["prove", "no-such-commitment"], ["prove"],
                 ["prove", world.done, "--since", "100000"]):
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert err.startswith("tracker: error: ") and err.count("\n") == 1, (argv, err)


def test_the_checkpoint_holds_a_signed_tree_head_of_the_whole_log(cli_env, world, tracker, capsys, tmp_path):
    checkpoint = tmp_path / "checkpoint.json"
    assert run(capsys, "checkpoint", "--out", str(checkpoint))[0] == 0
    head = json.loads(checkpoint.read_text())["tree_head"]
    rows = tracker.recorder.select_notifications(0, 1000)
    leaves = [rfc9162.leaf(n.id, n.topic, str(n.originator_id), n.originator_version, bytes(n.state))
              for n in rows]
    assert head["tree_size"] == len(leaves)
    assert bytes.fromhex(head["root_hash"]) == rfc9162.mth(leaves)
    # A kept checkpoint serves as the earlier head of a later proof.
    propose(tracker, world, title="Later")
    path, _ = prove(capsys, tmp_path, world.done, "--since", str(head["tree_size"]))
    code, out, _ = run(capsys, "verify-proof", str(path), "--head", str(checkpoint))
    assert code == 0, out
    assert f"extends the earlier head of size {head['tree_size']}" in out


def rewrite(capsys, url, tracker, old, new):
    """Edit an early event, bind it again, rebuild the tree over the edited log and sign it with the
    tracker's key: what an operator holding every key can do."""
    position = next(n.id for n in tracker.recorder.select_notifications(0, 1000)
                    if old in bytes(n.state))
    Tamper(url).edit_payload(position, old, new)
    Tamper(url).rebind(position, tracker.mapper.binder)  # the operator holds the binding key too
    assert run(capsys, "projections", "rebuild", "tree")[0] == 0
    assert run(capsys, "checkpoint")[0] == 0
    return position


def test_a_rewritten_log_is_caught_by_verify_proof_given_an_earlier_head(
        cli_env, world, tracker, capsys, tmp_path):
    earlier, before = prove(capsys, tmp_path, world.done, name="earlier.json")
    rewrite(capsys, cli_env.database_url, tracker, b"Joint night patrols", b"Joint day patrols!!")
    # The rewritten log's own proofs hold: signed with the same key, over its own tree.
    same_size, _ = prove(capsys, tmp_path, world.done, name="same.json")
    assert run(capsys, "verify-proof", str(same_size))[0] == 0
    code, out, _ = run(capsys, "verify-proof", str(same_size), "--head", str(earlier))
    assert code == 1, out
    assert "fork: two tree heads of size" in out

    propose(tracker, world, title="Later")
    size, grown = before["tree_head"]["tree_size"], tracker.recorder.max_notification_id()
    later, _ = prove(capsys, tmp_path, world.done, "--since", str(size), name="later.json")
    code, out, _ = run(capsys, "verify-proof", str(later), "--head", str(earlier))
    assert code == 1, out
    assert (f"fork: the log's head of size {grown} is not consistent with the earlier head "
            f"of size {size}") in out

    # The consistency answer says the same, when checked against the kept head.
    consistency = tmp_path / "consistency.json"
    from tracker.bootstrap import build_proofs, build_read_models
    models = build_read_models(cli_env, tracker)
    try:
        models.catch_up()
        build_proofs(cli_env, models).current_head()
        consistency.write_text(json.dumps(build_proofs(cli_env, models).consistency(size, grown)))
    finally:
        models.close()
    code, out, _ = run(capsys, "verify-proof", str(consistency), "--head", str(earlier))
    assert code == 1 and "fork" in out, out


def test_an_exported_and_imported_log_has_the_same_tree(cli_env, world, tracker, fresh,  # noqa: F811
                                                        fresh_url, capsys, tmp_path):  # noqa: F811
    """Leaves hold the log position, which an import keeps: a head kept before still holds."""
    from tracker.bootstrap import build_proofs, build_read_models
    from tracker.transfer import export_log, import_log

    earlier, before = prove(capsys, tmp_path, world.done, name="earlier.json")
    export_log(tracker, tmp_path / "log.jsonl")
    import_log(fresh, tmp_path / "log.jsonl")
    copy = cli_env.model_copy(update={"database_url": fresh_url})
    models = build_read_models(copy, fresh)
    try:
        models.catch_up()
        head = before["tree_head"]
        assert models.tree.root(head["tree_size"]).hex() == head["root_hash"]
        (tmp_path / "copy.json").write_text(json.dumps(
            build_proofs(copy, models).commitment_bundle(world.done)))
    finally:
        models.close()
    code, out, _ = run(capsys, "verify-proof", str(tmp_path / "copy.json"), "--head", str(earlier))
    assert code == 0, out
