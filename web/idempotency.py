"""`Idempotency-Key` on every command, API and form alike (the rows: `tracker.idempotency`).

A state-changing request (POST, PUT, PATCH, DELETE) of a signed-in account (session or bearer
token) that carries the header `Idempotency-Key` (or, from a plain form, the field
`idempotency_key`, which the action forms carry) is given once:

- the first time, it goes through as usual; if the command was carried out (2xx, 3xx) its answer
  is kept under the key;
- again with the same request (method, path, and body; a form's CSRF token aside, since it
  changes with the session), the kept answer comes back (`Idempotent-Replayed: true`) and
  nothing more is recorded; a request still being given elsewhere is waited for;
- again with another request: 422 `idempotency_key_reused`.

It sits inside the session middleware (it reads the session's account) and inside the body limit
(the body it reads is already capped). A session request must carry its CSRF token before a kept
answer is shown; otherwise it goes on to the app, which refuses it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from contextlib import suppress
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import N_
from tracker.idempotency import Answer, IdempotencyStore
from web.deps import optional_principal
from web.security import CSRF_FIELD, CSRF_HEADER, csrf_exempt, csrf_matches

HEADER = "idempotency-key"
FORM_FIELD = "idempotency_key"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IGNORED_FIELDS = frozenset({CSRF_FIELD, FORM_FIELD})  # not part of what the command is
NOT_KEPT_HEADERS = frozenset({"set-cookie", "content-length", "date", "server"})
WAIT_SECONDS = 10.0  # how long a repeat waits for the first request's answer
STALE_SECONDS = 120.0  # a key pending this long was left by a process that stopped

KEY_INVALID = N_("an Idempotency-Key is 1 to 200 visible ASCII characters")
KEY_REUSED = N_("this Idempotency-Key was already used for another request; send a new key "
                "with a new request")
KEY_BUSY = N_("a request with this Idempotency-Key is still being carried out; try again in a "
              "moment")


def valid_key(key: str) -> bool:
    return 0 < len(key) <= 200 and all(33 <= ord(ch) < 127 for ch in key)


async def _form_items(scope: Scope, body: bytes) -> list[tuple[str, str]]:
    """A form's fields as (name, value) pairs, a file as the digest of its bytes."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(scope, receive).form()
    try:
        items = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                digest = hashlib.sha256(await value.read()).hexdigest()
                items.append((name, f"file:{value.content_type}:{digest}"))
            else:
                items.append((name, value))
        return items
    finally:
        await form.close()


async def fingerprint_and_fields(scope: Scope, body: bytes) -> tuple[str, dict[str, str]]:
    """What makes two requests the same (method, path, query, the body as data rather than
    bytes: JSON key order, form field order and multipart boundaries aside), and a form's
    `idempotency_key` and `csrf_token` fields when it has them."""
    content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1").lower()
    fields: dict[str, str] = {}
    canonical = None
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        items: list[tuple[str, str]] | None
        if content_type.startswith("multipart/"):
            try:
                items = await _form_items(scope, body)
            except (HTTPException, MultiPartException):
                items = None  # (no form at all: its bytes; the route refuses it, 400)
        else:
            items = parse_qsl(body.decode("ascii", "replace"), keep_blank_values=True)
        if items is not None:
            fields = {k: v for k, v in items if k in IGNORED_FIELDS}
            canonical = json.dumps(sorted((k, v) for k, v in items if k not in IGNORED_FIELDS))
    elif content_type.startswith("application/json"):
        with suppress(ValueError):
            canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    if canonical is None:
        canonical = body.hex()
    seen = f"{scope['method']}\n{scope['path']}\n{scope.get('query_string', b'').decode()}\n"
    return hashlib.sha256((seen + canonical).encode()).hexdigest(), fields


def account_scope(scope: Scope) -> str | None:
    """Whose keys these are: the bearer token's (by its digest) or the session's account; None
    for an anonymous request (no keys)."""
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        return "token:" + hashlib.sha256(token.encode()).hexdigest()
    session = scope.get("session")
    account_id = session.get("account_id") if session is not None else None
    return f"account:{account_id}" if account_id else None


