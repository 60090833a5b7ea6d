"""What the reliability drills share: a seeded store, writers that drive the API over real HTTP, and
the checks of the event log and the read models afterwards.

The servers themselves are started by `tests.browser_support.ServerProcess`.

A `Writer` owns one commitment and walks it round progress -> complete -> dispute -> progress ...,
every command with `expected_version` and a note of its own (`w3-17`). When a request gets no answer
(the server was killed), the writer waits for a server and sends the SAME command again, with the same
expected version: a 2xx means the first attempt was lost, a 409 means it had been stored (the
expected version refuses a second copy). Either way it knows what the log must hold.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.factories import advance, make_world, propose
from tests.projection_helpers import dump
from tracker.application import SYSTEM
from tracker.bootstrap import build_application, build_read_models
from tracker.settings import Settings

SECRET = "test-secret-key-not-for-production"  # the same as tests.browser_support.tracker_env


def drill_settings(database_url: str, directory: Path) -> Settings:
    """The settings a `tracker` process started by `ServerProcess` in `directory` has."""
    return Settings(database_url=database_url, var_dir=directory / "var",
                    signing_key_file=directory / "var" / "ledger_signing_key.pem", secret_key=SECRET)


@dataclass
class Seed:
    slug: str
    commitments: list[str]  # all in progress, the police responsible
    versions: dict[str, int]
    tokens: dict[str, str]  # party kind -> bearer token


def seed(settings: Settings, commitments: int) -> Seed:
    """A dialogue with three member accounts and `commitments` commitments in progress."""
    app = build_application(settings)
    try:
        world = make_world(app)
        ids = []
        for n in range(commitments):
            commitment_id = propose(app, world, title=f"Night patrols, district {n + 1}").id
            advance(app, world, commitment_id, "in_progress")
            ids.append(commitment_id)
        tokens = {kind: app.create_token(SYSTEM, f"{world.slug}-{kind}") for kind in world.members}
        versions = {i: app.commitment(i).version for i in ids}
        return Seed(slug=world.slug, commitments=ids, versions=versions, tokens=tokens)
    finally:
        app.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- writers -----------------------------------------------------------------------------------------

# One round of a commitment in progress: who does what (the police are responsible; the vigilante
# group disputes the completion, which puts it back in progress).
ROUND: tuple[tuple[str, str, Callable[[int], dict[str, Any]]], ...] = (
    ("police", "progress", lambda n: {"percent": n % 90 + 5}),
    ("police", "complete", lambda n: {"summary": f"Patrols run, week {n}"}),
    ("vigilante", "dispute", lambda n: {"reason": f"Not seen in week {n}"}),
)


@dataclass
class Ack:
    """An acknowledged write: the server's answer and the note that makes the command unique."""

    note: str
    id: str
    version: int
    position: int


@dataclass
class Writer:
    """A client thread that owns one commitment and keeps changing it through the API."""

    number: int
    commitment_id: str
    version: int
    tokens: dict[str, str]
    urls: Callable[[], Sequence[str]]  # the servers to use; requests go round them
    stop: threading.Event
    max_commands: int = 10_000
    patience: float = 45.0  # how long to wait for some server to answer before giving up
    acks: list[Ack] = field(default_factory=list)
    stored_unacknowledged: list[str] = field(default_factory=list)  # notes: stored, answer lost
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    unanswered: int = 0  # requests that got no answer (server killed, or not up yet)
    interrupted: int = 0  # commands whose first attempt got no answer
    error: BaseException | None = None

    def run(self) -> None:
        turn = itertools.count()
        with httpx.Client(timeout=10) as client:
            try:
                for sequence in range(self.max_commands):
                    if self.stop.is_set():
                        return
                    self._command(client, turn, sequence)
                    if sequence % 5 == 4:
                        self._read_own_writes(client, turn)
            except BaseException as error:  # reported by the test
                self.error = error

    def _read_own_writes(self, client: httpx.Client, turn: itertools.count) -> None:
        """The commitment's history, from the read models of the next server (perhaps not the one
        that stored the last write, perhaps one restarted since): it shows every write so far."""
        response = self._send(client, turn, "GET", f"/api/v1/commitments/{self.commitment_id}/history",
                              "police", None)
        assert response is not None and response.status_code == 200, response
        seen = max(event["version"] for event in response.json()["events"])
        assert seen == self.version, f"writer {self.number} wrote version {self.version}, read {seen}"

    def _command(self, client: httpx.Client, turn: itertools.count, sequence: int) -> None:
        who, action, fields = ROUND[sequence % len(ROUND)]
        note = f"w{self.number}-{sequence}"
        body = {**fields(sequence), "expected_version": self.version, "note": note}
        path = f"/api/v1/commitments/{self.commitment_id}/{action}"
        retried = False
        deadline = time.monotonic() + self.patience
        while (response := self._send(client, turn, "POST", path, who, body)) is None:
            # No answer: it may have been stored. Ask again with the same expected version.
            self.interrupted += not retried
            retried = True
            if time.monotonic() > deadline:
                raise AssertionError(f"{action} {note}: no server answered for {self.patience} s")
            time.sleep(0.05)
        if response.status_code == 200:
            answer = response.json()
            self.acks.append(Ack(note, answer["id"], answer["version"], answer["position"]))
            self.version = answer["version"]
            return
        if response.status_code == 409 and retried:
            self.stored_unacknowledged.append(note)
            self.version += 1
            return
        raise AssertionError(f"{action} {note}: {response.status_code} {response.text[:300]}")

    def _send(self, client: httpx.Client, turn: itertools.count, method: str, path: str, who: str,
              body: dict[str, Any] | None) -> httpx.Response | None:
        """One request to the next server. A POST that got no answer (the server died meanwhile)
        gives None; a GET is tried again, bounded by `patience`."""
        deadline = time.monotonic() + self.patience
        while True:
            urls = self.urls()
            url = urls[next(turn) % len(urls)]
            try:
                response = client.request(method, url + path, json=body,
                                          headers=bearer(self.tokens[who]))
            except httpx.TransportError:
                self.unanswered += 1
                if method == "POST":  # it may have reached the server: the caller decides
                    return None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            return response


