"""The real app over HTTP for tests of the API, the public pages and the auditor's pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, World, make_world
from tracker.application import SYSTEM, Tracker
from tracker.settings import Settings


@contextmanager
def running_app(settings: Settings) -> Iterator[TestClient]:
    """The app as `tracker serve` builds it, lifespan included."""
    from web.app import create_app

    app = create_app(settings)
    with TestClient(app) as client:
        yield client


@dataclass
class People:
    """Bearer tokens: one per party member of the world, plus an admin and an auditor."""

    tokens: dict[str, str] = field(default_factory=dict)

    def __call__(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def make_people(tracker: Tracker, world: World) -> People:
    people = People()
    for role in ("admin", "auditor"):
        tracker.add_account(SYSTEM, name=f"the-{role}", role=role, password=PASSWORD)
        people.tokens[role] = tracker.create_token(SYSTEM, f"the-{role}")
    for kind in world.members:
        people.tokens[kind] = tracker.create_token(SYSTEM, f"{world.slug}-{kind}")
    return people


def world_and_people(tracker: Tracker) -> tuple[World, People]:
    world = make_world(tracker)
    return world, make_people(tracker, world)


# --- fixtures (imported by the conftest of tests/api, tests/public, tests/audit) ---------------------

@pytest.fixture
def client(settings):
    with running_app(settings) as client:
        yield client


@pytest.fixture
def tracker_of(client):
    return client.app.state.tracker


@pytest.fixture
def world_people(tracker_of):
    return world_and_people(tracker_of)


@pytest.fixture
def world(world_people):
    return world_people[0]


@pytest.fixture
def as_(world_people):
    """Headers of a bearer token: as_("police"), as_("auditor") ..."""
    return world_people[1]
