"""The read models of the test's tracker (`tracker` and `settings` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from projections.readmodels import ReadModels
from tracker.bootstrap import build_read_models


@pytest.fixture
def models(settings, tracker) -> Iterator[ReadModels]:
    read_models = build_read_models(settings, tracker)
    try:
        yield read_models
    finally:
        read_models.close()
