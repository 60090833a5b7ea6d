from __future__ import annotations

import pytest

from tests.webclient import running_app, world_and_people


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
