"""Sign-in abuse: repeated failures lock out an account name and an address, and auditors see them.

Through the sign-in form of the real app, from several client addresses. A failure against an
existing account is an event on that account (LoginFailed, with the address it came from), shown in
the auditor's activity log; a failure for a name that is no account records nothing (no event per
attempt: the log is not a place for someone else's noise) but still counts against the address.
Attempts refused during a lock-out are not checked and not recorded.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD
from tests.web.support import TOKEN, Site, build_site, position
from web.app import create_app
from web.security import LoginThrottle, TooManyAttempts


@pytest.fixture
def site(settings) -> Iterator[Site]:
    app = create_app(settings)
    with TestClient(app):
        site = build_site(app)
        try:
            yield site
        finally:
            for client in site.clients.values():
                client.close()


def visitor(site: Site, address: str) -> TestClient:
    """A browser at this address (the app sees it as the client's address)."""
    return TestClient(site.app, client=(address, 40000), headers={"Accept-Language": "en"})


def attempt(client: httpx.Client, name: str, password: str) -> int:
    """One sign-in through the form, in the app (TestClient) or over real HTTP."""
    token = TOKEN.search(client.get("/login").text)[1]
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token}, follow_redirects=False).status_code


def failures_of(site: Site, name: str) -> list:
    account = site.tracker.account_by_name(name)
    return [e for e in site.tracker.aggregate_events(account.id) if type(e).__name__ == "LoginFailed"]


