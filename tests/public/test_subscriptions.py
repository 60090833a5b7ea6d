"""The public subscribes to a dialogue by mail: double opt-in, public changes only (no private
sentinel ever reaches a subscriber), rate limits, one-click unsubscribe that deletes the address,
addresses never on a public surface and sealed when an encryption key is set. Real HTTP (the app),
a real SMTP server (aiosmtpd), SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from tests.factories import advance, propose
from tests.mail_support import html_of, smtp_server, text_of
from tests.webclient import running_app
from tracker.bootstrap import build_mailer
from tracker.mailer import SmtpSender, SmtpTarget
from web.mail import Composer

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ADDRESS = "resident.saaba@example.net"
SENTINEL = "SENTINEL-PRIVATE-7f3a"


def token_of(page: str) -> str:
    match = TOKEN.search(page)
    assert match
    return match.group(1)


def subscribe(client, address=ADDRESS, slug="saaba", headers=None):
    page = client.get(f"/public/dialogues/{slug}")
    return client.post(f"/public/dialogues/{slug}/subscribe",
                       data={"email": address, "csrf_token": token_of(page.text)},
                       headers=headers or {})


@pytest.fixture
def mailing(client, world, settings):
    app = client.app
    with smtp_server() as server:
        settings.smtp_url = server.url
        settings.base_url = "https://tracker.example.org"
        mailer = build_mailer(app.state.settings, app.state.tracker, app.state.read_models,
                              Composer(), sender=SmtpSender(SmtpTarget.parse(server.url)))
        yield mailer, server


def link_in(message, path: str) -> str:
    found = re.search(r"https://tracker\.example\.org(" + path + r"[^\s\"<]+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)


def test_only_the_confirmation_before_confirming_then_public_changes_without_private_data(
        client, tracker_of, world, mailing):
    mailer, server = mailing
    answer = subscribe(client)
    assert answer.status_code == 200
    # Changes before the confirmation: the unconfirmed address gets only the confirmation.
    cid = propose(tracker_of, world, title="Lights at the market").id
    mailer.run_once()
    [confirmation] = server.inbox.take()
    assert confirmation["To"] == ADDRESS
    assert "Confirm" in str(confirmation["Subject"]) or "Confirmez" in str(confirmation["Subject"])
    mailer.run_once()
    assert server.inbox.take() == []

    # Confirming is a button behind the link (scanners open links).
    path = link_in(confirmation, "/public/subscriptions/")
    page = client.get(path)
    assert page.status_code == 200
    assert client.post(path, data={"csrf_token": token_of(page.text)}).status_code == 200

    # Public changes, and private ones carrying a sentinel.
    police, vigilante = world.members["police"], world.members["vigilante"]
    tracker_of.commitment_action(vigilante, cid, "endorse", {"note": SENTINEL})
    tracker_of.propose_commitment(police, world.slug, title=f"Informants {SENTINEL}",
                                  required_parties=[world.parties["police"]], public=False,
                                  private_note=SENTINEL)
    advance(tracker_of, world, cid, "in_progress")
    tracker_of.commitment_action(police, cid, "progress", {"percent": 40, "public": False,
                                                           "note": SENTINEL})
    tracker_of.commitment_action(police, cid, "comment", {"note": SENTINEL})
    tracker_of.commitment_action(police, cid, "progress", {"percent": 60})
    mailer.run_once()
    messages = server.inbox.take()
    public_entries = client.get(f"/public/commitments/{cid}")
    assert public_entries.status_code == 200
    assert messages and all(m["To"] == ADDRESS for m in messages)
    for message in messages:
        whole = message.as_string() + text_of(message) + html_of(message)
        assert SENTINEL not in whole
        assert "/public/commitments/" in text_of(message)
        assert "Lights at the market" in text_of(message)
    # endorse, agree, assign, the public progress report (not the private one, not the note)
    assert len(messages) == 4

    # Every mail's one-click unsubscribe (RFC 8058), with no session: the address is gone.
    url = str(messages[0]["List-Unsubscribe"]).strip("<>").replace("https://tracker.example.org", "")
    anonymous = client.__class__(client.app)
    answer = anonymous.post(url, content=b"List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200
    store = client.app.state.read_models.store
    assert store.fetchall("SELECT * FROM mail_subscribers") == []
    tracker_of.commitment_action(police, cid, "progress", {"percent": 80})
    mailer.run_once()
    assert server.inbox.take() == []


def test_addresses_never_show_on_a_public_surface(client, world):
    subscribe(client)
    for path in ("/public/", "/public/dialogues/saaba", "/public/dialogues/saaba/feed.atom",
                 "/public/dialogues/saaba/commitments.json", "/public/dialogues/saaba/commitments.csv",
                 "/api/v1/public/dialogues/saaba"):
        assert ADDRESS not in client.get(path).text, path


def test_subscribing_is_rate_limited_per_address_and_per_client(client, world):
    for _ in range(3):
        assert subscribe(client).status_code == 200
    refused = subscribe(client)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    for n in range(6):  # 3 requests so far from this client, 10 allowed
        assert subscribe(client, f"other{n}@example.net").status_code == 200
    assert subscribe(client, "one.more@example.net").status_code == 200
    assert subscribe(client, "too.many@example.net").status_code == 429


def test_a_bad_address_or_dialogue_is_refused_clearly(client, world):
    assert subscribe(client, "not an address").status_code == 422
    page = client.get("/public/dialogues/saaba")
    answer = client.post("/public/dialogues/nowhere/subscribe",
                         data={"email": ADDRESS, "csrf_token": token_of(page.text)})
    assert answer.status_code == 404
    assert client.get("/public/subscriptions/forged").status_code == 404
    assert client.post("/unsubscribe/forged").status_code == 404


@pytest.fixture
def sealed_settings(settings):
    import base64
    import os

    settings.encryption_key = base64.b64encode(os.urandom(32)).decode()
    return settings


def test_addresses_are_sealed_when_an_encryption_key_is_set(sealed_settings):
    from tests.factories import make_world

    with running_app(sealed_settings) as client:
        make_world(client.app.state.tracker)
        assert subscribe(client).status_code == 200
        [row] = client.app.state.read_models.store.fetchall("SELECT * FROM mail_subscribers")
        assert row["address"].startswith("aesgcm:") and ADDRESS not in str(row)
        addresses = client.app.state.subscriptions.addresses
        assert addresses.open(row["address"]) == ADDRESS
