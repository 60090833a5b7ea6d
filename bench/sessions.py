"""Sessions benchmark: what reading a server-held session costs each request.

Every request with a session cookie reads its row (`tracker.sessions.SessionStore.load`: one
indexed SELECT, and at most once a minute an UPDATE of its last-seen time). The floor is the
cheapest read the same store can make (`SELECT 1`, same connection pool, same round trip), measured
in the same run, alternating blocks of 200; the ratio says what the session adds beyond the round
trip itself. Run: `python -m bench sessions` (PostgreSQL too with TRACKER_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from bench.stores import backends, fresh_store

BLOCKS = 10
PER_BLOCK = 200


def per_call(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(PER_BLOCK):
        call()
    return (time.perf_counter() - started) / PER_BLOCK


def run() -> list[str]:
    from projections.store import close_store, open_store
    from tracker.sessions import SessionStore

    lines = []
    for backend in backends():
        with fresh_store(backend) as url:
            store = open_store(url)
            try:
                sessions = SessionStore(store, idle=3600, lifetime=43200)
                session_id = "s" * 43
                sessions.save(session_id, {"account_id": "a", "epoch": 0, "lang": "fr"})
                floor, load = [], []
                bare = store.fetchone
                for _ in range(BLOCKS):
                    floor.append(per_call(lambda: bare("SELECT 1 AS n")))  # noqa: B023
                    load.append(per_call(lambda: sessions.load(session_id)))  # noqa: B023
            finally:
                close_store(store)
        f, s = statistics.median(floor), statistics.median(load)
        lines.append(f"{backend}: session read per request {s * 1e6:.0f} us, bare SELECT 1 "
                     f"{f * 1e6:.0f} us (medians of {BLOCKS} alternating blocks of {PER_BLOCK}); "
                     f"ratio {s / f:.2f}")
    return lines
