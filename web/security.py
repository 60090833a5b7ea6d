"""Sessions, CSRF tokens and sign-in throttling for the web app.

- Sessions are held by the server (`ServerSessions`, rows of `tracker.sessions`): the cookie carries
  only a random session id, signed and dated with TRACKER_SECRET_KEY (HttpOnly, SameSite=Lax, Secure
  over HTTPS). Signing in starts a new session (`start_session`) and deletes the one it replaces;
  signing out deletes it (`end_session`), so a copied cookie stops working on every server at once.
  A session remembers its account's session epoch; an event that ends the account's sessions (a
  password change, a deactivation, a removed membership) moves the epoch on, and the next request
  of any older session finds it over (`web.deps.session_principal`). Idle and absolute expiry:
  `TRACKER_SESSION_IDLE_SECONDS`, `TRACKER_SESSION_LIFETIME_SECONDS`.
- CSRF: every state-changing request (not GET/HEAD/OPTIONS) carries the session's token (a MAC of
  the session id), in the form field `csrf_token` or the `X-CSRF-Token` header (htmx sends it from
  `hx-headers` on <body>). Requests authenticated by a bearer token carry no ambient authority and
  are exempt, as are witnesses' cosignatures (`SIGNED_BODY_PATHS`: the signature in the body is
  the authority). The check is an app-wide dependency, so it runs before any route body and a refused
  request changes nothing.
- Throttling: after `ACCOUNT_LIMIT` failed sign-ins for one account name, or `ADDRESS_LIMIT` from one
  address (an IPv6 address counts as its /64 network), within `WINDOW` seconds, further attempts are
  refused for `LOCKOUT` seconds without checking the password. The failures are rows of the
  database, counted alike by every server process, and forgotten once older than the window;
  every failure for an existing account is also recorded as an event (Account.LoginFailed) so
  auditors see it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
from hmac import compare_digest
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, TimestampSigner
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "tracker_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Requests whose authority is a signature in their own body (a witness's cosignature of a tree
# head, checked against the registered witness keys): like bearer requests, no ambient authority.
SIGNED_BODY_PATHS = frozenset({"/api/v1/public/ledger/cosignatures"})
# The unsubscribe link of a mail (RFC 8058's one-click POST comes from the mail client, with no
# session): the signed token in the path is the authority, and it can only stop mail.
SIGNED_PATH_PREFIXES = ("/unsubscribe/",)


class Session(dict):
    """The request's session: what the pages read and write (a dict), its random id, and what the
    middleware must do with its row when the answer starts."""

    def __init__(self, session_id: str | None, data: dict[str, Any], *, stored: bool,
                 created_at: float | None = None) -> None:
        super().__init__(data)
        self.id = session_id
        self.stored = stored  # a row exists under this id
        self.created_at = created_at
        self.original = dict(data)
        self.ended: list[str] = []  # ids whose rows go (sign-in and sign-out start a new id)
        self.new_cookie = False

    def ensure_id(self) -> str:
        if self.id is None:
            self.id = secrets.token_urlsafe(32)
            self.new_cookie = True
            self.stored = False
            self.created_at = None
        return self.id

    def rotate(self, keep: dict[str, Any] | None = None) -> None:
        """Drop this session (its row is deleted: every copy of its cookie stops working) and
        start a new one holding only `keep`."""
        if self.id is not None and self.stored:
            self.ended.append(self.id)
        self.id = None
        self.clear()
        self.original = {}
        self.ensure_id()
        self.update(keep or {})


class ServerSessions:
    """Sessions held by the server: the cookie carries only a random session id, signed
    (itsdangerous, with TRACKER_SECRET_KEY, and dated: older than the session lifetime is
    refused); the session itself is a row of the tracker's database (`tracker.sessions`), read
    when a request comes and written when its answer starts, if it changed. A visitor who has
    nothing to keep (a public page) gets an id, for the CSRF token, and no row. The cookie is
    HttpOnly, SameSite=Lax, and Secure when the request came over HTTPS."""

    SKIP = ("/static/", "/favicon.ico", "/healthz", "/sw.js", "/manifest.webmanifest")

    def __init__(self, app: ASGIApp, secret_key: str, lifetime: float) -> None:
        self.app = app
        self.signer = TimestampSigner(secret_key, salt="tracker-session")
        self.lifetime = lifetime

    def _session_id(self, scope: Scope) -> str | None:
        cookie = Headers(scope=scope).get("cookie")
        if not cookie:
            return None
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE and value:
                try:
                    return self.signer.unsign(value, max_age=self.lifetime).decode()
                except (BadSignature, UnicodeDecodeError):
                    return None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(self.SKIP):
            scope["session"] = Session(None, {}, stored=False)  # nothing read, nothing kept
            await self.app(scope, receive, send)
            return
        store = scope["app"].state.sessions
        session_id = self._session_id(scope)
        record = await run_in_threadpool(store.load, session_id) if session_id else None
        if record is None:
            session = Session(session_id, {}, stored=False)
        else:
            data = dict(record.data, account_id=record.account_id, epoch=record.epoch) \
                if record.account_id else dict(record.data)
            session = Session(session_id, data, stored=True, created_at=record.created_at)
        scope["session"] = session
        secure = scope.get("scheme") in ("https", "wss")

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                if self._to_store(session):  # (most answers change no session: no hop)
                    await run_in_threadpool(self._store, store, session)
                if session.new_cookie and session.id is not None:
                    headers = MutableHeaders(scope=message)
                    value = self.signer.sign(session.id).decode()
                    headers.append("set-cookie", f"{SESSION_COOKIE}={value}; Path=/; "
                                   f"Max-Age={int(self.lifetime)}; HttpOnly; SameSite=Lax"
                                   + ("; Secure" if secure else ""))
            await send(message)

        await self.app(scope, receive, send_with_session)

    @staticmethod
    def _to_store(session: Session) -> bool:
        """Whether the answer changes a session row."""
        if session.ended:
            return True
        if session.id is None:
            return False
        data = dict(session)
        return bool(data and (data != session.original or not session.stored)
                    or (not data and session.stored))

    @staticmethod
    def _store(store: Any, session: Session) -> None:
        for ended in session.ended:
            store.delete(ended)
        if session.id is None:
            return
        data = dict(session)
        if data and (data != session.original or not session.stored):
            store.save(session.id, data, session.created_at)
        elif not data and session.stored:
            store.delete(session.id)


# What a page may load: only this site's own scripts, styles and images (no inline script, no
# inline style attribute, no eval), posted only to this site, framed by nobody. The QR code of the
# second-factor enrolment is a data: image. An answer that sets its own policy keeps it (/docs).
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")


def inline_script_policy(html: str) -> str:
    """The page policy for a page that needs its own inline scripts (the Swagger UI of /docs,
    which starts itself with one): those scripts by their SHA-256, and inline style attributes,
    which Swagger UI sets while it draws."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL))
    return (PAGE_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")
            .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"))


class AnswerHeaders:
    """Headers every answer carries: no framing by other sites, no MIME sniffing, no referrer to
    other sites (addresses hold commitment ids); and, once the server is stopping,
    `Connection: close`.

    On SIGTERM uvicorn closes idle connections and marks busy ones to close after their answer,
    but a busy connection whose answer had already started stays open and goes on taking requests;
    a client that keeps sending then holds the graceful stop until it is killed (and the answer to
    a stored write is lost). `tracker serve` sets `stopping` when the signal arrives.

    A script, style sheet or icon of /static/ (and /favicon.ico) is never a document: a policy
    and a framing rule do nothing there (the service worker, /sw.js, keeps them: its policy
    applies to it), so those answers go without, 280 bytes fewer each on a phone's cold load."""

    HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
               "referrer-policy": "same-origin", "content-security-policy": PAGE_POLICY}
    DOCUMENT_ONLY = ("x-frame-options", "content-security-policy")
    SUBRESOURCES = ("text/css", "text/javascript", "application/javascript", "image/x-icon",
                    "image/png", "image/vnd.microsoft.icon")

    def __init__(self, app: ASGIApp, stopping: threading.Event) -> None:
        self.app = app
        self.stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        subresource = scope["path"].startswith("/static/") or scope["path"] == "/favicon.ico"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                skip = self.DOCUMENT_ONLY if subresource and headers.get("content-type", "").partition(
                    ";")[0] in self.SUBRESOURCES else ()
                for name, value in self.HEADERS.items():
                    if name not in skip:
                        headers.setdefault(name, value)
                if self.stopping.is_set():
                    headers["connection"] = "close"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _csrf_for(request: Request, session_id: str) -> str:
    key = request.app.state.settings.secret_key.encode()
    mac = hmac.new(key, b"csrf\n" + session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csrf_token(request: Request) -> str:
    """The session's CSRF token: a MAC of its id, so it needs no storage and changes with the
    session (a new one at sign-in and at sign-out)."""
    session: Session = request.session  # type: ignore[assignment]
    return _csrf_for(request, session.ensure_id())


def start_session(request: Request, principal: Any) -> None:
    """A new session for a freshly signed-in account (no fixation: nothing carries over, and the
    session it replaces is deleted). It remembers the account's session epoch."""
    session: Session = request.session  # type: ignore[assignment]
    keep = {"lang": principal.language} if principal.language else {}
    session.rotate({"account_id": principal.account_id, "epoch": principal.session_epoch, **keep})


def end_session(request: Request) -> None:
    """Sign out: the session's row is deleted (every copy of its cookie is then anonymous); the
    language stays, in a new session."""
    session: Session = request.session  # type: ignore[assignment]
    language = session.get("lang")
    session.rotate({"lang": language} if language else {})


class CSRFError(Exception):
    """A state-changing request without the session's CSRF token: 403, nothing changes."""

    message = "this form has expired or did not come from this site; reload the page and try again"


def csrf_exempt(request: Request) -> bool:
    """Requests that need no CSRF token: safe methods, bearer tokens, signed bodies."""
    return (request.method in SAFE_METHODS
            or request.headers.get("authorization", "").lower().startswith("bearer ")
            or request.url.path in SIGNED_BODY_PATHS
            or request.url.path.startswith(SIGNED_PATH_PREFIXES))


def csrf_matches(request: Request, supplied: Any) -> bool:
    """Whether `supplied` (the header's or the form field's value) is the session's token."""
    session = request.scope.get("session")
    expected = _csrf_for(request, session.id) if session is not None and session.id else None
    return bool(expected and isinstance(supplied, str) and supplied
                and compare_digest(str(expected), supplied))


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: refuse an unsafe request that does not carry the session's token."""
    if csrf_exempt(request):
        return
    supplied = request.headers.get(CSRF_HEADER)
    if not supplied:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # parsed once; the route reuses it
            supplied = form.get(CSRF_FIELD)
    if not csrf_matches(request, supplied):
        raise CSRFError()


class TooManyAttempts(Exception):
    """Sign-in refused without checking the password: too many recent failures."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


class LoginThrottle:
    """Counts failed sign-ins per account name and per address in a sliding window, in the
    database (`tracker.sessions.SessionStore`), so every server process counts the same."""

    ACCOUNT_LIMIT = 5
    ADDRESS_LIMIT = 20
    WINDOW = 15 * 60
    LOCKOUT = 15 * 60

    def __init__(self, store: Any) -> None:
        self.store = store

    def _keys(self, name: str, address: str) -> list[tuple[str, int]]:
        return [(f"account:{name.strip().casefold()[:200]}", self.ACCOUNT_LIMIT),
                (f"address:{address_block(address)}", self.ADDRESS_LIMIT)]

    def check(self, name: str, address: str) -> None:
        """Raise TooManyAttempts while either the account or the address is locked out."""
        now = self.store.clock()
        keys = self._keys(name, address)
        found = self.store.failures_since([key for key, _ in keys],
                                          now - max(self.WINDOW, self.LOCKOUT))
        for key, limit in keys:
            failures = found[key]
            recent = [t for t in failures if t >= now - self.WINDOW]
            if len(recent) >= limit:
                retry_after = int(failures[-1] + self.LOCKOUT - now) + 1
                if retry_after > 0:
                    raise TooManyAttempts(retry_after)

    def failed(self, name: str, address: str) -> None:
        """Count a failure; failures too old to matter are forgotten at the same time, so the
        table holds at most the last WINDOW's worth."""
        self.store.add_failure([key for key, _ in self._keys(name, address)],
                               horizon=max(self.WINDOW, self.LOCKOUT))

    def succeeded(self, name: str) -> None:
        self.store.clear_failures(f"account:{name.strip().casefold()[:200]}")

    def size(self) -> int:
        """How many names and addresses are being counted."""
        return self.store.failure_names()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def address_block(address: str) -> str:
    """What one visitor controls: an IPv4 address, or the /64 network of an IPv6 address (a
    single home or phone is given a whole /64, so counting its addresses one by one would let it
    try again from a fresh one as often as it likes)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)
