"""What a phone downloads: pages and static files in brotli when the client takes it, else gzip;
the static files compressed once at the highest level, our own without their comments; scripts,
style sheets and icons without the headers only a document uses."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import pytest
from fastapi.testclient import TestClient

from web.compression import accepts, chosen_coding

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


def raw_get(client: TestClient, path: str, accept: str):
    """The answer as sent (httpx would decode it): its headers and its undecoded body."""
    with client.stream("GET", path, headers={"Accept-Encoding": accept}) as answer:
        return answer, b"".join(answer.iter_raw())


@pytest.mark.parametrize(("header", "coding"), [
    ("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip"),
    ("identity", None), ("", None), ("*", "br"), ("gzip;q=0.5, br;q=0", "gzip"), ("BR", "br"),
])
def test_the_coding_follows_what_the_client_accepts(header, coding):
    assert chosen_coding(header) == coding
    assert not accepts("br;q=nonsense", "br")


def test_a_page_is_brotli_for_a_browser_and_gzip_for_an_older_client(site):
    client = TestClient(site.app)
    answer, body = raw_get(client, "/public/", "gzip, deflate, br")
    assert answer.headers["content-encoding"] == "br"
    assert "Accept-Encoding" in answer.headers["vary"]
    page = brotli.decompress(body).decode()
    assert "<html" in page
    answer, body = raw_get(client, "/public/", "gzip")
    assert answer.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).decode().count("<html") == 1
    answer, body = raw_get(client, "/public/", "identity")
    assert "content-encoding" not in answer.headers and b"<html" in body


def test_static_files_are_compressed_at_the_highest_level_and_ours_without_comments(site):
    client = TestClient(site.app)
    htmx = (STATIC / "htmx-2.0.4.min.js").read_bytes()
    answer, body = raw_get(client, "/static/htmx-2.0.4.min.js", "gzip, br")
    assert answer.headers["content-encoding"] == "br"
    assert answer.headers["cache-control"] == "public, max-age=86400" and answer.headers["etag"]
    assert "last-modified" not in answer.headers  # the ETag revalidates alone
    assert brotli.decompress(body) == htmx  # a library's file exactly as it is
    assert len(body) <= len(brotli.compress(htmx, quality=11))  # quality 11, not a page's 5
    for name in ("offline-1.js", "site-5.css"):
        source = (STATIC / name).read_bytes()
        answer, body = raw_get(client, f"/static/{name}", "br")
        served = brotli.decompress(body)
        assert b"/*" in source and b"/*" not in served  # the comments stay in the source only
        assert len(served) < len(source) - 150
        answer, body = raw_get(client, f"/static/{name}", "gzip")
        assert gzip.decompress(body) == served
        answer, body = raw_get(client, f"/static/{name}", "identity")
        assert body == source and "content-encoding" not in answer.headers
    # a conditional request still gets its 304
    etag = client.get("/static/site-5.css").headers["etag"]
    assert client.get("/static/site-5.css", headers={"If-None-Match": etag}).status_code == 304


def test_scripts_and_styles_carry_no_page_policy_pages_and_the_service_worker_do(site):
    client = TestClient(site.app)
    for path in ("/static/htmx-2.0.4.min.js", "/static/site-5.css", "/favicon.ico"):
        headers = client.get(path).headers
        assert "content-security-policy" not in headers and "x-frame-options" not in headers
        assert headers["x-content-type-options"] == "nosniff"
    for path in ("/sw.js", "/login", "/static/icon-1.svg"):
        assert "frame-ancestors 'none'" in client.get(path).headers["content-security-policy"]


def test_answers_made_on_request_are_packed_at_brotli_quality_5(site):
    """A page and a JSON answer at quality 5, not 10: on the workspace page quality 10 saved 7 %
    for 16 times the CPU (11 ms), more than those bytes take on a slow link."""
    client = TestClient(site.app)
    for path, media_type in (("/public/", "text/html"), ("/api/v1/public/dialogues",
                                                         "application/json")):
        answer, body = raw_get(client, path, "br")
        assert answer.headers["content-type"].startswith(media_type)
        data = brotli.decompress(body)
        assert len(data) > 500 and body == brotli.compress(data, quality=5)
        assert body != brotli.compress(data, quality=10)


def test_the_same_answer_is_compressed_once_and_each_answer_gets_its_own_bytes():
    """KeptCompression: bodies kept by their bytes, so an answer kept per position is compressed
    once; any other body is compressed for itself; the oldest entries go first."""
    from web.compression import KeptCompression

    kept = KeptCompression(entries=2, largest=10_000)
    first = b'{"title": "Terrain pour le commissariat"}' * 20
    second = b'{"title": "Entree du stade deplacee"}' * 20
    packed = kept.compressed(first, 5)
    assert brotli.decompress(packed) == first
    assert kept.compressed(bytes(first), 5) is packed  # equal bytes: the kept result
    assert brotli.decompress(kept.compressed(second, 5)) == second
    assert kept.compressed(first, 9) is not packed  # another quality is another entry
    assert kept.compressed(first, 5) is not packed  # the oldest (quality 5) has gone
    large = b"x" * 10_001
    assert brotli.decompress(kept.compressed(large, 5)) == large
    assert kept.compressed(large, 5) is not kept.compressed(large, 5)  # too large to keep

