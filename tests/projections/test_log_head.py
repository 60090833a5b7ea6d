"""The log's last position asked on the event loop (projections.database.AsyncLogHead, PostgreSQL):
it is the event store's own answer, it sees every write committed before it was asked, callers
at once share one query's answer, and a lost connection makes one ask answer None (the caller
asks the event store instead) and the next one connect again."""

from __future__ import annotations

import asyncio

import psycopg

from projections.database import AsyncLogHead, postgres_params
from tests.factories import make_world
from tracker.application import SYSTEM
from tracker.bootstrap import build_application
from tracker.settings import Settings


def test_the_head_asked_on_the_loop_is_the_event_store_s_and_follows_every_write(
        postgres_url, tmp_path):
    tracker = build_application(Settings(database_url=postgres_url, var_dir=tmp_path / "var"))
    asker = AsyncLogHead(postgres_url, tracker.recorder.max_notification_id_statement)

    async def scenario() -> None:
        assert await asker.ask() == 0  # an empty log
        make_world(tracker)
        head = tracker.recorder.max_notification_id()
        assert head > 0 and await asker.ask() == head
        answers = await asyncio.gather(*(asker.ask() for _ in range(20)))
        assert answers == [head] * 20
        tracker.create_dialogue(SYSTEM, slug="dakar", name="Dialogue dakar", country="SN",
                                locality="Dakar", description="Thefts")
        assert await asker.ask() == tracker.recorder.max_notification_id() > head

        # The server ends the connection: that ask answers None, the next one reconnects.
        params = postgres_params(postgres_url)
        with psycopg.connect(user=params["user"], host=params["host"], port=params["port"],
                             dbname=params["dbname"], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)",
                          (asker._connection.info.backend_pid,))
        assert await asker.ask() is None
        assert await asker.ask() == tracker.recorder.max_notification_id()
        await asker.close()

    try:
        asyncio.run(scenario())
    finally:
        tracker.close()
