"""The one place that wires the tracker: settings in, application out. Nothing is built at import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from projections.database import event_store_env
from tracker.application import Tracker
from tracker.settings import Settings

if TYPE_CHECKING:
    from projections.readmodels import ReadModels
    from projections.tree import ProofService
    from tracker.idempotency import IdempotencyStore
    from tracker.photos import PhotoStore
    from tracker.sessions import SessionStore


def build_application(settings: Settings, today: Callable[[], date] = date.today) -> Tracker:
    """The application service on the event store the settings name."""
    return Tracker(env=event_store_env(settings.database_url, settings.encryption_key), today=today)


def build_read_models(settings: Settings, app: Tracker) -> ReadModels:
    """The read models and the ledger, in the same database as the application's events."""
    from projections.readmodels import ReadModels
    from projections.store import open_store

    return ReadModels(app, open_store(settings.database_url),
                      default_timeout=settings.read_your_writes_timeout)


def build_sessions(settings: Settings, read_models: ReadModels) -> SessionStore:
    """The web sessions and sign-in failures, in the read models' database (shared by every
    server process on it)."""
    from tracker.sessions import SessionStore

    return SessionStore(read_models.store, idle=settings.session_idle_seconds,
                        lifetime=settings.session_lifetime_seconds)


def build_idempotency(settings: Settings, read_models: ReadModels) -> IdempotencyStore:
    """The idempotency keys of commands, in the read models' database (shared by every server
    process on it); kept answers encrypted when the store has an encryption key."""
    from tracker.idempotency import IdempotencyStore

    return IdempotencyStore(read_models.store, encryption_key=settings.encryption_key)


def build_photos(read_models: ReadModels) -> PhotoStore:
    """The photos of evidence, in the read models' database."""
    from tracker.photos import PhotoStore

    return PhotoStore(read_models.store)


def build_proofs(settings: Settings, read_models: ReadModels) -> ProofService:
    """Signed tree heads, proofs and cosignatures over the read models' tree, with the tracker's
    signing key and the registered witness keys."""
    from projections.tree import ProofService, witness_keys

    return ProofService(read_models.tree, read_models.public, settings.signing_key_file,
                        witness_keys(settings.witness_keys))
