"""Mail: delivering the outbox through SMTP, exactly once per recipient and cause, and the public's
subscriptions.

`Mailer.run_once()` catches the read models up, then gathers what is due: the outbox's notices
(`projections.outbox`), the reminders (`tracker.notices.waiting_for` over the commitments' due
dates, with the date of the run), the public changes for confirmed subscribers, and the
confirmation each new subscriber is sent (and nothing else until they confirm). Each has a key
(recipient, cause, record, position or due date); `mail_deliveries` holds one row per key:
`sending` (claimed, with a lease), `sent`, `retry` (the server refused or was down: tried again
after a backoff), `failed` (given up after MAX_ATTEMPTS, with the last error) or `skipped` (no
address, mail turned off, or the person may no longer read the record). A key with a row is never
taken again unless it is `retry` or an expired `sending`, so a notice is sent at least once and,
unless the worker dies between the server's acceptance and the next commit, once only; then the
copy carries the same Message-ID. The delivery rows are state, not records: a rebuild of the
outbox writes the same keys again and sends nothing twice.

Accounts choose immediate mail (one message per notice), a daily digest (at most one message a
day, everything pending) or none. A member is sent only about dialogues they are still a member
of; a subscriber's mail is built from the public read model only (`pub_*` tables).

Subscribers' addresses are personal data: kept only in `mail_subscribers` (never in the log),
encrypted with AES-GCM when TRACKER_ENCRYPTION_KEY is set, looked up by a keyed hash, and the row
is deleted at once on unsubscribe.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
import smtplib
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

from itsdangerous import BadSignature, URLSafeSerializer

from domain.account import check_email
from domain.errors import InvalidInput
from projections.database import ConfigurationError
from projections.sealing import derived_aead
from projections.store import Store
from tracker.notices import REMINDERS, Cause, waiting_for

TABLES = {
    # One row per key; for the outbox's notices also who, why and about what (`pending`: taken
    # from the outbox, not yet tried).
    "mail_deliveries": "key TEXT PRIMARY KEY, kind TEXT, status TEXT, attempts INTEGER, "
                       "next_at DOUBLE PRECISION, updated_at DOUBLE PRECISION, error TEXT, "
                       "account_id TEXT, cause TEXT, commitment_id TEXT, dialogue_id TEXT, "
                       "position BIGINT, event_type TEXT",
    # How far the outbox's rows were taken into mail_deliveries (a rebuilt outbox has the same
    # positions: nothing is taken twice).
    "mail_state": "name TEXT PRIMARY KEY, position BIGINT",
    "mail_digests": "account_id TEXT, day TEXT, PRIMARY KEY (account_id, day)",
    "mail_subscribers": "id TEXT PRIMARY KEY, dialogue_id TEXT, address TEXT, address_hash TEXT, "
                        "language TEXT, confirmed INTEGER, from_position BIGINT, "
                        "created_at DOUBLE PRECISION, UNIQUE (dialogue_id, address_hash)",
    "mail_requests": "what TEXT, at DOUBLE PRECISION",
}
INDEXES = ("ix_mail_deliveries_status ON mail_deliveries(status, next_at)",
           "ix_mail_deliveries_pending ON mail_deliveries(kind, status, position)",
           "ix_mail_subscribers_dialogue ON mail_subscribers(dialogue_id, confirmed)",
           "ix_mail_requests ON mail_requests(what, at)")

# Headers folded only past RFC 5322's line limit: a folded List-Unsubscribe starts with a space.
HEADERS = compat32.clone(max_line_length=998)
MAX_ATTEMPTS = 8  # then given up: status `failed`, with the last error
FIRST_BACKOFF = 60.0  # seconds before the second attempt, doubling each time ...
MAX_BACKOFF = 6 * 3600.0  # ... up to six hours
LEASE = 300.0  # a claimed (`sending`) key whose worker died is taken again after this long
BATCH = 200  # keys gathered per round of a run
# Subscribing: at most this many requests per address and per client in RATE_WINDOW seconds.
PER_ADDRESS, PER_CLIENT, RATE_WINDOW = 3, 10, 3600.0


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt."""
    return min(FIRST_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)


