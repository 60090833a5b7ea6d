"""Sessions held by the server, accounts an administrator controls, and the second factor.

Over real HTTP (`tracker serve` in processes of their own, sharing one database) where it matters
that the cookie is a copy and the servers are several; through the app in process for the rest.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from tests.browser_support import ServerProcess
from tests.factories import PASSWORD, make_world, propose
from tests.web.support import TOKEN, Site, csrf_token, position, sign_in
from tracker.application import SYSTEM
from tracker.bootstrap import build_application
from tracker.settings import Settings
from web.app import create_app
from web.security import SESSION_COOKIE


def http_sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> str:
    token = TOKEN.search(client.get("/login").text)[1]
    answer = client.post("/login", data={"username": name, "password": password,
                                         "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return TOKEN.search(client.get("/login").text)[1]


def copy_of(client: httpx.Client, server: ServerProcess) -> httpx.Client:
    """Another browser holding a copy of this client's session cookie."""
    return httpx.Client(base_url=server.url, cookies={SESSION_COOKIE: client.cookies[SESSION_COOKIE]})


@contextmanager
def two_servers(database_url: str, directory, seed) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """`seed(tracker)` on the database, then two `tracker serve` processes on it."""
    tracker = build_application(Settings(database_url=database_url, var_dir=directory / "var"))
    try:
        seed(tracker)
    finally:
        tracker.close()
    with ServerProcess(database_url, directory, "first") as first, \
            ServerProcess(database_url, directory, "second") as second:
        yield first, second


def test_a_cookie_saved_before_logout_is_refused_afterwards_on_both_servers(postgres_url, tmp_path):
    """Two `tracker serve` processes on one PostgreSQL database: a session cookie works on either;
    once the session signs out on one, the saved copy gets a redirect to sign in on each, and
    cannot write."""
    made = {}

    def seed(tracker):
        made["commitment"] = propose(tracker, make_world(tracker)).id

    with two_servers(postgres_url, tmp_path, seed) as (first, second):
        commitment = made["commitment"]
        browser = httpx.Client(base_url=first.url)
        csrf = http_sign_in(browser, "saaba-police")
        saved = {server.name: copy_of(browser, server) for server in (first, second)}
        for copy in saved.values():  # the same session on both servers
            assert copy.get("/dialogues/saaba").status_code == 200
        assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
        for name, copy in saved.items():
            answer = copy.get("/dialogues/saaba")
            assert answer.status_code == 303, name
            assert answer.headers["location"].startswith("/login"), name
            assert copy.get("/api/v1/dialogues").status_code == 401, name
            write = copy.post(f"/commitments/{commitment}/endorse", data={"csrf_token": csrf},
                              headers={"HX-Request": "true", "X-CSRF-Token": csrf})
            assert write.status_code in (401, 403), name
        # the servers are still there for everyone else
        again = httpx.Client(base_url=second.url)
        http_sign_in(again, "saaba-police")
        assert again.get("/dialogues/saaba").status_code == 200


def test_deactivation_and_a_password_reset_on_the_admin_page_end_sessions_on_every_server(
        postgres_url, tmp_path):
    def seed(tracker):
        make_world(tracker)
        tracker.add_account(SYSTEM, name="admin", role="admin", password=PASSWORD)

    with two_servers(postgres_url, tmp_path, seed) as (first, second):
        admin = httpx.Client(base_url=first.url)
        admin_csrf = http_sign_in(admin, "admin")
        for action, data in (("password", {"password": "another long password"}),
                             ("deactivate", {"reason": "left the dialogue"})):
            member = httpx.Client(base_url=second.url)
            http_sign_in(member, "saaba-vigilante",
                         PASSWORD if action == "password" else "another long password")
            assert member.get("/dialogues/saaba").status_code == 200
            answer = admin.post(f"/admin/accounts/saaba-vigilante/{action}",
                                data={**data, "csrf_token": admin_csrf})
            assert answer.status_code == 303, answer.text
            for server in (first, second):  # at once, everywhere
                assert copy_of(member, server).get("/dialogues/saaba").status_code == 303
        assert httpx.Client(base_url=second.url).get("/login").status_code == 200
        # deactivated: the right password no longer signs in
        client = httpx.Client(base_url=second.url)
        token = TOKEN.search(client.get("/login").text)[1]
        assert client.post("/login", data={"username": "saaba-vigilante", "csrf_token": token,
                                           "password": "another long password"}).status_code == 401


# --- in process: the admin page and its actions ----------------------------------------------------------

