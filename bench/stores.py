"""Throw-away stores for benchmarks: a temporary SQLite file, and PostgreSQL when configured.

PostgreSQL runs need TRACKER_BENCH_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/tracker_test);
each store is a schema of its own in that database, dropped afterwards.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

POSTGRES_ENV = "TRACKER_BENCH_POSTGRES_URL"


def backends() -> list[str]:
    return ["sqlite"] + (["postgres"] if os.environ.get(POSTGRES_ENV) else [])


@contextmanager
def fresh_store(backend: str) -> Iterator[str]:
    """The database URL of a new, empty store on this backend; removed on exit."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tracker-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    import psycopg

    from projections.database import postgres_params

    url = os.environ[POSTGRES_ENV]
    params = postgres_params(url)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    conninfo = dict(user=params["user"], password=params["password"], host=params["host"],
                    port=params["port"], dbname=params["dbname"], autocommit=True)
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}schema={schema}"
    finally:
        with psycopg.connect(**conninfo) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def on_each_backend(measure: Callable[[str, Path], list[str]]) -> list[str]:
    """`measure(url, var_dir)` on a fresh store of each backend, its lines named by the backend,
    after the machine's load (the figures are read against it)."""
    lines = [f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared with other jobs)"]
    for backend in backends():
        with fresh_store(backend) as url, tempfile.TemporaryDirectory() as var_dir:
            lines += [f"{backend}: {line}" for line in measure(url, Path(var_dir))]
    return lines
