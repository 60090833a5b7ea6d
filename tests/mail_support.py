"""A real SMTP server in process (aiosmtpd) that keeps what it receives, and a world with addresses."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.factories import PASSWORD, World, make_world
from tracker.application import SYSTEM, Tracker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Inbox:
    """Every message the server accepted (parsed when taken, not while the server answers)."""

    received: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.received.append(envelope.content)
        return "250 OK"

    def take(self) -> list[EmailMessage]:
        with self.lock:
            found, self.received = self.received, []
        return [message_from_bytes(raw, policy=policy.default) for raw in found]  # type: ignore[misc]


class SmtpServer:
    """aiosmtpd on a fixed port of this machine, which can be stopped and started again."""

    def __init__(self, inbox: Inbox | None = None, port: int | None = None) -> None:
        self.inbox = inbox or Inbox()
        self.port = port or free_port()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


def keys_of(message: EmailMessage) -> list[str]:
    return str(message["X-Tracker-Notices"]).split()


def causes(messages: list[EmailMessage]) -> set[tuple[str, str]]:
    """(address, cause) of every notice in these messages."""
    return {(str(m["To"]), key.split("/")[1]) for m in messages for key in keys_of(m)}


# Members with addresses and languages: two for the police (English, French), one each for the
# vigilante group (French) and the women's association (English), and one without an address.
PEOPLE = {
    "police-en": ("police", "police.en@example.org", "en"),
    "police-fr": ("police", "police.fr@example.org", "fr"),
    "vigilante": ("vigilante", "koglweogo@example.org", "fr"),
    "women": ("women", "femmes@example.org", "en"),
    "silent": ("women", None, None),
}


def mail_world(tracker: Tracker, slug: str = "saaba") -> World:
    world = make_world(tracker, slug=slug, with_members=False)
    for name, (kind, email, language) in PEOPLE.items():
        tracker.add_account(SYSTEM, name=f"{slug}-{name}", role="member", password=PASSWORD,
                            email=email, language=language,
                            memberships=[(slug, world.parties[kind])])
        world.members[name] = tracker.authenticate(f"{slug}-{name}", PASSWORD)
    return world


class Today:
    """A date the test moves."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day
