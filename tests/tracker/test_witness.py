"""`tracker witness` against `tracker serve` over real HTTP: it cosigns heads that extend the last
one it cosigned, the public pages show its cosignature, and after a rewrite of the log (an event
edited, the tree rebuilt and re-signed with the tracker's own key) it refuses, saying why.
"""

from __future__ import annotations

import json

import httpx
import pytest

from projections.ledger import load_signing_key, public_key_hex
from tests.browser_support import ServerProcess, free_port, run_tracker
from tests.factories import advance, make_world, propose
from tests.projection_helpers import Tamper
from tracker.cli import main


def witness(capsys, url, state, key):
    code = main(["witness", url, "--state", str(state), "--key", str(key)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def history(tracker):
    world = make_world(tracker)
    done = propose(tracker, world, title="Joint night patrols on market days").id
    advance(tracker, world, done, "verified")
    return world


def test_a_witness_cosigns_only_heads_that_extend_the_last_one(store_url, tmp_path, tracker, history,
                                                               capsys):
    key = tmp_path / "witness.pem"
    registered = f"Observatoire-citoyen={public_key_hex(load_signing_key(key))}"
    state = tmp_path / "witness-state"
    with ServerProcess(store_url, tmp_path, TRACKER_WITNESS_KEYS=registered) as server:
        code, out, err = witness(capsys, server.url, state, key)
        assert code == 0, err
        size = tracker.recorder.max_notification_id()
        assert out.startswith(f"witness: cosigned the tree head of size {size}")
        kept = json.loads((state / "last-cosigned.json").read_text())["tree_head"]
        assert kept["tree_size"] == size
        page = httpx.get(f"{server.url}/public/ledger", headers={"Accept-Language": "en"}).text
        assert "Observatoire-citoyen" in page

        # The log grows: the new head extends the cosigned one (checked by a consistency proof).
        propose(tracker, history, title="Street lights near the school")
        code, out, err = witness(capsys, server.url, state, key)
        assert code == 0, err
        assert f"which extends the one of size {size}" in out
        code, out, _ = witness(capsys, server.url, state, key)
        assert code == 0 and "(already cosigned)" in out

        # A key the tracker does not know is refused by the tracker (exit 2, one line).
        code, out, err = witness(capsys, server.url, tmp_path / "other-state", tmp_path / "other.pem")
        assert code == 2 and "not a registered witness key" in err
        assert "its public key is" in err  # the new key was made, and said what to register

        # The operator rewrites an early event, rebuilds the tree and signs it with its own key.
        cosigned = json.loads((state / "last-cosigned.json").read_text())["tree_head"]
        position = next(n.id for n in tracker.recorder.select_notifications(0, 1000)
                        if b"Joint night patrols" in bytes(n.state))
        Tamper(store_url).edit_payload(position, b"Joint night patrols", b"Joint day patrols!!")
        Tamper(store_url).rebind(position, tracker.mapper.binder)  # it holds the binding key too
        assert run_tracker(store_url, tmp_path, "projections", "rebuild", "tree").returncode == 0
        assert run_tracker(store_url, tmp_path, "checkpoint").returncode == 0
        code, out, _ = witness(capsys, server.url, state, key)
        assert code == 1, out
        assert out.startswith(f"refused: fork: two tree heads of size {cosigned['tree_size']} with "
                              "different roots")
        # ... and keeps writing: the larger head is no more consistent with what it cosigned.
        propose(tracker, history, title="After the rewrite")
        grown = tracker.recorder.max_notification_id()
        code, out, _ = witness(capsys, server.url, state, key)
        assert code == 1, out
        assert (f"refused: fork: the log's head of size {grown} is not "
                f"consistent with the earlier head of size {cosigned['tree_size']}") in out
        assert json.loads((state / "last-cosigned.json").read_text())["tree_head"] == cosigned

    code, _, err = witness(capsys, f"http://127.0.0.1:{free_port()}", state, key)
    assert code == 2 and err.startswith("tracker: error: cannot reach the tracker")
    code, _, err = witness(capsys, "ftp://example.org", state, key)
    assert code == 2 and "http:// or https://" in err
