"""Helpers for the web tests: the app on a real store, signed-in clients, CSRF tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, World, make_world
from tracker.application import SYSTEM, Tracker

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: TestClient) -> str:
    """The CSRF token of this client's session (as the sign-in page shows it)."""
    match = TOKEN.search(client.get("/login").text)
    assert match, "the sign-in page carries a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; answers the new session's CSRF token."""
    response = client.post("/login", data={"username": name, "password": password,
                                           "csrf_token": csrf_token(client)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_token(client)


def position(tracker: Tracker) -> int:
    """The position of the last event in the log (to prove that nothing changed)."""
    return tracker.recorder.max_notification_id() or 0


@dataclass
class Site:
    """The web app on a real store: a dialogue (saaba) and another one (dakar), their members,
    an auditor and an admin."""

    app: FastAPI
    tracker: Tracker
    world: World
    other: World
    clients: dict[str, TestClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def read_models(self):
        return self.app.state.read_models

    def client(self, who: str) -> TestClient:
        """A client signed in as `who`: anonymous, member (police of saaba), vigilante, women,
        other (police of dakar), auditor or admin."""
        if who not in self.clients:
            client = TestClient(self.app, headers={"Accept-Language": "en"})
            names = {"member": "saaba-police", "vigilante": "saaba-vigilante",
                     "women": "saaba-women", "other": "dakar-police", "auditor": "auditor",
                     "admin": "admin"}
            self.tokens[who] = sign_in(client, names[who]) if who != "anonymous" \
                else csrf_token(client)
            self.clients[who] = client
        return self.clients[who]

    def post(self, who: str, path: str, data: dict | None = None, *, htmx: bool = False,
             **kwargs):
        client = self.client(who)
        data = dict(data or {})
        headers = kwargs.pop("headers", {})
        if htmx:
            headers = {"HX-Request": "true", "X-CSRF-Token": self.tokens[who], **headers}
        else:
            data.setdefault("csrf_token", self.tokens[who])
        return client.post(path, data=data, headers=headers, follow_redirects=False, **kwargs)

    def get(self, who: str, path: str, **kwargs):
        return self.client(who).get(path, follow_redirects=False, **kwargs)

    def settle(self) -> None:
        self.read_models.catch_up()


def build_site(app: FastAPI) -> Site:
    tracker = app.state.tracker
    world = make_world(tracker, "saaba")
    other = make_world(tracker, "dakar")
    tracker.add_account(SYSTEM, name="auditor", role="auditor", password=PASSWORD)
    tracker.add_account(SYSTEM, name="admin", role="admin", password=PASSWORD)
    site = Site(app=app, tracker=tracker, world=world, other=other)
    # Everyone signs in now: a sign-in is an event (SignedIn), and tests that check that nothing
    # was recorded must not see one happen in the middle.
    for who in ("member", "vigilante", "women", "other", "auditor", "admin"):
        site.client(who)
    app.state.read_models.catch_up()
    return site
