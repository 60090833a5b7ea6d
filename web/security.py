"""Sessions, CSRF tokens and sign-in throttling for the web app.

- Sessions live in a signed cookie (itsdangerous, via Starlette's SessionMiddleware): HttpOnly,
  SameSite=Lax, and Secure whenever the request came over HTTPS. Signing in starts a new session
  (`start_session`): whatever the anonymous session held is dropped and a new CSRF token issued.
- CSRF: every state-changing request (not GET/HEAD/OPTIONS) carries the session's token, in the form
  field `csrf_token` or the `X-CSRF-Token` header (htmx sends it from `hx-headers` on <body>).
  Requests authenticated by a bearer token carry no ambient authority and are exempt, as are
  witnesses' cosignatures (`SIGNED_BODY_PATHS`: the signature in the body is the authority). The check is an
  app-wide dependency, so it runs before any route body and a refused request changes nothing.
- Throttling: after `ACCOUNT_LIMIT` failed sign-ins for one account name, or `ADDRESS_LIMIT` from one
  address (an IPv6 address counts as its /64 network), within `WINDOW` seconds, further attempts are
  refused for `LOCKOUT` seconds without checking the password. At most `MAX_KEYS` names and
  addresses are counted at once, the stale and least recently failed forgotten first. Counters
  live in this process (app.state); every failure for an existing
  account is also recorded as an event (Account.LoginFailed) so auditors see it.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from hmac import compare_digest
from typing import Any

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "tracker_session"
SESSION_MAX_AGE = 12 * 60 * 60  # a working day and a bit; signing in again is cheap
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Requests whose authority is a signature in their own body (a witness's cosignature of a tree
# head, checked against the registered witness keys): like bearer requests, no ambient authority.
SIGNED_BODY_PATHS = frozenset({"/api/v1/public/ledger/cosignatures"})


class SchemeAwareSessions:
    """Signed cookie sessions whose cookie is marked Secure when the request came over HTTPS."""

    def __init__(self, app: ASGIApp, secret_key: str) -> None:
        options: dict[str, Any] = {"secret_key": secret_key, "session_cookie": SESSION_COOKIE,
                                   "max_age": SESSION_MAX_AGE, "same_site": "lax"}
        self.plain = SessionMiddleware(app, https_only=False, **options)
        self.secure = SessionMiddleware(app, https_only=True, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.secure if scope.get("scheme") in ("https", "wss") else self.plain
        await chosen(scope, receive, send)


class AnswerHeaders:
    """Headers every answer carries: no framing by other sites, no MIME sniffing, no referrer to
    other sites (addresses hold commitment ids); and, once the server is stopping,
    `Connection: close`.

    On SIGTERM uvicorn closes idle connections and marks busy ones to close after their answer,
    but a busy connection whose answer had already started stays open and goes on taking requests;
    a client that keeps sending then holds the graceful stop until it is killed (and the answer to
    a stored write is lost). `tracker serve` sets `stopping` when the signal arrives."""

    HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
               "referrer-policy": "same-origin"}

    def __init__(self, app: ASGIApp, stopping: threading.Event) -> None:
        self.app = app
        self.stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS.items():
                    headers.setdefault(name, value)
                if self.stopping.is_set():
                    headers["connection"] = "close"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    session = request.session
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def start_session(request: Request, account_id: str, language: str | None) -> None:
    """A new session for a freshly signed-in account (no fixation: nothing carries over)."""
    request.session.clear()
    request.session["account_id"] = account_id
    request.session["sid"] = secrets.token_urlsafe(16)
    request.session["csrf"] = secrets.token_urlsafe(32)
    if language:
        request.session["lang"] = language


def end_session(request: Request) -> None:
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language


class CSRFError(Exception):
    """A state-changing request without the session's CSRF token: 403, nothing changes."""

    message = "this form has expired or did not come from this site; reload the page and try again"


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: refuse an unsafe request that does not carry the session's token."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if request.url.path in SIGNED_BODY_PATHS:
        return
    expected = request.session.get("csrf") if "session" in request.scope else None
    supplied = request.headers.get(CSRF_HEADER)
    if not supplied:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # parsed once; the route reuses it
            value = form.get(CSRF_FIELD)
            supplied = value if isinstance(value, str) else None
    if not expected or not supplied or not compare_digest(str(expected), str(supplied)):
        raise CSRFError()


class TooManyAttempts(Exception):
    """Sign-in refused without checking the password: too many recent failures."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


class LoginThrottle:
    """Counts failed sign-ins per account name and per address in a sliding window."""

    ACCOUNT_LIMIT = 5
    ADDRESS_LIMIT = 20
    WINDOW = 15 * 60
    LOCKOUT = 15 * 60
    MAX_KEYS = 100_000  # names and addresses counted at once (a few MB at most)

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        # name or address -> times of its recent failures, least recently failed first
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, name: str, address: str) -> list[tuple[str, int]]:
        return [(f"account:{name.strip().casefold()}", self.ACCOUNT_LIMIT),
                (f"address:{address_block(address)}", self.ADDRESS_LIMIT)]

    def check(self, name: str, address: str) -> None:
        """Raise TooManyAttempts while either the account or the address is locked out."""
        now = self.clock()
        with self._lock:
            for key, limit in self._keys(name, address):
                failures = self._failures.get(key)
                if not failures:
                    continue
                while failures and failures[0] < now - max(self.WINDOW, self.LOCKOUT):
                    failures.popleft()
                recent = [t for t in failures if t >= now - self.WINDOW]
                if len(recent) >= limit:
                    retry_after = int(failures[-1] + self.LOCKOUT - now) + 1
                    if retry_after > 0:
                        raise TooManyAttempts(retry_after)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, _ in self._keys(name, address):
                self._failures.setdefault(key, deque()).append(now)
                self._failures.move_to_end(key)
            if len(self._failures) > self.MAX_KEYS:
                self._forget(now)

    def _forget(self, now: float) -> None:
        """Drop names and addresses whose last failure is too old to matter; if a spray of
        made-up names from many addresses still leaves too many, the least recently failed go.
        The dict is ordered by last failure, so this only ever looks at its front."""
        horizon = now - max(self.WINDOW, self.LOCKOUT)
        while self._failures:
            times = next(iter(self._failures.values()))
            if len(self._failures) <= self.MAX_KEYS and times and times[-1] >= horizon:
                break
            self._failures.popitem(last=False)

    def size(self) -> int:
        """How many names and addresses are being counted."""
        with self._lock:
            return len(self._failures)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"account:{name.strip().casefold()}", None)


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