def run_writers(writers: Sequence[Writer]) -> list[threading.Thread]:
    threads = [threading.Thread(target=w.run, name=f"writer-{w.number}", daemon=True)
               for w in writers]
    for thread in threads:
        thread.start()
    return threads


def join_writers(writers: Sequence[Writer], threads: Sequence[threading.Thread],
                 timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a writer did not stop"
    errors = [w.error for w in writers if w.error is not None]
    assert not errors, errors


def make_writers(seeded: Seed, urls: Callable[[], Sequence[str]], stop: threading.Event,
                 **options: Any) -> list[Writer]:
    return [Writer(number=n, commitment_id=commitment_id, version=seeded.versions[commitment_id],
                   tokens=seeded.tokens, urls=urls, stop=stop, **options)
            for n, commitment_id in enumerate(seeded.commitments)]


# --- checks afterwards ---------------------------------------------------------------------------------

def events_by_note(settings: Settings) -> dict[str, list[tuple[str, int, int]]]:
    """Every event of the log that carries a note: note -> [(aggregate id, version, position)]."""
    app = build_application(settings)
    found: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    try:
        after = 0
        while notes := app.recorder.select_notifications(after, 500, inclusive_of_start=False):
            for notification in notes:
                event = app.mapper.to_domain_event(notification)
                note = getattr(getattr(event, "meta", None), "note", None)
                if note:
                    found[note].append((str(event.originator_id), event.originator_version,
                                        notification.id))
            after = notes[-1].id
    finally:
        app.close()
    return found


def check_writes_stored_once(settings: Settings, writers: Sequence[Writer]) -> dict[str, int]:
    """Every acknowledged write is in the log exactly once, where its answer said; every write whose
    answer was lost is there once too; nothing else was written to the writers' commitments."""
    found = events_by_note(settings)
    acknowledged = unacknowledged = 0
    for writer in writers:
        for ack in writer.acks:
            assert found.get(ack.note) == [(ack.id, ack.version, ack.position)], (ack, found.get(ack.note))
        for note in writer.stored_unacknowledged:
            assert len(found.get(note, [])) == 1, (note, found.get(note))
        ours = {note for note in found if note.startswith(f"w{writer.number}-")}
        assert ours == {a.note for a in writer.acks} | set(writer.stored_unacknowledged)
        acknowledged += len(writer.acks)
        unacknowledged += len(writer.stored_unacknowledged)
    assert all(len(places) == 1 for places in found.values())
    return {"acknowledged": acknowledged, "stored_unacknowledged": unacknowledged}


def check_views_equal_rebuild(settings: Settings, catch_up: bool = False) -> int:
    """Every read model has reached the end of the log (after a catch-up here, if asked) and holds
    exactly what a rebuild from the log gives; returns the log's head position."""
    app = build_application(settings)
    models = build_read_models(settings, app)
    try:
        if catch_up:
            models.catch_up()
        head = app.recorder.max_notification_id() or 0
        assert models.positions() == dict.fromkeys(models.views, head)
        incremental = dump(models)
        models.rebuild()
        models.rebuild("ledger")
        assert dump(models) == incremental
        return head
    finally:
        models.close()
        app.close()

