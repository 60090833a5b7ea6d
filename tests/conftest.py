"""Fixtures shared by the whole suite: one store per backend, the application on it, demo-like data.

Every test that takes `store_url` (directly or through `tracker`) runs once on SQLite and once on
PostgreSQL. PostgreSQL runs need TRACKER_TEST_POSTGRES_URL; each test gets a schema of its own,
dropped afterwards. Without the variable the PostgreSQL runs skip, saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker.application import Tracker
from tracker.bootstrap import build_application
from tracker.settings import Settings

POSTGRES_URL = os.environ.get("TRACKER_TEST_POSTGRES_URL", "")


@pytest.fixture(autouse=True)
def forget_fastapi_callables() -> Iterator[None]:
    """FastAPI keeps the last 4,096 endpoints and dependencies it classified in module-level
    caches, and with them every application their closures hold (FastAPI's own /openapi.json
    endpoint is one): some 45 applications with their trackers and read models, a 2 GB heap that
    the interpreter took a minute to collect at exit. Forgotten after each test."""
    yield
    from fastapi.dependencies import models

    for name in ("_is_gen_callable_cached", "_is_async_gen_callable_cached",
                 "_is_coroutine_callable_cached"):
        cache = getattr(models, name, None)
        if cache is not None:
            cache.cache_clear()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, with the smallest cost: the production parameters take ~100-300 ms per hash
    here, and every test world signs in three members."""
    from argon2 import PasswordHasher

    monkeypatch.setattr("tracker.application._hasher",
                        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def postgres_schema_url() -> Iterator[str]:
    """A fresh schema in the test database, as a URL with ?schema=; dropped afterwards."""
    import psycopg

    from projections.database import postgres_params

    params = postgres_params(POSTGRES_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conninfo = dict(user=params["user"], password=params["password"], host=params["host"],
                    port=params["port"], dbname=params["dbname"], autocommit=True)
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}schema={schema}"
    finally:
        with psycopg.connect(**conninfo) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need TRACKER_TEST_POSTGRES_URL (CI sets it)")
    yield from postgres_schema_url()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """PostgreSQL only (multi-process drills): a fresh schema, as `store_url` gives one."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need TRACKER_TEST_POSTGRES_URL (CI sets it)")
    yield from postgres_schema_url()


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=store_url, var_dir=tmp_path / "var",
                    signing_key_file=tmp_path / "var" / "signing_key.pem",
                    secret_key="test-secret-key-not-for-production")


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The `tracker` command line, run in this process (`tracker.cli.main`), on the test's store."""
    monkeypatch.setenv("TRACKER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TRACKER_SIGNING_KEY_FILE", str(settings.signing_key_file))
    monkeypatch.setenv("TRACKER_VAR_DIR", str(settings.var_dir))
    return settings


@pytest.fixture
def tracker(settings: Settings) -> Iterator[Tracker]:
    app = build_application(settings)
    try:
        yield app
    finally:
        app.close()
