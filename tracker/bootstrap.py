"""The one place that wires the tracker: settings in, application out. Nothing is built at import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from tracker.application import Tracker
from tracker.persistence import event_store_env
from tracker.settings import Settings


def build_application(settings: Settings, today: Callable[[], date] = date.today) -> Tracker:
    """The application service on the event store the settings name."""
    return Tracker(env=event_store_env(settings), today=today)
