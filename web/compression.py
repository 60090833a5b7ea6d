"""Answers compressed for slow links: brotli when the client takes it (every browser of the last
years does), else gzip, else as they are.

Pages and API answers are compressed as they are answered, at brotli's quality 5: about the time
of gzip and a tenth smaller. Qualities 9 to 11 are another algorithm: on the 16 KB workspace page
quality 10 saved 327 bytes (7 %) for 11 ms of CPU instead of 0.7 (17 ms for a 24 KB page), more
than those bytes take over a 400 kbit/s link, and it held every page's answer that long. The
static files are compressed once, at brotli's highest quality (htmx is 14.8 KB instead of gzip's
16.4 KB), kept in memory and answered with their `Content-Encoding` set, which the middleware
then leaves alone."""

from __future__ import annotations

import gzip
import os
import re
import threading
from collections import OrderedDict

import brotli
from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipResponder, IdentityResponder
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

MINIMUM_SIZE = 500  # smaller answers gain less than the header costs
PAGE_QUALITY = 5  # every answer made on request (pages, fragments, JSON, CSV, feeds)


def accepts(accept_encoding: str, coding: str) -> bool:
    """Whether an `Accept-Encoding` value takes `coding` (named, or `*`, with a q above 0)."""
    named = star = None
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name.strip() == coding:
            named = q
        elif name.strip() == "*":
            star = q
    chosen = named if named is not None else star
    return chosen is not None and chosen > 0


def chosen_coding(accept_encoding: str) -> str | None:
    """The coding to answer with: brotli first, then gzip."""
    return next((c for c in ("br", "gzip") if accepts(accept_encoding, c)), None)


class KeptCompression:
    """The last answers' bodies compressed, by their bytes: the answers kept per read-model
    position (the public pages, a commitment's JSON) are the same bytes for every reader until
    the next change, and compressing them again took a twelfth of a cached API read. Only
    identical bytes find an entry, so no reader gets what another's answer held unless it is
    their own answer too. Bounded in entries and in the bytes they hold."""

    def __init__(self, entries: int = 256, largest: int = 256 * 1024) -> None:
        self.entries = entries
        self.largest = largest
        self._kept: OrderedDict[tuple[bytes, int], bytes] = OrderedDict()
        self._lock = threading.Lock()  # (the answers of threads' routes are sent on the loop)

    def compressed(self, body: bytes, quality: int) -> bytes:
        if len(body) > self.largest:
            return brotli.compress(body, quality=quality)
        key = (body, quality)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        found = brotli.compress(body, quality=quality)
        with self._lock:
            self._kept[key] = found
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)
        return found


KEPT = KeptCompression()


class BrotliResponder(IdentityResponder):
    content_encoding = "br"

    def __init__(self, app: ASGIApp, minimum_size: int, quality: int = PAGE_QUALITY) -> None:
        super().__init__(app, minimum_size)
        self.quality = quality
        self._compressor: brotli.Compressor | None = None

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if self._compressor is None and not more_body:
            return KEPT.compressed(body, self.quality)  # the usual answer: one piece
        if self._compressor is None:
            self._compressor = brotli.Compressor(quality=self.quality)
        out = self._compressor.process(body)
        return out + (self._compressor.flush() if more_body else self._compressor.finish())


class Compression:
    """The middleware: one responder per request, by what the client accepts."""

    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding = chosen_coding(Headers(scope=scope).get("accept-encoding", ""))
        responder: ASGIApp
        if coding == "br":
            responder = BrotliResponder(self.app, self.minimum_size)
        elif coding == "gzip":
            responder = GZipResponder(self.app, self.minimum_size, compresslevel=9)
        else:
            responder = IdentityResponder(self.app, self.minimum_size)
        await responder(scope, receive, send)


# Media types worth compressing (text); images and fonts are compressed already.
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/manifest+json",
                "image/svg+xml")


# Comments of our own style sheets and scripts (whole-line ones only in scripts, and not in a
# library's .min.js), which a browser has no use for: about 550 bytes of a member's cold load.
CSS_COMMENT = re.compile(rb"/\*.*?\*/\n?", re.DOTALL)
JS_COMMENT = re.compile(rb"\A/\*.*?\*/\n|^[ \t]*//[^\n]*\n", re.DOTALL | re.MULTILINE)


def without_comments(data: bytes, path: str, media_type: str) -> bytes:
    if media_type.startswith("text/css"):
        return CSS_COMMENT.sub(b"", data)
    if "javascript" in media_type and not path.endswith(".min.js"):
        return JS_COMMENT.sub(b"", data)
    return data


def compress_file(data: bytes, coding: str) -> bytes:
    """A static file's bytes compressed once, as well as the coding can."""
    if coding == "br":
        return brotli.compress(data, quality=11)
    return gzip.compress(data, compresslevel=9, mtime=0)


class PrecompressedStatic(StaticFiles):
    """Static files answered compressed at the highest level, each compressed once per coding
    and version of the file (its path, size and modification time) and kept in memory. Range
    requests, 304s, HEAD and small or already compressed files are answered as StaticFiles does
    (and so is a client that takes no compression)."""

    def __init__(self, *args, strip_comments: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.strip_comments = strip_comments  # only for our own files, never a library's
        self._compressed: dict[tuple[str, int, int, str], bytes | None] = {}
        self._lock = threading.Lock()

    def compressed(self, path: str, stat_result: os.stat_result, coding: str,
                   media_type: str) -> bytes | None:
        """The file (its comments left out, if it is ours) compressed with `coding`; None when that does not
        make it smaller."""
        key = (path, stat_result.st_size, stat_result.st_mtime_ns, coding)
        with self._lock:
            if key in self._compressed:
                return self._compressed[key]
        with open(path, "rb") as file:
            data = file.read()
        if self.strip_comments:
            data = without_comments(data, path, media_type)
        packed = compress_file(data, coding)
        found = packed if len(packed) < len(data) else None
        with self._lock:
            self._compressed[key] = found
        return found

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        media_type = response.headers.get("content-type", "")
        request = Headers(scope=scope)
        if response.status_code != 200 or scope["method"] != "GET" or "range" in request or \
                stat_result.st_size < MINIMUM_SIZE or not media_type.startswith(COMPRESSIBLE):
            return response
        response.headers["vary"] = "Accept-Encoding"
        coding = chosen_coding(request.get("accept-encoding", ""))
        body = self.compressed(str(full_path), stat_result, coding, media_type) if coding else None
        if body is None:
            return response
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "accept-ranges")}
        return Response(body, headers={**headers, "content-encoding": coding})