def test_the_admin_page_lists_accounts_with_role_memberships_last_sign_in_and_tokens(site: Site):
    site.tracker.create_token(SYSTEM, "saaba-women", label="phone")
    site.settle()
    page = site.get("admin", "/admin/accounts").text
    block = page.split('id="account-saaba-women"')[1].split("</li>\n")[0]
    assert "member" in block and "Dialogue saaba (Association des femmes)" in block
    assert "Active tokens: <strong>1</strong>" in block and "phone" in block
    assert "Last sign-in: never" not in block  # signed in by the test site
    assert "Last sign-in: never" not in page.split('id="account-auditor"')[1][:600]
    for name in ("admin", "auditor", "saaba-police", "dakar-police"):
        assert f'id="account-{name}"' in page
    assert site.get("member", "/admin/accounts").status_code == 403


def test_every_admin_action_is_recorded_on_the_account_in_the_admins_name(site: Site):
    tracker = site.tracker
    token = tracker.create_token(SYSTEM, "saaba-women", label="phone")
    tracker.create_token(SYSTEM, "saaba-women", label="tablet")
    women = site.client("women")
    assert women.get("/dialogues/saaba", follow_redirects=False).status_code == 200
    admin_id = tracker.account_by_name("admin").id
    token_id = tracker.account_by_name("saaba-women").tokens[0]
    steps = [("revoke-token", {"token": token_id}, "TokenRevoked"),
             ("password", {"password": "yet another password"}, "PasswordChanged"),
             ("revoke-tokens", {}, "TokenRevoked"),
             ("deactivate", {"reason": "lost phone"}, "Deactivated"),
             ("reactivate", {}, "Reactivated"),
             ("revoke-membership", {"dialogue": "saaba"}, "MembershipRevoked")]
    for action, data, event in steps:
        answer = site.post("admin", f"/admin/accounts/saaba-women/{action}", data)
        assert answer.status_code == 303, (action, answer.text)
        last = list(tracker.aggregate_events(tracker.account_by_name("saaba-women").id))[-1]
        assert type(last).__name__ == event and last.meta.actor == str(admin_id)
        assert "sessions have ended" in site.get("admin", "/admin/accounts").text or \
            event in ("TokenRevoked", "Reactivated")
    assert tracker.principal_for_token(token) is None
    # the password reset ended the member's session, at once
    assert women.get("/dialogues/saaba", follow_redirects=False).status_code == 303
    assert site.get("auditor", "/audit/activity?account=saaba-women").status_code == 200


def test_a_refused_admin_action_says_why_by_that_account_and_changes_nothing(site: Site):
    before = position(site.tracker)
    for action, data, status in [("deactivate", {"reason": ""}, 422),
                                 ("reactivate", {}, 409),
                                 ("password", {"password": "short"}, 422),
                                 ("revoke-tokens", {}, 422),
                                 ("revoke-token", {"token": "nope"}, 422),
                                 ("remove-second-factor", {"reason": "x"}, 409),
                                 ("frobnicate", {}, 404)]:
        answer = site.post("admin", f"/admin/accounts/saaba-women/{action}", data)
        assert answer.status_code == status, (action, answer.text[:300])
    answer = site.post("admin", "/admin/accounts/admin/deactivate", {"reason": "oops"})
    assert answer.status_code == 403
    answer = site.post("admin", "/admin/accounts/nobody/deactivate", {"reason": "x"})
    assert answer.status_code == 404
    assert site.post("member", "/admin/accounts/saaba-women/deactivate",
                     {"reason": "x"}).status_code == 403
    assert position(site.tracker) == before


def test_a_revoked_token_gets_401(site: Site):
    token = site.tracker.create_token(SYSTEM, "saaba-police")
    api = TestClient(site.app)
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/dialogues", headers=bearer).status_code == 200
    token_id = site.tracker.account_by_name("saaba-police").tokens[-1]
    assert site.post("admin", "/admin/accounts/saaba-police/revoke-token",
                     {"token": token_id}).status_code == 303
    answer = api.get("/api/v1/dialogues", headers=bearer)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "not_signed_in"


