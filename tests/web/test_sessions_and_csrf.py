"""Sessions in signed cookies, CSRF tokens on every state change, throttled sign-in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import PASSWORD, propose
from tests.web.support import Site, csrf_token, position, sign_in
from web.security import LoginThrottle


def test_the_session_cookie_is_signed_httponly_and_samesite_lax(site: Site):
    client = TestClient(site.app)
    response = client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http (a local test server)
    client.cookies.set("tracker_session", client.cookies["tracker_session"][:-3] + "abc")
    assert csrf_token(client) != csrf_token(TestClient(site.app))  # a forged cookie is ignored


def test_the_session_cookie_is_secure_over_https(site: Site):
    client = TestClient(site.app, base_url="https://testserver")
    assert "secure" in client.get("/login").headers["set-cookie"].lower()


def test_signing_in_starts_a_new_session(site: Site):
    client = TestClient(site.app)
    before = csrf_token(client)
    after = sign_in(client, "saaba-police")
    assert after != before
    # the token of the anonymous session no longer works
    result = propose(site.tracker, site.world)
    response = client.post(f"/commitments/{result.id}/endorse", data={"csrf_token": before},
                           follow_redirects=False)
    assert response.status_code == 403


def test_signing_out_ends_the_session(site: Site):
    site.client("member")
    response = site.post("member", "/logout")
    assert response.status_code == 303
    assert site.get("member", "/dialogues/saaba").headers["location"].startswith("/login")


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(site: Site):
    result = propose(site.tracker, site.world)
    client = site.client("member")
    before = position(site.tracker)
    for data, headers in [({}, {}), ({"csrf_token": "forged"}, {}),
                          ({}, {"X-CSRF-Token": "forged", "HX-Request": "true"}),
                          ({"csrf_token": csrf_token(TestClient(site.app))}, {})]:
        response = client.post(f"/commitments/{result.id}/endorse", data=data, headers=headers,
                               follow_redirects=False)
        assert response.status_code == 403
        assert "did not come from this site" in response.text
    assert position(site.tracker) == before


def test_the_csrf_header_of_htmx_requests_is_accepted(site: Site):
    result = propose(site.tracker, site.world, by="women")
    response = site.post("member", f"/commitments/{result.id}/endorse", htmx=True)
    assert response.status_code == 200
    assert site.tracker.commitment(result.id).endorsements == [site.world.parties["police"]]


def test_no_page_changes_anything_when_read(site: Site):
    result = propose(site.tracker, site.world)
    case = site.tracker.raise_case(site.world.members["police"], "saaba", title="Thefts",
                                   category="theft_burglary")
    site.client("member"), site.client("admin")  # (signing in is recorded: SignedIn)
    site.settle()
    before = position(site.tracker)
    for path in ["/", "/login", "/dialogues/saaba", f"/cases/{case.id}",
                 f"/commitments/{result.id}", "/dialogues/saaba?status=proposed&overdue=1&q=x",
                 "/logout", f"/commitments/{result.id}/endorse", "/language?lang=en"]:
        site.get("member", path)
        site.get("admin", path)
    assert position(site.tracker) == before
    assert site.get("member", f"/commitments/{result.id}/endorse").status_code == 405


def test_repeated_wrong_passwords_lock_the_account_and_are_recorded(site: Site):
    client = TestClient(site.app)
    token = csrf_token(client)
    for _ in range(LoginThrottle.ACCOUNT_LIMIT):
        response = client.post("/login", data={"username": "saaba-women", "password": "wrong",
                                                "csrf_token": token})
        assert response.status_code == 401
        assert "Wrong name or password" in response.text or "Nom ou mot de passe" in response.text
    # now even the right password is refused for a while, without being checked
    response = client.post("/login", data={"username": "saaba-women", "password": PASSWORD,
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert client.get("/dialogues/saaba", follow_redirects=False).status_code == 303
    account = site.tracker.account_by_name("saaba-women")
    failures = [e for e in site.tracker.aggregate_events(account.id)
                if type(e).__name__ == "LoginFailed"]
    assert len(failures) == LoginThrottle.ACCOUNT_LIMIT
    # other accounts from elsewhere are not affected
    assert sign_in(TestClient(site.app), "saaba-police")


def test_after_signing_in_the_visitor_returns_to_the_page_they_asked_for(site: Site):
    client = TestClient(site.app)
    response = client.get("/dialogues/saaba", follow_redirects=False)
    assert response.headers["location"] == "/login?next=/dialogues/saaba"
    response = client.post("/login", data={"username": "saaba-police", "password": PASSWORD,
                                           "next": "/dialogues/saaba",
                                           "csrf_token": csrf_token(client)},
                           follow_redirects=False)
    assert response.headers["location"] == "/dialogues/saaba"
    response = client.post("/login", data={"username": "saaba-police", "password": PASSWORD,
                                           "next": "//evil.example/x",
                                           "csrf_token": csrf_token(client)},
                           follow_redirects=False)
    assert response.headers["location"] == "/dialogues/saaba"  # home, for a member of one dialogue


def test_signing_in_to_home_lands_a_member_of_one_dialogue_on_it_at_once(site: Site):
    """No hop through / on a slow link; an auditor, who reads every dialogue, goes home."""
    for name, landing in (("saaba-police", "/dialogues/saaba"), ("auditor", "/")):
        client = TestClient(site.app)
        response = client.post("/login", data={"username": name, "password": PASSWORD,
                                               "csrf_token": csrf_token(client)},
                               follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, landing), name
        if landing == "/":
            assert client.get("/", follow_redirects=False).status_code == 200


def test_pages_may_not_be_framed_by_other_sites(site: Site):
    response = TestClient(site.app).get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_once_the_server_is_stopping_every_answer_closes_its_connection(site: Site):
    """uvicorn's graceful stop lets a keep-alive connection whose answer had already started go on
    taking requests, so a busy client kept the stop waiting until it was killed. Once `tracker
    serve` has its stop signal (app.state.stopping), every answer says Connection: close."""
    client = TestClient(site.app)
    assert "connection" not in client.get("/healthz").headers
    site.app.state.stopping.set()
    try:
        for path in ("/healthz", "/login", "/public/", "/no-such-page"):
            assert client.get(path).headers.get("connection") == "close", path
    finally:
        site.app.state.stopping.clear()
