"""The HTTP details: fragments of public pages, 405 with Allow, the OpenAPI bearer scheme, party
filters by name or id, the Content-Security-Policy and the favicon."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from tests.factories import advance, propose
from tests.web.support import Site, position

HX = {"HX-Request": "true"}


def test_public_pages_asked_by_htmx_answer_their_fragment_or_the_page_never_a_500(site: Site):
    result = propose(site.tracker, site.world, public=True)
    advance(site.tracker, site.world, result.id, "in_progress")
    site.settle()
    client = TestClient(site.app)
    fragment = client.get("/public/dialogues/saaba", headers=HX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="public-commitments">')
    assert "Joint night patrols" in fragment.text and "<html" not in fragment.text
    for path in ("/public/", "/public/ledger", f"/public/commitments/{result.id}",
                 "/public/dialogues/saaba?page=2", "/public/dialogues/saaba?status=in_progress"):
        for headers in (HX, {**HX, "HX-Target": "main"}, {**HX, "HX-Boosted": "true"}):
            assert client.get(path, headers=headers).status_code == 200, (path, headers)
    for path in ("/", "/dialogues/saaba", f"/commitments/{result.id}", "/admin/accounts",
                 "/audit/", "/audit/activity", "/account/password"):
        for who in ("member", "admin", "auditor"):
            answer = site.get(who, path, headers=HX)
            assert answer.status_code < 500, (path, who, answer.status_code)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE"])
def test_every_unsupported_method_is_method_not_allowed_with_allow(site: Site, method: str):
    result = propose(site.tracker, site.world)
    client = site.client("member")
    site.settle()
    before = position(site.tracker)
    pages = {"/login": "GET, POST", "/logout": "GET, POST", "/dialogues/saaba": "GET",
             f"/commitments/{result.id}": "GET", f"/commitments/{result.id}/endorse": "POST",
             "/public/": "GET", "/public/dialogues/saaba": "GET", "/admin/accounts": "GET, POST",
             "/favicon.ico": "GET"}
    for path, allowed in pages.items():
        answer = client.request(method, path, headers={"X-CSRF-Token": site.tokens["member"]})
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allowed, (method, path)
        assert "not allowed" in answer.text
    api = {"/api/v1/dialogues": "GET, POST", f"/api/v1/commitments/{result.id}": "GET",
           f"/api/v1/commitments/{result.id}/endorse": "POST", "/api/v1/ledger/head": "GET"}
    for path, allowed in api.items():
        answer = client.request(method, path, headers={"X-CSRF-Token": site.tokens["member"]})
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allowed
        assert answer.json()["error"]["code"] == "method_not_allowed"
    assert position(site.tracker) == before


def test_a_get_only_page_refuses_a_post_with_allow(site: Site):
    answer = site.post("member", "/dialogues/saaba", {})
    assert answer.status_code == 405 and answer.headers["allow"] == "GET"


def test_the_openapi_document_declares_the_bearer_token_on_every_signed_in_operation(site: Site):
    schema = TestClient(site.app).get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http", "scheme": "bearer",
        "description": "an API token from `tracker token create NAME`"}
    anonymous = TestClient(site.app)
    secured, open_ = 0, set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
            concrete = concrete.replace("/dialogues/00000000-0000-0000-0000-000000000000", "/dialogues/saaba")
            if method != "get":
                continue
            status = anonymous.get(concrete).status_code
            if "security" in operation:
                secured += 1
                assert operation["security"] == [{"bearerToken": []}]
                assert status == 401, path
            else:
                open_.add(path)
                assert status != 401, path
    assert secured >= 6
    # Only the public reads need no account (as written out here, not taken from the code).
    assert open_ == {"/api/v1/public/dialogues", "/api/v1/public/dialogues/{slug}", "/api/v1/ledger/head",
                     "/api/v1/public/commitments/{commitment_id}/proof",
                     "/api/v1/public/ledger/consistency", "/api/v1/public/ledger/tree-head"}


def test_party_filters_take_a_name_or_an_id_and_refuse_any_other_value(site: Site):
    tracker, world = site.tracker, site.world
    result = propose(tracker, world)
    advance(tracker, world, result.id, "in_progress")  # responsible: the police
    propose(tracker, world, title="Women's safety walks")
    site.settle()
    police = world.parties["police"]
    for value in (police, "Police nationale", "police NATIONALE"):
        answer = site.get("member", f"/dialogues/saaba?party={value}")
        assert answer.status_code == 200
        assert "Joint night patrols" in answer.text and "Women's safety walks" not in answer.text
        api = site.get("member", "/api/v1/dialogues/saaba/commitments", params={"party": value})
        assert api.status_code == 200, api.text
        assert [c["id"] for c in api.json()["items"]] == [result.id]
    for value in ("Gendarmerie", site.other.parties["police"], "x" * 60):
        assert site.get("member", f"/dialogues/saaba?party={value}").status_code == 422
        api = site.get("member", "/api/v1/dialogues/saaba/commitments", params={"party": value})
        assert api.status_code == 422 and api.json()["error"]["field"] == "party"


def test_pages_carry_a_content_security_policy_and_docs_allow_only_their_own_script(site: Site):
    client = TestClient(site.app)
    for path in ("/login", "/public/", "/no-such-page", "/api/v1/ledger/head"):
        policy = client.get(path).headers["content-security-policy"]
        assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    docs = client.get("/docs")
    policy = docs.headers["content-security-policy"]
    scripts = re.findall(r"<script>(.*?)</script>", docs.text, flags=re.DOTALL)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    # no template puts inline style or script into a page the policy would then break
    page = site.get("admin", "/admin/accounts").text + client.get("/public/dialogues/saaba").text
    assert " style=" not in page and "<script>" not in page and " onclick=" not in page


def test_the_favicon_is_served_and_kept(site: Site):
    answer = TestClient(site.app).get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/x-icon"
    assert "max-age=604800" in answer.headers["cache-control"]
    assert answer.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    # Pages name the icon inline (a data: address of icon-1.svg): a browser asks for no file.
    icon = re.search(r'<link rel="icon" href="([^"]+)">', TestClient(site.app).get("/login").text)
    assert icon and icon.group(1).startswith("data:image/svg+xml,%3Csvg")
