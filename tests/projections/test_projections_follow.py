"""`tracker projections follow`: the standing worker that keeps the read models at the end of the log
(the Procfile's `worker:`). Bounded here with --until-idle; the multi-process drill runs it beside two
servers (tests/test_multiprocess.py)."""

from __future__ import annotations

import pytest

from tests.factories import advance, make_world, propose
from tracker.bootstrap import build_read_models
from tracker.cli import main


def test_follow_brings_every_view_to_the_end_of_the_log_and_stops_when_idle(
        cli_env, settings, tracker, capsys):
    world = make_world(tracker)
    advance(tracker, world, propose(tracker, world).id, "completed")
    head = tracker.recorder.max_notification_id()

    assert main(["projections", "follow", "--pause", "0.01", "--until-idle", "0.05"]) == 0

    models = build_read_models(settings, tracker)
    try:
        assert models.positions() == dict.fromkeys(models.views, head)
        assert models.catch_up() == 0  # nothing was left to apply
    finally:
        models.close()
    assert f"after applying {head} events" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--pause", "0"], ["--until-idle", "-1"]])
def test_follow_refuses_a_pause_or_idle_time_out_of_range(cli_env, args, capsys):
    assert main(["projections", "follow", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tracker: error: --pause must be above 0") and err.count("\n") == 1
