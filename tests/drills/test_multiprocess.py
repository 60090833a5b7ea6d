"""Several processes on one database: two web servers and the projection worker (`tracker
projections follow`, the Procfile's `worker:`), under the crash drill's write load. Written for
PostgreSQL; it runs on a SQLite file too (the Procfile's processes on the default store).

The writers send their commands to both servers in turn, so each command lands on one process and
the next one's read must see it. Every process catches the read models up (the servers on each
command and read, the worker all the time); afterwards every view is at the end of the log, each
event was applied once (the views equal a rebuild: a second application would, for one, count a
dispute twice), and every acknowledged write is in the log once. Midway the worker is killed with
SIGKILL and started again.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from tests.browser_support import ServerProcess, tracker_command, tracker_env
from tests.drill_support import (
    check_views_equal_rebuild,
    check_writes_stored_once,
    drill_settings,
    join_writers,
    make_writers,
    run_writers,
    seed,
)
from tracker.bootstrap import build_application, build_read_models

WRITERS = 6
LOAD_SECONDS = 6.0
IDLE_SECONDS = 2.0  # the worker stops once the log has been quiet this long


def start_worker(url: str, directory: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*tracker_command(), "projections", "follow", "--pause", "0.05",
         "--until-idle", str(IDLE_SECONDS)],
        env=tracker_env(url, directory), stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_two_servers_and_a_worker_apply_every_event_once(store_url, tmp_path):
    settings = drill_settings(store_url, tmp_path)
    seeded = seed(settings, commitments=WRITERS)
    servers = [ServerProcess(store_url, tmp_path, name=f"server-{n}") for n in (1, 2)]
    worker_log = (tmp_path / "worker.log").open("wb")
    worker = start_worker(store_url, tmp_path, worker_log)
    stop = threading.Event()
    try:
        # Both servers start at the same moment as the worker (start-up races included).
        starting = [threading.Thread(target=s.start) for s in servers]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join(60)
        assert all(s.process and s.process.poll() is None for s in servers), \
            [s.log_tail() for s in servers]
        writers = make_writers(seeded, lambda: [s.url for s in servers], stop)
        threads = run_writers(writers)
        time.sleep(LOAD_SECONDS / 2)
        worker.kill()  # SIGKILL, perhaps in the middle of a batch: it must roll back
        worker.wait(10)
        worker = start_worker(store_url, tmp_path, worker_log)
        time.sleep(LOAD_SECONDS / 2)
        stop.set()
        join_writers(writers, threads)
        worker.wait(timeout=60)
    finally:
        stop.set()
        for server in servers:
            server.stop()
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        worker_log.close()
    worker_said = (tmp_path / "worker.log").read_text()
    assert worker.returncode == 0, worker_said

    counts = check_writes_stored_once(settings, writers)
    head = check_views_equal_rebuild(settings)  # no catch-up here: the other processes did it
    # The tracking table holds one position per view, each at the end of the log.
    app = build_application(settings)
    models = build_read_models(settings, app)
    try:
        rows = models.store.fetchall("SELECT application_name, notification_id "
                                     f"FROM {models.store.tracking_table}")
        keys = {row["application_name"]: row["notification_id"] for row in rows}
        assert {view.key for view in models.views.values()} <= set(keys)
        assert all(keys[view.key] == head for view in models.views.values())
        disputes = sum(r["disputes"] for r in models.store.fetchall("SELECT disputes FROM rm_commitments"))
    finally:
        models.close()
        app.close()
    disputed = [note for w in writers for note in [a.note for a in w.acks] + w.stored_unacknowledged
                if int(note.split("-")[1]) % 3 == 2]  # the third command of each round
    assert disputes == len(disputed)
    print(f"\nmulti-process ({store_url.split(':')[0]}): 2 servers + worker (killed once), "
          f"{counts['acknowledged']} acknowledged writes in {LOAD_SECONDS:.0f} s, log head {head}, "
          f"{disputes} disputes counted once each; "
          f"worker: {worker_said.strip().splitlines()[-1]}")