def test_everyone_changes_their_own_password_giving_the_current_one(site: Site):
    other_session = TestClient(site.app)
    sign_in(other_session, "saaba-police")
    before = position(site.tracker)
    for data, field in [({"current_password": "wrong", "new_password": "a new password!",
                          "confirm_password": "a new password!"}, "current_password"),
                        ({"current_password": PASSWORD, "new_password": "short",
                          "confirm_password": "short"}, "new_password"),
                        ({"current_password": PASSWORD, "new_password": "a new password!",
                          "confirm_password": "another one!!"}, "confirm_password")]:
        answer = site.post("member", "/account/password", data)
        assert answer.status_code == 422 and f'id="err-{field}"' in answer.text
    assert position(site.tracker) == before
    answer = site.post("member", "/account/password", {
        "current_password": PASSWORD, "new_password": "a new password!",
        "confirm_password": "a new password!"})
    assert answer.status_code == 303
    # this session goes on; the other one has ended
    assert "other sessions have ended" in site.get("member", "/account/password").text
    assert site.get("member", "/dialogues/saaba").status_code == 200
    assert other_session.get("/dialogues/saaba", follow_redirects=False).status_code == 303
    assert site.tracker.authenticate("saaba-police", "a new password!") is not None
    last = list(site.tracker.aggregate_events(site.tracker.account_by_name("saaba-police").id))[-1]
    assert type(last).__name__ == "PasswordChanged"
    assert last.meta.actor == str(site.tracker.account_by_name("saaba-police").id)


def test_a_removed_membership_ends_the_members_sessions(site: Site):
    member = site.client("women")
    site.tracker.revoke_membership(SYSTEM, "saaba-women", slug="saaba")
    assert member.get("/", follow_redirects=False).headers["location"].startswith("/login")


# --- expiry ----------------------------------------------------------------------------------------------

def test_sessions_end_after_their_idle_time_and_their_lifetime(settings: Settings):
    clock = [1_000_000.0]
    app = create_app(settings.model_copy(update={"session_idle_seconds": 600,
                                                 "session_lifetime_seconds": 3600}))
    with TestClient(app) as client:
        app.state.sessions.clock = lambda: clock[0]
        make_world(app.state.tracker)
        sign_in(client, "saaba-police")
        for _ in range(6):  # a request every 9 minutes keeps it going ...
            clock[0] += 540
            assert client.get("/dialogues/saaba", follow_redirects=False).status_code == 200
        clock[0] += 540  # ... until an hour after signing in
        assert client.get("/dialogues/saaba", follow_redirects=False).status_code == 303
        sign_in(client, "saaba-police")
        clock[0] += 601  # ten minutes without a request
        assert client.get("/dialogues/saaba", follow_redirects=False).status_code == 303


def test_the_cookie_holds_only_a_signed_random_id(site: Site):
    client = TestClient(site.app)
    sign_in(client, "saaba-police")
    value = client.cookies[SESSION_COOKIE]
    session_id = value.split(".")[0]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session_id)
    assert "saaba" not in value and "account" not in value
    forged = TestClient(site.app, cookies={SESSION_COOKIE: session_id + ".AAAA.BBBB"})
    assert forged.get("/dialogues/saaba", follow_redirects=False).status_code == 303
    # public pages give a visitor an id for the CSRF token, and store nothing
    rows = site.app.state.sessions.store.fetchone("SELECT COUNT(*) AS n FROM web_sessions")["n"]
    for _ in range(5):
        TestClient(site.app).get("/public/")
    assert site.app.state.sessions.store.fetchone(
        "SELECT COUNT(*) AS n FROM web_sessions")["n"] == rows


# --- the second factor -----------------------------------------------------------------------------------

