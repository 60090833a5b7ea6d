"""Limits on request bodies, for every route: pages, forms and the API alike.

- Size: a body larger than `MAX_BODY_BYTES` is refused with 413, whether its size is announced in
  Content-Length or only found out while it streams in (chunked transfer).
- Encoding: a form (urlencoded or multipart) whose values are not valid UTF-8 (or, urlencoded, holds
  raw bytes that are not percent-encoded) is refused with 400.
  Starlette's form parser would otherwise store such bytes as replacement characters or as Latin-1
  mojibake, silently. Of a multipart body, the parts that are files (photo evidence) are bytes
  and are not checked; the rest is text throughout. Photo evidence may send a larger body
  (`web.api.body_limit`).
  (JSON bodies that are not UTF-8 are already a 400 from the API's JSON parser.)

Both checks run before any route, dependency or form parser sees the request, so a refused request
changes nothing. The body is read here, up to the limit, and handed on to the app unchanged. The
API's own size check (web/api.py) uses the same limit.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.api import MAX_BODY_BYTES, body_limit


def too_large(limit: int) -> str:
    return f"the request body is over the limit of {limit} bytes"


TOO_LARGE = too_large(MAX_BODY_BYTES)
NOT_UTF8 = "the form is not valid UTF-8 text; send it from the page, or encode it as UTF-8"


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def check_form_encoding(content_type: bytes, body: bytes) -> None:
    """Raise Refused (400) unless every value of a form body decodes as UTF-8. `content_type` as
    sent: a multipart boundary is case-sensitive (Chromium's are mixed case)."""
    kind = content_type.lower()
    try:
        if kind.startswith(b"application/x-www-form-urlencoded"):
            # Browsers percent-encode every byte that is not ASCII; the parser would read raw
            # bytes as Latin-1, so they are refused too.
            body.decode("ascii")
            for pair in body.split(b"&"):
                unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
        elif kind.startswith(b"multipart/form-data"):
            for part in _text_parts(content_type, body):
                part.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "bad_encoding", NOT_UTF8) from None


def _text_parts(content_type: bytes, body: bytes) -> list[bytes]:
    """The parts of a multipart body that are not files (headers and content)."""
    boundary = next((p.strip()[len(b"boundary="):].strip(b'"') for p in content_type.split(b";")
                     if p.strip().lower().startswith(b"boundary=")), b"")
    if not boundary:
        return [body]
    parts = body.split(b"--" + boundary)
    return [part for part in parts if b"filename=" not in part.partition(b"\r\n\r\n")[0]]


class BodyLimit:
    """Refuse oversized bodies (413) and forms that are not UTF-8 (400): JSON under /api/, a short
    page elsewhere."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        limit = self.limit if self.limit != MAX_BODY_BYTES else body_limit(
            scope["path"], headers.get(b"content-type", b"").decode("latin-1"))
        try:
            if length and (not length.isdigit() or int(length) > limit):
                raise Refused(413, "too_large", too_large(limit))
            messages = await self._read_body(receive, limit)
            check_form_encoding(headers.get(b"content-type", b""),
                                b"".join(m.get("body", b"") for m in messages))
        except Refused as refused:
            await self._refuse(scope, send, refused)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive, limit: int) -> list[Message]:
        """Every message of the body, read until its end; Refused (413) past the limit."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # the client went away: let the app see it
            size += len(message.get("body", b""))
            if size > limit:
                raise Refused(413, "too_large", too_large(limit))
            if not message.get("more_body", False):
                return messages

    @staticmethod
    async def _refuse(scope: Scope, send: Send, refused: Refused) -> None:
        # No `Connection: close`: closing a socket with unread bytes sends a TCP reset, which can
        # destroy this answer before a client still sending the body reads it. Kept open, the
        # server reads what is left of the body and discards it (uvicorn keeps none of it).
        if scope["path"].startswith("/api/"):
            body = json.dumps({"error": {"code": refused.code, "message": refused.message}}).encode()
            content_type = b"application/json"
        else:
            body = (f"<!doctype html><title>{refused.status} Refused</title>"
                    f"<h1>Refused</h1><p>{refused.message}.</p>").encode()
            content_type = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": refused.status,
                    "headers": [(b"content-type", content_type),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
