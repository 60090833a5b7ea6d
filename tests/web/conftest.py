"""The web app on a real store (SQLite, and PostgreSQL when TRACKER_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.browser_support import chromium, live_server  # noqa: F401 (fixtures for test_browser)
from tests.web.support import Site, build_site
from web.app import create_app


@pytest.fixture
def site(settings) -> Iterator[Site]:
    app = create_app(settings)
    with TestClient(app):  # runs the lifespan: the tracker and the read models
        site = build_site(app)
        try:
            yield site
        finally:
            for client in site.clients.values():
                client.close()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2 with small parameters, so that the many sign-ins of these tests stay fast. The
    production parameters are `tracker.application.PASSWORD_HASHING`; a hash records its own."""
    from argon2 import PasswordHasher

    from tracker import application

    monkeypatch.setattr(application, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
