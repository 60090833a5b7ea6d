"""The one place that wires the tracker: settings in, application out. Nothing is built at import."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from projections.database import describe, event_store_env
from tracker.application import BINDING_KEYS, Tracker
from tracker.settings import Settings

if TYPE_CHECKING:
    from projections.readmodels import ReadModels
    from projections.store import Store
    from projections.tree import ProofService
    from tracker.idempotency import IdempotencyStore
    from tracker.mailer import Compose, Mailer, Subscriptions
    from tracker.photos import PhotoStore
    from tracker.sessions import SessionStore


def build_application(settings: Settings, today: Callable[[], date] = date.today) -> Tracker:
    """The application service on the event store the settings name, binding every event it
    writes with the settings' binding keys."""
    env = event_store_env(settings.database_url, settings.encryption_key)
    env[BINDING_KEYS] = settings.ensure_binding_keys()
    return Tracker(env=env, today=today)


def open_sealed_store(settings: Settings, app: Tracker) -> Store:
    """The store of the read models (and sessions), sealing private text with the encryption key;
    refuses (`projections.sealing.WrongKey`) a key this database was not sealed with, or none
    for a database that was."""
    from projections.sealing import claim, sealer_for
    from projections.store import close_store, open_store

    store = open_store(settings.database_url, sealer_for(settings.encryption_key))
    try:
        claim(store, settings.encryption_key, app.recorder.events_table_name,  # type: ignore[attr-defined]
              describe(settings.database_url))
    except BaseException:
        close_store(store)
        raise
    return store


def check_encryption(settings: Settings, app: Tracker) -> None:
    """Before a command uses the database: the encryption key opens it (else one line, exit 2)."""
    from projections.store import close_store

    close_store(open_sealed_store(settings, app))


def build_read_models(settings: Settings, app: Tracker, *, helper: bool = True) -> ReadModels:
    """The read models and the ledger, in the same database as the application's events; with
    the outbox (who is to be told of what: `tracker.notices`) and the commitments' present
    states (`projections.states`). A rebuild of a long log shares its views with a helper process
    (`helper_process`); `helper=False`: the helper's own read models (none of its own, and its
    caller made the tables)."""
    from projections.readmodels import ReadModels
    from projections.states import states_view
    from tracker.notices import outbox_view

    return ReadModels(app, open_sealed_store(settings, app),
                      default_timeout=settings.read_your_writes_timeout,
                      gather=settings.catch_up_gather_seconds,
                      extra_views=(outbox_view, states_view),
                      helper=partial(helper_process, settings) if helper else None,
                      ensure=helper)


@contextmanager
def helper_process(settings: Settings, names: Sequence[str]) -> Iterator[Callable[[], int]]:
    """A process of its own (a new interpreter: its own connections, nothing inherited, and the
    caller's main module not imported again) catching up these views while the caller does the
    others; gives the function that waits for it and returns how many events it applied. A
    refused event is raised again here as it was there; any other failure of the helper is one
    `ChildProcessError` naming it. Stopped if the caller fails first."""
    import json
    import subprocess
    import sys

    from projections.binding import UnboundEvent

    path = os.pathsep.join(entry for entry in sys.path if entry)
    helper = subprocess.Popen(
        [sys.executable, "-c", "from tracker.bootstrap import catch_up_views; catch_up_views()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path})
    assert helper.stdin is not None and helper.stdout is not None
    helper.stdin.write(json.dumps({"settings": settings.model_dump(mode="json"),
                                   "names": list(names)}).encode())
    helper.stdin.close()

    def result() -> int:
        answer = helper.stdout.read()  # type: ignore[union-attr]
        helper.wait()
        try:
            kind, value = json.loads(answer)
        except ValueError:  # (it died before answering)
            kind, value = "failed", f"it ended with exit status {helper.returncode}"
        if kind == "applied":
            return int(value)
        if kind == "refused":
            raise UnboundEvent(value)
        raise ChildProcessError(f"the process catching up {', '.join(names)} failed: {value}")

    try:
        yield result
    finally:
        if helper.poll() is None:  # (the caller failed first)
            helper.kill()
            helper.wait()
        helper.stdout.close()


def catch_up_views() -> None:
    """A helper process (`helper_process`): the settings and the views' names from standard
    input, then those views caught up, and on standard output how many events that applied, or
    why not."""
    import json
    import sys

    from projections.binding import UnboundEvent

    asked = json.loads(sys.stdin.buffer.read())
    settings, names = Settings(**asked["settings"]), asked["names"]
    try:
        app = build_application(settings)
        try:
            models = build_read_models(settings, app, helper=False)
            try:
                answer: tuple[str, object] = ("applied", models.catch_up(names))
            finally:
                models.close()
        finally:
            app.close()
    except UnboundEvent as error:
        answer = ("refused", str(error))
    except Exception as error:  # (told to the caller, which raises it)
        answer = ("failed", f"{type(error).__name__}: {error}")
    sys.stdout.write(json.dumps(answer))


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


def build_photos(settings: Settings, read_models: ReadModels) -> PhotoStore:
    """The photos of evidence, in the read models' database (sealed with the encryption key)."""
    from tracker.photos import PhotoStore

    return PhotoStore(read_models.store, encryption_key=settings.encryption_key)


def build_proofs(settings: Settings, read_models: ReadModels) -> ProofService:
    """Signed tree heads, proofs and cosignatures over the read models' tree, with the tracker's
    signing key and the registered witness keys."""
    from projections.tree import ProofService, witness_keys

    return ProofService(read_models.tree, read_models.public, settings.signing_key_file,
                        witness_keys(settings.witness_keys))


def build_subscriptions(settings: Settings, read_models: ReadModels) -> Subscriptions:
    """The public's subscriptions (addresses sealed with a key derived from the encryption key)."""
    from tracker.mailer import Addresses, Links, Subscriptions

    secret = settings.ensure_secret_key()
    return Subscriptions(read_models.store, Addresses(secret, settings.encryption_key),
                         Links(settings.base_url, secret))


def build_mailer(settings: Settings, app: Tracker, read_models: ReadModels, compose: Compose,
                 sender: object | None = None, log: Callable[[str], None] = lambda line: None
                 ) -> Mailer:
    """The outbox's worker, sending through TRACKER_SMTP_URL (or the `sender` given)."""
    from tracker.mailer import Addresses, Links, Mailer, SmtpSender, SmtpTarget

    if sender is None:
        if not settings.smtp_url:
            from projections.database import ConfigurationError

            raise ConfigurationError("set TRACKER_SMTP_URL (smtp://host:port) to send mail")
        sender = SmtpSender(SmtpTarget.parse(settings.smtp_url))
    secret = settings.ensure_secret_key()
    return Mailer(read_models.store, compose=compose, sender=sender, mail_from=settings.mail_from,
                  links=Links(settings.base_url, secret),
                  addresses=Addresses(secret, settings.encryption_key),
                  catch_up=read_models.catch_up, today=app.today, log=log)