# --- the SMTP server ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes: `smtp://[user:password@]host:port` (STARTTLS when the server offers it)
    or `smtps://...` (TLS from the start)."""

    tls: bool
    host: str
    port: int
    user: str = ""
    password: str = ""

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigurationError(
                "TRACKER_SMTP_URL is smtp://[user:password@]host:port or smtps://...")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ConfigurationError("TRACKER_SMTP_URL has a bad port") from None
        return cls(parts.scheme == "smtps", parts.hostname, port,
                   unquote(parts.username or ""), unquote(parts.password or ""))


class SmtpSender:
    """One connection per run of the worker; `send` raises OSError or smtplib.SMTPException."""

    def __init__(self, target: SmtpTarget, timeout: float = 20.0,
                 context: ssl.SSLContext | None = None) -> None:
        self.target = target
        self.timeout = timeout
        self.context = context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        smtp: smtplib.SMTP
        if t.tls:
            smtp = smtplib.SMTP_SSL(t.host, t.port, timeout=self.timeout, context=self.context)
        else:
            smtp = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self.context)
                smtp.ehlo()
        if t.user:
            smtp.login(t.user, t.password)
        # smtplib writes a message's commands and data in several small pieces: without this,
        # each waits on the peer's delayed acknowledgement (40 ms a message here).
        with contextlib.suppress(OSError, AttributeError):
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return smtp

    def send(self, message: Message) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None


# --- addresses: sealed when a key is set ----------------------------------------------------------

class Addresses:
    """Seals and opens addresses, and hashes them (keyed) to find and count them."""

    def __init__(self, secret_key: str, encryption_key: str = "") -> None:
        self._hash_key = hashlib.sha256(b"address hash:" + secret_key.encode()).digest()
        self._aead = (derived_aead(encryption_key, b"subscribers' addresses v1")
                      if encryption_key else None)

    def digest(self, address: str) -> str:
        return hmac.new(self._hash_key, address.strip().casefold().encode(), "sha256").hexdigest()

    def seal(self, address: str) -> str:
        if self._aead is None:
            return address
        nonce = secrets.token_bytes(12)
        return "aesgcm:" + base64.b64encode(
            nonce + self._aead.encrypt(nonce, address.encode(), b"address")).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith("aesgcm:"):
            return stored
        if self._aead is None:
            raise ConfigurationError("subscribers' addresses are encrypted: set "
                                     "TRACKER_ENCRYPTION_KEY to the key they were sealed with")
        raw = base64.b64decode(stored[len("aesgcm:"):])
        return self._aead.decrypt(raw[:12], raw[12:], b"address").decode()


# --- links in mail ---------------------------------------------------------------------------------

class Links:
    """Absolute links, and the signed tokens behind unsubscribe and confirmation links."""

    def __init__(self, base_url: str, secret_key: str) -> None:
        self.base = base_url.rstrip("/")
        self._tokens = URLSafeSerializer(secret_key, salt="tracker mail links")

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def token(self, kind: str, ident: str) -> str:
        return self._tokens.dumps([kind, ident])

    def read(self, token: str, kind: str) -> str | None:
        """The id a token of this kind names, or None for a bad one."""
        try:
            found = self._tokens.loads(token)
        except BadSignature:
            return None
        if isinstance(found, list) and len(found) == 2 and found[0] == kind:
            return str(found[1])
        return None

    def unsubscribe(self, kind: str, ident: str) -> str:
        return self.url(f"/unsubscribe/{self.token(kind, ident)}")

    def confirm(self, subscriber_id: str) -> str:
        return self.url(f"/public/subscriptions/{self.token('confirm', subscriber_id)}")


# --- what a mail says --------------------------------------------------------------------------------

@dataclass
class MailItem:
    """One notice as a mail shows it (plain values; nothing the recipient may not read)."""

    cause: str
    event_type: str
    title: str
    dialogue: str
    status: str
    link: str
    due_date: str | None = None
    reason: str | None = None


@dataclass
class Mail:
    """A message to compose: `kind` is notice, digest, public or confirm."""

    kind: str
    to: str
    language: str
    keys: list[str]
    unsubscribe: str
    items: list[MailItem] = field(default_factory=list)
    confirm: str | None = None
    dialogue: str = ""


Compose = Callable[[Mail], tuple[str, str, str]]  # -> subject, plain text, HTML


@dataclass
class RunReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    messages: int = 0

    def add(self, other: RunReport) -> None:
        for name in ("sent", "retried", "failed", "skipped", "messages"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _commitment_item(row: dict[str, Any], cause: str, event_type: str, dialogue: str,
                     link: str, reason: str | None = None) -> MailItem:
    return MailItem(cause=cause, event_type=event_type, title=row["title"], dialogue=dialogue,
                    status=row["status"], link=link, due_date=row.get("due_date"), reason=reason)


class Mailer:
    """The outbox's worker, on the read models' store."""

    def __init__(self, store: Store, *, compose: Compose, sender: Any, mail_from: str,
                 links: Links, addresses: Addresses,
                 catch_up: Callable[[], Any] = lambda: None,
                 today: Callable[[], date] = date.today,
                 clock: Callable[[], float] = time.time,
                 log: Callable[[str], None] = lambda line: None) -> None:
        self.store = store
        self.compose = compose
        self.sender = sender
        self.mail_from = mail_from
        self.links = links
        self.addresses = addresses
        self.catch_up = catch_up
        self.today = today
        self.clock = clock
        self.log = log
        ensure_tables(store)

    # --- a run ------------------------------------------------------------------------------------

    def run_once(self) -> RunReport:
        """Send everything due now; returns what happened."""
        self.catch_up()
        report = RunReport()
        try:
            while True:
                mails = self._gather()
                if not mails:
                    break
                round_ = self._send(mails)
                report.add(round_)
                if round_.sent == 0 and round_.skipped == 0:
                    break  # every attempt failed: the rest waits for its backoff
        finally:
            self.sender.close()
        return report

    def _fetch(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.store.fetchall(statement, params)

    def _due(self, keys: Iterable[str]) -> set[str]:
        """Of these keys, those not yet delivered, or due for another attempt."""
        keys = list(keys)
        if not keys:
            return set()
        now = self.clock()
        done = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            for row in self._fetch(
                    "SELECT key, status, next_at FROM mail_deliveries WHERE key IN "
                    f"({','.join('?' * len(chunk))})", chunk):
                if row["status"] not in ("retry", "sending") or row["next_at"] > now:
                    done.add(row["key"])
        return set(keys) - done

    def _gather(self) -> list[Mail]:
        mails: list[Mail] = []
        now = self.clock()
        pending_sql = ("LEFT JOIN mail_deliveries d ON d.key={key} WHERE (d.key IS NULL OR "
                       "(d.status IN ('retry','sending') AND d.next_at<=?))")
        # The outbox's notices, and the reminders, per account.
        # (Not those of accounts whose daily digest went out today: they wait for tomorrow's.)
        self._take_outbox()
        notices = self._fetch(
            "SELECT key, account_id, cause, commitment_id, dialogue_id, event_type, position "
            "FROM mail_deliveries WHERE kind='notice' AND (status='pending' OR "
            "(status IN ('retry','sending') AND next_at<=?)) "
            "AND account_id NOT IN (SELECT account_id FROM mail_digests WHERE day=?) "
            "ORDER BY position LIMIT ?", (now, self.today().isoformat(), BATCH))
        notices.extend(self._reminders())
        by_account: dict[str, list[dict[str, Any]]] = {}
        for notice in notices:
            by_account.setdefault(notice["account_id"], []).append(notice)
        for account_id, found in by_account.items():
            mails.extend(self._account_mails(account_id, found))
        # Confirmations, then public changes, per subscriber.
        for row in self._fetch(
                "SELECT s.id, s.address, s.language, s.dialogue_id FROM mail_subscribers s "
                + pending_sql.format(key="s.id || '/confirm'") + " AND s.confirmed=0 LIMIT ?",
                (now, BATCH)):
            mails.append(self._confirmation(row))
        public = self._fetch(
            "SELECT s.id AS subscriber, s.address, s.language, p.position, p.commitment_id, "
            "p.dialogue_id, p.event_type FROM ob_events p JOIN mail_subscribers s "
            "ON s.dialogue_id=p.dialogue_id AND p.public=1 AND s.confirmed=1 "
            "AND p.position>s.from_position "
            + pending_sql.format(key="s.id || '/public/' || CAST(p.position AS TEXT)")
            + " ORDER BY p.position LIMIT ?", (now, BATCH))
        for row in public:
            mail = self._public_mail(row)
            if mail is not None:
                mails.append(mail)
            else:  # no longer public: nothing to say, and nothing to say later
                self._mark([f"{row['subscriber']}/public/{row['position']}"], "skipped", None)
        return mails

    def _take_outbox(self) -> None:
        """The outbox's new rows as `pending` deliveries, one per recipient and cause, with the
        position reached, in one transaction (under a lock: one worker at a time takes them; a
        key already there is left as it is)."""
        import json

        from projections.outbox import notice_key
        from projections.store import PostgresStore

        lock = " FOR UPDATE" if isinstance(self.store, PostgresStore) else ""
        now = self.clock()
        while True:
            with self.store.transaction(commit=True) as cursor:
                sql = self.store.sql
                cursor.execute(sql("INSERT INTO mail_state VALUES ('outbox', 0) "
                                   "ON CONFLICT DO NOTHING"))
                cursor.execute(sql("SELECT position AS p FROM mail_state WHERE name='outbox'"
                                   + lock))
                at = int(cursor.fetchone()["p"])
                cursor.execute(sql("SELECT position, dialogue_id, commitment_id, event_type, told "
                                   "FROM ob_events WHERE position>? ORDER BY position LIMIT ?"),
                               (at, 2000))
                rows = cursor.fetchall()
                if not rows:
                    return
                pending = [
                    (notice_key(account, cause, r["commitment_id"], r["position"]), "notice",
                     "pending", 0, 0.0, now, None, account, cause, r["commitment_id"],
                     r["dialogue_id"], r["position"], r["event_type"])
                    for r in rows for account, cause in json.loads(r["told"])]
                self.store.execute_many(cursor, "INSERT INTO mail_deliveries VALUES "
                                        "(?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (key) DO NOTHING",
                                        pending)
                cursor.execute(sql("UPDATE mail_state SET position=? WHERE name='outbox'"),
                               (rows[-1]["position"],))

    def _reminders(self) -> list[dict[str, Any]]:
        """Due within seven days, or overdue: for each member of the responsible party now."""
        today = self.today()
        horizon = date.fromordinal(today.toordinal() + 7).isoformat()
        rows = self._fetch(
            "SELECT id, dialogue_id, status, required_parties, endorsements, responsible_party, "
            "due_date, completed_by FROM rm_commitments WHERE status='in_progress' "
            "AND due_date IS NOT NULL AND due_date<=?", (horizon,))
        if not rows:
            return []
        members: dict[tuple[str, str], list[str]] = {}
        for m in self._fetch("SELECT account_id, dialogue_id, party_id FROM ob_members"):
            members.setdefault((m["dialogue_id"], m["party_id"]), []).append(m["account_id"])
        found = []
        for row in rows:
            for cause, _ in waiting_for(row["responsible_party"], [row], today):
                if cause not in REMINDERS:
                    continue
                for account in members.get((row["dialogue_id"], row["responsible_party"]), ()):
                    found.append({"key": f"{account}/{cause}/{row['id']}/{row['due_date']}",
                                  "account_id": account, "cause": str(cause),
                                  "commitment_id": row["id"], "dialogue_id": row["dialogue_id"],
                                  "event_type": "", "position": 0})
        due = self._due(n["key"] for n in found)
        return [n for n in found if n["key"] in due]

    # --- accounts -----------------------------------------------------------------------------------

    def _account_mails(self, account_id: str, notices: list[dict[str, Any]]) -> list[Mail]:
        account = self.store.fetchone("SELECT * FROM ob_accounts WHERE id=?", (account_id,))
        if not account or not account["email"] or not account["active"] or account["mail"] == "off":
            self._mark([n["key"] for n in notices], "skipped", None)
            return []
        import json

        memberships = json.loads(account["memberships"] or "{}")
        readable, unreadable = [], []
        for notice in notices:
            may = account["role"] in ("admin", "auditor") or (
                account["role"] == "member" and notice["dialogue_id"] in memberships)
            (readable if may else unreadable).append(notice)
        if unreadable:
            self._mark([n["key"] for n in unreadable], "skipped", None)
        if not readable:
            return []
        if account["mail"] == "digest":
            day = self.today().isoformat()
            if self.store.fetchone("SELECT 1 AS x FROM mail_digests WHERE account_id=? AND day=?",
                                   (account_id, day)):
                return []  # today's digest went out: the rest waits for tomorrow's
            groups = [readable]
        else:  # one message per event (two causes of one event: one message)
            by_event: dict[str, list[dict[str, Any]]] = {}
            for notice in readable:
                by_event.setdefault(str(notice["position"] or notice["key"]), []).append(notice)
            groups = list(by_event.values())
        language = account["language"] or "fr"
        unsubscribe = self.links.unsubscribe("account", account_id)
        mails = []
        for group in groups:
            items = [self._private_item(n) for n in group]
            mails.append(Mail(kind="digest" if account["mail"] == "digest" else "notice",
                              to=account["email"], language=language,
                              keys=[n["key"] for n in group], unsubscribe=unsubscribe,
                              items=[i for i in items if i is not None]))
        return mails

    def _private_item(self, notice: dict[str, Any]) -> MailItem | None:
        row = self.store.fetchone("SELECT c.*, d.name AS dialogue FROM rm_commitments c JOIN "
                                  "rm_dialogues d ON d.id=c.dialogue_id WHERE c.id=?",
                                  (notice["commitment_id"],))
        if row is None:
            return None
        reason = None
        if notice["position"]:
            entry = self.store.fetchone("SELECT reason FROM rm_timeline WHERE position=?",
                                        (notice["position"],))
            reason = entry["reason"] if entry else None
        return _commitment_item(row, notice["cause"], notice["event_type"], row["dialogue"],
                                self.links.url(f"/commitments/{row['id']}"), reason)

    # --- the public ---------------------------------------------------------------------------------

    def _confirmation(self, row: dict[str, Any]) -> Mail:
        dialogue = self.store.fetchone("SELECT name FROM pub_dialogues WHERE id=?",
                                       (row["dialogue_id"],))
        return Mail(kind="confirm", to=self.addresses.open(row["address"]),
                    language=row["language"] or "fr", keys=[f"{row['id']}/confirm"],
                    unsubscribe=self.links.unsubscribe("subscriber", row["id"]),
                    confirm=self.links.confirm(row["id"]),
                    dialogue=dialogue["name"] if dialogue else "")

    def _public_mail(self, row: dict[str, Any]) -> Mail | None:
        """Built from the public read model only: the public commitment and its public entry."""
        entry = self.store.fetchone(
            "SELECT h.type, h.reason, c.id, c.title, c.status, c.due_date, d.name AS dialogue, "
            "d.slug FROM pub_history h JOIN pub_commitments c ON c.id=h.commitment_id "
            "JOIN pub_dialogues d ON d.id=c.dialogue_id WHERE h.position=?", (row["position"],))
        if entry is None:
            return None
        item = _commitment_item(entry, str(Cause.PUBLIC), entry["type"], entry["dialogue"],
                                self.links.url(f"/public/commitments/{entry['id']}"),
                                entry["reason"])
        return Mail(kind="public", to=self.addresses.open(row["address"]),
                    language=row["language"] or "fr",
                    keys=[f"{row['subscriber']}/public/{row['position']}"],
                    unsubscribe=self.links.unsubscribe("subscriber", row["subscriber"]),
                    items=[item], dialogue=entry["dialogue"])

    # --- sending --------------------------------------------------------------------------------------

    def message(self, mail: Mail) -> Message:
        """The MIME message: plain text and HTML alternatives, the unsubscribe headers, and a
        Message-ID made from its keys (the same for a copy sent again). Built with the classic
        `email.mime` classes: the newer EmailMessage parses every header it is given, which took
        most of the time of sending a thousand notices."""
        subject, text, html = self.compose(mail)
        message = MIMEMultipart("alternative", policy=HEADERS)
        message.attach(MIMEText(text, "plain", "utf-8"))
        message.attach(MIMEText(html, "html", "utf-8"))
        message["From"] = self.mail_from
        message["To"] = mail.to
        message["Subject"] = Header(subject, "utf-8").encode()
        message["Date"] = formatdate(self.clock(), usegmt=True)
        domain = self.mail_from.rpartition("@")[2].strip(">") or "tracker.invalid"
        digest = hashlib.sha256(" ".join(sorted(mail.keys)).encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{domain}>"
        message["Content-Language"] = mail.language
        message["List-Unsubscribe"] = f"<{mail.unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        message["Auto-Submitted"] = "auto-generated"
        message["X-Tracker-Notices"] = " ".join(mail.keys)
        return message

    def _mark(self, keys: Sequence[str], status: str, error: str | None,
              next_at: float = 0.0, kind: str = "") -> None:
        if not keys:
            return
        now = self.clock()
        with self.store.transaction(commit=True) as cursor:
            self.store.execute_many(cursor, (
                "INSERT INTO mail_deliveries (key, kind, status, attempts, next_at, updated_at, "
                "error) VALUES (?,?,?,?,?,?,?) ON CONFLICT (key) DO UPDATE "
                "SET status=excluded.status, next_at=excluded.next_at, "
                "updated_at=excluded.updated_at, error=excluded.error, "
                "attempts=mail_deliveries.attempts+excluded.attempts"),
                [(key, kind, status, 1 if status in ("retry", "failed") else 0, next_at,
                  now, error) for key in keys])

    def _attempts(self, key: str) -> int:
        row = self.store.fetchone("SELECT attempts FROM mail_deliveries WHERE key=?", (key,))
        return int(row["attempts"]) if row else 0

    def _send(self, mails: list[Mail]) -> RunReport:
        report = RunReport()
        down: str | None = None  # the server is unreachable: the rest of this round waits
        for mail in mails:
            if not mail.items and mail.kind != "confirm":
                self._mark(mail.keys, "skipped", None)
                report.skipped += len(mail.keys)
                continue
            if down is None:
                self._mark(mail.keys, "sending", None, next_at=self.clock() + LEASE,
                           kind=mail.kind)
                try:
                    self.sender.send(self.message(mail))
                except (OSError, smtplib.SMTPException) as error:
                    down = " ".join(str(error).split())[:300] or type(error).__name__
                    if not isinstance(error, (OSError, smtplib.SMTPServerDisconnected,
                                              smtplib.SMTPConnectError)):
                        self._fail(mail, down, report)  # this message refused, the server is up
                        down = None
                        continue
                else:
                    self._mark(mail.keys, "sent", None, kind=mail.kind)
                    if mail.kind == "digest":
                        self._digest_sent(mail)
                    report.sent += len(mail.keys)
                    report.messages += 1
                    continue
            self._fail(mail, down, report)
        if down:
            self.log(f"mail: the SMTP server did not take the mail ({down}); trying again later")
        return report

    def _fail(self, mail: Mail, error: str, report: RunReport) -> None:
        attempts = self._attempts(mail.keys[0]) + 1
        if attempts >= MAX_ATTEMPTS:
            self._mark(mail.keys, "failed", error, kind=mail.kind)
            report.failed += len(mail.keys)
            self.log(f"mail: gave up after {attempts} attempts ({error}): {' '.join(mail.keys)}")
        else:
            self._mark(mail.keys, "retry", error, next_at=self.clock() + backoff(attempts),
                       kind=mail.kind)
            report.retried += len(mail.keys)

    def _digest_sent(self, mail: Mail) -> None:
        account_id = mail.keys[0].split("/", 1)[0]
        with self.store.transaction(commit=True) as cursor:
            cursor.execute(self.store.sql("INSERT INTO mail_digests VALUES (?,?) "
                                          "ON CONFLICT DO NOTHING"),
                           (account_id, self.today().isoformat()))

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery row (for `tracker notify --status` and the tests)."""
        return self._fetch("SELECT * FROM mail_deliveries ORDER BY key")