def enrol(site: Site, who: str = "admin") -> tuple[str, list[str]]:
    page = site.get(who, "/account/second-factor").text
    secret = re.search(r'<code class="break" id="secret">([A-Z2-7]+)</code>', page)[1]
    assert 'src="data:image/svg+xml' in page
    for wrong in ("000000", "١٢٣٤٥٦"):
        assert site.post(who, "/account/second-factor", {"code": wrong}).status_code == 422
    answer = site.post(who, "/account/second-factor", {"code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 200, answer.text
    codes = re.findall(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>", answer.text)
    assert len(codes) == 10
    return secret, codes


def code_step(client: TestClient, code: str) -> int:
    token = TOKEN.search(client.get("/login/code").text)[1]
    return client.post("/login/code", data={"code": code, "csrf_token": token},
                       follow_redirects=False).status_code


def password_step(client: TestClient, name: str, password: str = PASSWORD) -> str:
    answer = client.post("/login", data={"username": name, "password": password,
                                         "csrf_token": csrf_token(client)},
                         follow_redirects=False)
    assert answer.status_code == 303
    return answer.headers["location"]


def test_an_administrator_signs_in_with_a_code_or_a_recovery_code_once(site: Site):
    secret, codes = enrol(site)
    account = site.tracker.account_by_name("admin")
    assert account.totp_secret == secret
    assert codes[0] not in str(account.recovery_codes)  # stored hashed
    client = TestClient(site.app)
    assert password_step(client, "admin") == "/login/code"
    assert client.get("/admin/accounts", follow_redirects=False).status_code == 303  # not yet in
    assert code_step(client, "123456") == 422
    for odd in ("١٢٣٤٥٦", "12345\u0000", "x" * 40):  # other digits, a NUL, too long (four failures of five)
        assert code_step(client, odd) == 422, odd
    # the enrolment used this 30-second step's code: the phone's next one (a clock a little
    # ahead is allowed)
    now = pyotp.TOTP(secret).at(time.time() + 30)
    assert code_step(client, now) == 303
    assert client.get("/admin/accounts", follow_redirects=False).status_code == 200
    # the same code cannot sign in twice
    again = TestClient(site.app)
    password_step(again, "admin")
    assert code_step(again, now) == 422
    # a recovery code works once
    assert code_step(again, codes[0]) == 303
    third = TestClient(site.app)
    password_step(third, "admin")
    assert code_step(third, codes[0]) == 422
    assert code_step(third, codes[1].upper().replace("-", " ")) == 303
    methods = [e.method for e in site.tracker.aggregate_events(account.id)
               if type(e).__name__ == "SignedIn"]
    assert methods[-3:] == ["totp", "recovery", "recovery"]


def test_an_administrator_removes_a_lost_second_factor(site: Site):
    enrol(site, "auditor")
    auditor = site.client("auditor")
    assert site.post("admin", "/admin/accounts/auditor/remove-second-factor",
                     {"reason": "lost phone"}).status_code == 303
    assert site.tracker.account_by_name("auditor").totp_secret is None
    assert auditor.get("/audit/", follow_redirects=False).status_code == 303  # sessions ended
    assert password_step(TestClient(site.app), "auditor") == "/"


def test_when_a_second_factor_is_required_an_admin_enrols_before_anything_else(settings):
    app = create_app(settings.model_copy(update={"require_second_factor": True}))
    with TestClient(app) as client:
        app.state.tracker.add_account(SYSTEM, name="chief", role="admin", password=PASSWORD)
        make_world(app.state.tracker)
        assert password_step(client, "chief") == "/account/second-factor"
        assert client.get("/admin/accounts", follow_redirects=False).status_code == 303
        page = client.get("/account/second-factor").text
        secret = re.search(r'id="secret">([A-Z2-7]+)<', page)[1]
        token = TOKEN.search(page)[1]
        answer = client.post("/account/second-factor", data={
            "code": pyotp.TOTP(secret).now(), "csrf_token": token})
        assert answer.status_code == 200 and "Recovery codes" in answer.text or \
            "Codes de secours" in answer.text
        assert client.get("/admin/accounts", follow_redirects=False).status_code == 200
        # members are not asked for one
        member = TestClient(app)
        assert password_step(member, "saaba-police") == "/dialogues/saaba"  # straight to its dialogue


def test_members_have_no_second_factor_page(site: Site):
    assert "Only administrators and auditors" in site.get("member", "/account/second-factor").text
    assert site.post("member", "/account/second-factor", {"code": "123456"}).status_code in (303, 422)


@pytest.mark.parametrize("language", ["ar"])
def test_an_arabic_account_sees_arabic_pages_whatever_the_browser_asks(site: Site, language):
    site.tracker.add_account(SYSTEM, name="amina", role="auditor", password=PASSWORD,
                             language=language)
    client = TestClient(site.app, headers={"Accept-Language": "en"})
    sign_in(client, "amina")
    assert '<html lang="ar" dir="rtl">' in client.get("/audit/").text


def test_the_auditors_pages_never_show_a_second_factor_key_or_recovery_code(site: Site):
    secret, codes = enrol(site)
    account = site.tracker.account_by_name("admin")
    password_step(client := TestClient(site.app), "admin")
    assert code_step(client, codes[3]) == 303
    site.settle()
    for path in (f"/audit/records/{account.id}", f"/audit/records/{account.id}/history.csv",
                 f"/audit/records/{account.id}/state", "/audit/activity?account=admin"):
        page = site.get("auditor", path)
        assert page.status_code == 200, path
        assert secret not in page.text, path
        for digest in account.recovery_codes:
            assert digest not in page.text, path
        assert codes[3] not in page.text


def test_wrong_codes_lock_the_account_and_the_right_password_does_not_reset_the_count(site: Site):
    from web.security import LoginThrottle

    secret, _ = enrol(site)
    for _ in range(LoginThrottle.ACCOUNT_LIMIT):
        client = TestClient(site.app)
        password_step(client, "admin")  # the password is right every time
        assert code_step(client, "000000") == 422
    client = TestClient(site.app)
    answer = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                         "csrf_token": csrf_token(client)}, follow_redirects=False)
    assert answer.status_code == 429