def _still_signed_in(scope: Scope) -> bool:
    """Whether the keys' owner may still act: a kept answer is given again only to a token or
    session that works now (not once the token is revoked or the account deactivated)."""
    return optional_principal(Request(scope), scope["app"].state.tracker) is not None


class IdempotencyKeys:
    """The middleware (see the module's text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(HEADER.encode())
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        is_form = content_type.lower().startswith((b"application/x-www-form-urlencoded",
                                                   b"multipart/form-data"))
        owner = account_scope(scope)
        if owner is None or (header is None and not is_form):
            await self.app(scope, receive, send)
            return
        messages, body = await _read_all(receive)

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        try:
            fingerprint, fields = await fingerprint_and_fields(scope, body)
        except (MultiPartException, ValueError):  # a malformed form: the app says what is wrong
            await self.app(scope, replay, send)
            return
        key = header.decode("latin-1").strip() if header is not None else fields.get(FORM_FIELD)
        if key is None:
            await self.app(scope, replay, send)
            return
        if not valid_key(key):
            await _refuse(scope, send, 400, "bad_idempotency_key", KEY_INVALID)
            return
        if not _csrf_ok(scope, fields.get(CSRF_FIELD)):
            await self.app(scope, replay, send)  # the app refuses it (403)
            return
        store: IdempotencyStore = scope["app"].state.idempotency
        await self._give_once(scope, replay, send, store, owner, key, fingerprint)

    async def _give_once(self, scope: Scope, receive: Receive, send: Send,
                         store: IdempotencyStore, owner: str, key: str, fingerprint: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not await run_in_threadpool(store.claim, owner, key, fingerprint):
            found = await run_in_threadpool(store.find, owner, key)
            if found is None:
                continue  # released meanwhile: claim it
            if found.fingerprint != fingerprint:
                await _refuse(scope, send, 422, "idempotency_key_reused", KEY_REUSED)
                return
            if found.answer is not None:
                if not await run_in_threadpool(_still_signed_in, scope):
                    await self.app(scope, receive, send)  # which refuses it (401, sign-in page)
                    return
                await _send_answer(send, found.answer)
                return
            if store.clock() - found.created_at > STALE_SECONDS and await run_in_threadpool(
                    store.take_over, owner, key, found.created_at):
                break
            if time.monotonic() > deadline:
                await _refuse(scope, send, 409, "idempotency_in_progress", KEY_BUSY,
                              {"retry-after": "1"})
                return
            await asyncio.sleep(0.1)
        await self._give_and_keep(scope, receive, send, store, owner, key)

    async def _give_and_keep(self, scope: Scope, receive: Receive, send: Send,
                             store: IdempotencyStore, owner: str, key: str) -> None:
        start: Message = {}
        chunks: list[bytes] = []
        kept = False

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":  # copied: outer layers change it
                start = {**message, "headers": list(message.get("headers", []))}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
            status = int(start.get("status", 500))
            if 200 <= status < 400:
                headers = [(k.decode("latin-1"), v.decode("latin-1"))
                           for k, v in start.get("headers", [])
                           if k.decode("latin-1").lower() not in NOT_KEPT_HEADERS]
                await run_in_threadpool(store.keep_answer, owner, key,
                                        Answer(status, headers, b"".join(chunks)))
                kept = True
        finally:
            if not kept:
                await run_in_threadpool(store.release, owner, key)


async def _read_all(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return messages, b"".join(m.get("body", b"") for m in messages)


def _csrf_ok(scope: Scope, form_token: str | None) -> bool:
    """The app's own CSRF rule (bearer requests need none): the header's token or the form's."""
    request = Request(scope)
    return csrf_exempt(request) or csrf_matches(
        request, request.headers.get(CSRF_HEADER) or form_token)


async def _send_answer(send: Send, answer: Answer) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    headers += [(b"content-length", str(len(answer.body)).encode()),
                (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str,
                  headers: dict[str, str] | None = None) -> None:
    """The refusal as the API's JSON error, or as the app's error page (or fragment)."""
    from web.app import error_page
    from web.errors import error_json, in_reader_language

    request = Request(scope)
    if scope["path"].startswith("/api/"):
        response = error_json(status, code, in_reader_language(request, message), headers=headers)
    else:
        response = error_page(request, status, code, message)
        response.headers.update(headers or {})
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