def ensure_tables(store: Store) -> None:
    store.ensure_tables(TABLES, INDEXES)


# --- the public's subscriptions ------------------------------------------------------------------

class TooManyRequests(Exception):
    """Subscribing refused for now (per address or per client); `retry_after` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many subscription requests; try again in {retry_after} seconds")
        self.retry_after = retry_after


class Subscriptions:
    """Subscribing a public address to a dialogue (double opt-in), confirming, unsubscribing."""

    def __init__(self, store: Store, addresses: Addresses, links: Links,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.addresses = addresses
        self.links = links
        self.clock = clock
        ensure_tables(store)

    def _count(self, what: str, since: float) -> int:
        row = self.store.fetchone("SELECT COUNT(*) AS n FROM mail_requests WHERE what=? AND at>?",
                                  (what, since))
        return int(row["n"]) if row else 0

    def subscribe(self, dialogue_id: str, address: str, language: str, client: str) -> None:
        """Record the request (nothing is sent but the confirmation, by the worker). The same
        answer whether the address was already subscribed or not."""
        address = check_email(address)
        digest = self.addresses.digest(address)
        now = self.clock()
        since = now - RATE_WINDOW
        client_key = "client:" + hashlib.sha256(client.encode()).hexdigest()
        for what, limit in ((f"address:{digest}", PER_ADDRESS), (client_key, PER_CLIENT)):
            if self._count(what, since) >= limit:
                oldest = self.store.fetchone("SELECT MIN(at) AS t FROM mail_requests WHERE what=? "
                                             "AND at>?", (what, since))
                raise TooManyRequests(max(1, int((oldest["t"] if oldest else now)
                                                 + RATE_WINDOW - now)))
        with self.store.transaction(commit=True) as cursor:
            sql = self.store.sql
            cursor.execute(sql("DELETE FROM mail_requests WHERE at<?"), (since,))
            cursor.executemany(sql("INSERT INTO mail_requests VALUES (?,?)"),
                               [(f"address:{digest}", now), (client_key, now)])
            cursor.execute(sql("INSERT INTO mail_subscribers VALUES (?,?,?,?,?,0,0,?) "
                               "ON CONFLICT DO NOTHING"),
                           (str(uuid.uuid4()), dialogue_id, self.addresses.seal(address), digest,
                            language, now))

    def confirm(self, token: str, position: int) -> str | None:
        """Confirm the subscription a link names; it hears of public changes after `position`
        (the log's head now). Returns the dialogue id, or None for an unknown link."""
        subscriber = self.links.read(token, "confirm")
        if subscriber is None:
            return None
        row = self.store.fetchone("SELECT dialogue_id, confirmed FROM mail_subscribers WHERE id=?",
                                  (subscriber,))
        if row is None:
            return None
        if not row["confirmed"]:
            with self.store.transaction(commit=True) as cursor:
                cursor.execute(self.store.sql("UPDATE mail_subscribers SET confirmed=1, "
                                              "from_position=? WHERE id=? AND confirmed=0"),
                               (position, subscriber))
        return str(row["dialogue_id"])

    def unsubscribe(self, subscriber_id: str) -> bool:
        """Delete the subscriber's row (the address is gone at once) and its delivery rows."""
        with self.store.transaction(commit=True) as cursor:
            sql = self.store.sql
            cursor.execute(sql("DELETE FROM mail_subscribers WHERE id=? RETURNING id"),
                           (subscriber_id,))
            deleted = cursor.fetchall()
            cursor.execute(sql("DELETE FROM mail_deliveries WHERE key LIKE ?"),
                           (subscriber_id + "/%",))
        return bool(deleted)

    def count(self, dialogue_id: str | None = None) -> int:
        if dialogue_id is None:
            row = self.store.fetchone("SELECT COUNT(*) AS n FROM mail_subscribers")
        else:
            row = self.store.fetchone("SELECT COUNT(*) AS n FROM mail_subscribers "
                                      "WHERE dialogue_id=?", (dialogue_id,))
        return int(row["n"]) if row else 0


def check_mail_from(value: str) -> str:
    """`tracker@example.org` or `Tracker <tracker@example.org>`."""
    address = value.rpartition("<")[2].rstrip(">") if "<" in value else value
    try:
        check_email(address)
    except InvalidInput:
        raise ConfigurationError("TRACKER_MAIL_FROM is an address, e.g. tracker@example.org") from None
    return value
