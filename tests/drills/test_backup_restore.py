"""Backup and restore: `tracker export` from a live server under write load, `tracker import` into a
fresh PostgreSQL schema. The copy holds the same aggregates as the original had at the export's last
position, the same ledger head, passes `tracker verify`, and takes new writes after the old ones.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from uuid import UUID

import pytest

from tests.browser_support import ServerProcess, run_tracker
from tests.conftest import postgres_schema_url
from tests.drill_support import drill_settings, join_writers, make_writers, run_writers, seed
from tests.factories import PASSWORD
from tracker.bootstrap import build_application, build_read_models

WRITERS = 4


@pytest.fixture
def restore_url(postgres_url: str) -> Iterator[str]:
    """A second fresh schema (after `postgres_url`, which skips without PostgreSQL)."""
    yield from postgres_schema_url()


def comparable(aggregate: object) -> dict[str, object]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


@pytest.mark.slow
@pytest.mark.postgres
def test_an_export_under_load_imports_into_a_fresh_schema_as_the_same_log(
        postgres_url, restore_url, tmp_path):
    settings = drill_settings(postgres_url, tmp_path)
    seeded = seed(settings, commitments=WRITERS)
    backup = tmp_path / "backup.jsonl"
    stop = threading.Event()
    with ServerProcess(postgres_url, tmp_path) as server:
        writers = make_writers(seeded, lambda: [server.url], stop)
        threads = run_writers(writers)
        try:
            time.sleep(1.0)
            exported = run_tracker(postgres_url, tmp_path, "export", str(backup))
            time.sleep(0.5)  # the log keeps growing after the export
        finally:
            stop.set()
            join_writers(writers, threads)
    assert exported.returncode == 0, exported.stderr

    rows = [json.loads(line) for line in backup.read_text().splitlines()]
    last = rows[-1]["position"]
    last_versions = {}
    for row in rows:
        last_versions[UUID(row["originator_id"])] = row["originator_version"]

    imported = run_tracker(restore_url, tmp_path, "import", str(backup))
    assert imported.returncode == 0, imported.stderr
    verified = run_tracker(restore_url, tmp_path, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    source, copy = build_application(settings), build_application(drill_settings(restore_url, tmp_path))
    source_models = build_read_models(settings, source)
    try:
        assert source.recorder.max_notification_id() > last  # the export was taken under load
        assert copy.recorder.max_notification_id() == last
        # The same aggregates: each as the original had it at its last exported version.
        for originator_id, version in last_versions.items():
            assert comparable(copy.repository.get(originator_id)) == comparable(
                source.repository.get(originator_id, version=version))
        # The same ledger head: the original's chain at the exported position.
        source_models.catch_up(["ledger"])
        head_hash = source_models.store.fetchone("SELECT hash FROM rm_ledger WHERE position=?",
                                                 (last,))["hash"]
        assert f"head position {last}, head hash {head_hash}" in verified.stdout
        # The copy carries on: a member signs in, and a new write follows the imported log.
        police = copy.authenticate(f"{seeded.slug}-police", PASSWORD)
        parties = copy.commitment(seeded.commitments[0]).required_parties
        result = copy.propose_commitment(police, seeded.slug, title="Patrols after the restore",
                                         required_parties=parties)
        assert result.position > last
    finally:
        source_models.close()
        source.close()
        copy.close()
    print(f"\nbackup and restore (postgresql): {len(rows)} events exported under load "
          f"(log head {last}), imported; same aggregates ({len(last_versions)}), same ledger head")