def test_repeated_wrong_passwords_lock_the_account_whatever_the_address(site: Site):
    for n in range(LoginThrottle.ACCOUNT_LIMIT):
        assert attempt(visitor(site, f"10.1.0.{n}"), "saaba-women", "wrong password") == 401
    # locked: even the right password from a new address is refused, without being checked
    client = visitor(site, "10.1.0.200")
    token = TOKEN.search(client.get("/login").text)[1]
    answer = client.post("/login", data={"username": "saaba-women", "password": PASSWORD,
                                         "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) > 60
    assert "minutes" in answer.text
    # the account's name in another case is the same account
    assert attempt(visitor(site, "10.1.0.201"), "SAABA-Women", PASSWORD) == 429
    # other accounts sign in as usual, from the same addresses
    assert attempt(visitor(site, "10.1.0.0"), "saaba-police", PASSWORD) == 303


def test_many_failures_from_one_address_lock_that_address_out_whatever_the_names(site: Site):
    attacker = visitor(site, "192.0.2.66")
    before = position(site.tracker)
    for n in range(LoginThrottle.ADDRESS_LIMIT):
        assert attempt(attacker, f"guess-{n}", "password123") == 401
    # nothing was recorded for names that are no account
    assert position(site.tracker) == before
    # the address is locked out, even for a real account and its right password
    assert attempt(attacker, "saaba-police", PASSWORD) == 429
    # other addresses are not
    assert attempt(visitor(site, "192.0.2.67"), "saaba-police", PASSWORD) == 303


def test_an_ipv6_visitor_cannot_escape_the_lock_by_changing_the_end_of_its_address(site: Site):
    for n in range(LoginThrottle.ADDRESS_LIMIT):
        assert attempt(visitor(site, f"2001:db8:1:2::{n + 1:x}"), f"guess-{n}", "x" * 10) == 401
    # the same /64 network: still the same visitor
    assert attempt(visitor(site, "2001:db8:1:2:ffff::1"), "saaba-police", PASSWORD) == 429
    assert attempt(visitor(site, "2001:db8:1:3::1"), "saaba-police", PASSWORD) == 303


def test_a_successful_sign_in_clears_the_accounts_failures(site: Site):
    client = visitor(site, "10.2.0.1")
    for _ in range(LoginThrottle.ACCOUNT_LIMIT - 1):
        assert attempt(client, "saaba-vigilante", "wrong password") == 401
    assert attempt(client, "saaba-vigilante", PASSWORD) == 303
    for _ in range(LoginThrottle.ACCOUNT_LIMIT - 1):
        assert attempt(visitor(site, "10.2.0.2"), "saaba-vigilante", "wrong password") == 401
    assert attempt(visitor(site, "10.2.0.3"), "saaba-vigilante", PASSWORD) == 303


def test_each_failure_against_an_account_is_in_the_auditors_activity_log(site: Site):
    for n in range(3):
        assert attempt(visitor(site, f"198.51.100.{n + 1}"), "saaba-women", "wrong password") == 401
    failures = failures_of(site, "saaba-women")
    assert [e.source for e in failures] == ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    assert all(e.meta.actor is None for e in failures)  # nobody signed in did it
    site.settle()
    # the read model of the activity log has them, with the address as the reason
    entries = [e for e in site.read_models.activity() if e["type"] == "LoginFailed"]
    assert sorted(e["reason"] for e in entries) == ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    # and the auditor's pages show them: the whole log, and the account's own activity
    for path in ("/audit/activity", "/audit/activity?account=saaba-women"):
        page = site.get("auditor", path)
        assert page.status_code == 200
        assert page.text.count("Failed sign-in") == 3, path
        assert page.text.count("someone not signed in") == 3, path  # not "system"
        for n in range(3):
            assert f"198.51.100.{n + 1}" in page.text
    # a failure for a name that is no account appears nowhere
    assert attempt(visitor(site, "198.51.100.9"), "nobody-here", "wrong password") == 401
    assert "198.51.100.9" not in site.get("auditor", "/audit/activity").text


def test_attempts_during_a_lockout_are_neither_checked_nor_recorded(site: Site):
    client = visitor(site, "203.0.113.5")
    for _ in range(LoginThrottle.ACCOUNT_LIMIT):
        attempt(client, "saaba-women", "wrong password")
    before = position(site.tracker)
    for _ in range(10):
        assert attempt(client, "saaba-women", "wrong password") == 429
    assert position(site.tracker) == before
    assert len(failures_of(site, "saaba-women")) == LoginThrottle.ACCOUNT_LIMIT


def test_a_name_that_cannot_be_an_account_is_refused_like_a_wrong_password(site: Site):
    client = visitor(site, "203.0.113.9")
    before = position(site.tracker)
    for name in ("", "x", "<script>alert(1)</script>", "a" * 300, "../../etc/passwd", "é" * 10):
        assert attempt(client, name, "whatever") in (401, 422), name
    assert position(site.tracker) == before


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(1_000_000.0)


@pytest.fixture
def db_throttle(store_url, clock) -> Iterator[LoginThrottle]:
    """The throttle on its table in a real store (SQLite and PostgreSQL), with a clock to move."""
    from projections.store import close_store, open_store
    from tracker.sessions import SessionStore

    store = open_store(store_url)
    try:
        yield LoginThrottle(SessionStore(store, idle=3600, lifetime=43200, clock=clock))
    finally:
        close_store(store)


def test_the_lock_ends_after_its_time_and_old_failures_are_forgotten(db_throttle, clock):
    for _ in range(LoginThrottle.ACCOUNT_LIMIT):
        db_throttle.failed("someone", "10.9.9.9")
    with pytest.raises(TooManyAttempts):
        db_throttle.check("someone", "10.9.9.10")
    clock.now += LoginThrottle.LOCKOUT + 1
    db_throttle.check("someone", "10.9.9.10")


def test_many_failures_from_one_address_lock_it_whatever_the_names(db_throttle, clock):
    for n in range(LoginThrottle.ADDRESS_LIMIT):
        db_throttle.check(f"name-{n}", "10.0.0.7")
        db_throttle.failed(f"name-{n}", "10.0.0.7")
    with pytest.raises(TooManyAttempts):
        db_throttle.check("someone-else", "10.0.0.7")
    db_throttle.check("someone-else", "10.0.0.8")  # another address is fine
    clock.now += LoginThrottle.LOCKOUT + LoginThrottle.WINDOW + 1
    db_throttle.check("someone-else", "10.0.0.7")  # and the lock ends


def test_the_throttle_keeps_only_the_last_windows_failures_under_a_spray_of_names(db_throttle,
                                                                                  clock):
    """A spray of made-up names from ever new addresses: what the table keeps is bounded by the
    window (older failures are deleted with each new one), and the latest still count."""
    horizon = max(LoginThrottle.WINDOW, LoginThrottle.LOCKOUT)
    for n in range(600):
        clock.now += horizon / 200  # 200 failures per window
        db_throttle.failed(f"made-up-{n}", f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")
    assert db_throttle.size() <= 2 * 201
    for _ in range(LoginThrottle.ACCOUNT_LIMIT):
        db_throttle.failed("target", "10.200.0.1")
    with pytest.raises(TooManyAttempts):
        db_throttle.check("target", "10.200.0.2")


def test_the_count_is_shared_by_every_server_process(settings):
    """Two apps on one database (two server processes): failures counted by either lock both."""
    apps = [create_app(settings), create_app(settings)]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        build_site(apps[0])
        for n in range(LoginThrottle.ACCOUNT_LIMIT):
            assert attempt(first if n % 2 else second, "saaba-women", "wrong password") == 401
        assert attempt(first, "saaba-women", PASSWORD) == 429
        assert attempt(second, "saaba-women", PASSWORD) == 429


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_behind_a_trusted_proxy_each_client_address_is_counted_on_its_own(tmp_path, trusted):
    """`tracker serve` over real HTTP. Behind a reverse proxy every request comes from the proxy's
    address: unless the proxy is named in TRACKER_TRUSTED_PROXIES, one visitor's failures would
    lock sign-in for everybody; and a forwarded address from anyone else is never believed (it
    would let an attacker pick a fresh address for every attempt)."""
    from tests.browser_support import ServerProcess

    with ServerProcess(f"sqlite:///{tmp_path / 'proxy.db'}", tmp_path,
                       TRACKER_TRUSTED_PROXIES=trusted) as server:
        def attempt_from(address: str, n: int) -> int:
            with httpx.Client(base_url=server.url, headers={"X-Forwarded-For": address}) as client:
                return attempt(client, f"nobody-{n}", "wrong")

        assert [attempt_from("198.51.100.7", n) for n in range(LoginThrottle.ADDRESS_LIMIT)] == \
            [401] * LoginThrottle.ADDRESS_LIMIT
        assert attempt_from("198.51.100.7", 99) == 429
        # another visitor behind the same proxy: its own count when the proxy is trusted
        assert attempt_from("203.0.113.50", 100) == (401 if trusted else 429)
        # and the session cookie is Secure when the trusted proxy says the visitor used HTTPS
        cookie = httpx.get(f"{server.url}/login", headers={"X-Forwarded-Proto": "https"}
                           ).headers["set-cookie"].lower()
        assert ("; secure" in cookie) == bool(trusted)
