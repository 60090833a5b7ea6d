"""The crash drill: a server under a steady write load is killed with SIGKILL at random moments, five
times, and started again. Runs on SQLite and PostgreSQL.

Six writers keep changing their own commitments through the API (see `tests.drill_support.Writer`);
each records the (id, version, position) of every acknowledged write. Afterwards every acknowledged
write is in the log exactly once, where its answer said; the writes whose answers were lost to a kill
are there once or not at all; the read models, caught up by the restarted server, equal a rebuild;
`tracker verify` exits 0.

The same drill with SIGTERM (a process manager restarting the server on a deploy) must also answer
every write the server took in: uvicorn finishes the requests in flight before it exits.
"""

from __future__ import annotations

import os
import random
import threading
import time

import httpx
import pytest

from tests.browser_support import ServerProcess, run_tracker
from tests.drill_support import (
    bearer,
    check_views_equal_rebuild,
    check_writes_stored_once,
    drill_settings,
    join_writers,
    make_writers,
    run_writers,
    seed,
)
from tracker.bootstrap import build_application

WRITERS = 6
KILLS = 5


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_server_killed_or_stopped_five_times_under_load_loses_no_acknowledged_write(
        how, store_url, tmp_path):
    settings = drill_settings(store_url, tmp_path)
    seeded = seed(settings, commitments=WRITERS)
    # Random moments, reproducible: DRILL_SEED=N replays a run (the seed is printed).
    drill_seed = int(os.environ.get("DRILL_SEED", random.randrange(1_000_000)))
    moments = random.Random(drill_seed)
    server = ServerProcess(store_url, tmp_path).start()
    stop = threading.Event()
    writers = make_writers(seeded, lambda: [server.url], stop)
    threads = run_writers(writers)
    began = time.monotonic()
    try:
        for _ in range(KILLS):
            time.sleep(moments.uniform(0.3, 1.5))
            if how == "SIGKILL":
                server.kill()
            else:
                server.stop()  # SIGTERM
            server.start()
        time.sleep(0.5)  # a last stretch of load on the restarted server
        stop.set()
        join_writers(writers, threads)
        elapsed = time.monotonic() - began
        # A read makes the restarted server bring its read models to the end of the log.
        head = httpx.get(f"{server.url}/api/v1/ledger/head",
                         headers=bearer(seeded.tokens["police"])).json()
    finally:
        stop.set()
        server.stop()

    app = build_application(settings)
    try:
        assert head["position"] == app.recorder.max_notification_id()
    finally:
        app.close()
    counts = check_writes_stored_once(settings, writers)
    assert counts["acknowledged"] > 0
    if how == "SIGTERM":  # a graceful stop answers what it took in; the rest never reached it
        assert counts["stored_unacknowledged"] == 0
    check_views_equal_rebuild(settings)
    verified = run_tracker(store_url, tmp_path, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("intact")
    interrupted = sum(w.interrupted for w in writers)
    print(f"\ncrash drill ({store_url.split(':')[0]}, seed {drill_seed}): {KILLS} x {how} in "
          f"{elapsed:.1f} s; {counts['acknowledged']} acknowledged writes, all in the log once; "
          f"{interrupted} writes cut off, of which {counts['stored_unacknowledged']} "
          "had been stored (found once) and the rest not (sent again)")
