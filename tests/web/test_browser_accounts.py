"""The administrator's account page, the Content-Security-Policy and /docs, in a real browser.

At 360 px and 1280 px wide: the page lists the accounts and each action works (deactivate,
reactivate, reset a password, revoke a token, revoke all, remove a membership); screenshots go to
test-artifacts/. Every page visited reports no Content-Security-Policy violation, /docs included,
where a token given through "Authorize" is sent with "Try it out".
"""

from __future__ import annotations

import re

import pytest

from tests.browser_support import screenshot
from tests.factories import PASSWORD, make_world, propose
from tracker.application import SYSTEM

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def new_page(browser, width: int):
    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": 800})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.console_errors = console  # type: ignore[attr-defined]
    return page


def no_violations(page) -> None:
    assert page.evaluate("window.__csp") == [], page.url
    assert not [m for m in page.console_errors if "Content Security Policy" in m], page.url


def sign_in(page, server, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Account name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def account(page, name: str):
    return page.locator(f"#account-{name}")


def act(page, name: str, button: str, fill: dict[str, str] | None = None, check: str | None = None):
    item = account(page, name)
    if item.locator("details").get_attribute("open") is None:
        item.locator("summary").click()
    form = item.locator("form", has=page.get_by_role("button", name=button, exact=True)).first
    for label, value in (fill or {}).items():
        form.get_by_label(label).fill(value)
    if check:
        form.get_by_label(check).check()
    form.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


@pytest.mark.parametrize("width", [360, 1280])
def test_the_admin_page_lists_accounts_and_does_each_action(live_server, chromium, width):
    tracker = live_server.app.state.tracker
    make_world(tracker)
    tracker.add_account(SYSTEM, name="admin", role="admin", password=PASSWORD)
    for label in ("phone", "laptop", "tablet"):
        tracker.create_token(SYSTEM, "saaba-women", label=label)
    live_server.app.state.read_models.catch_up()
    member = new_page(chromium, width)
    sign_in(member, live_server, "saaba-women")
    page = new_page(chromium, width)
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/admin/accounts")
    for name in ("admin", "saaba-police", "saaba-vigilante", "saaba-women"):
        expect(account(page, name)).to_be_visible()
    women = account(page, "saaba-women")
    expect(women).to_contain_text("Dialogue saaba (Association des femmes)")
    expect(women).to_contain_text("Active tokens: 3")
    expect(account(page, "saaba-police")).to_contain_text("Last sign-in: never")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"admin-accounts-{width}")

    women.locator("summary").click()
    screenshot(page, f"admin-account-actions-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    act(page, "saaba-women", "Revoke")
    expect(page.locator("#messages")).to_contain_text("The token was revoked.")
    expect(account(page, "saaba-women")).to_contain_text("Active tokens: 2")
    act(page, "saaba-women", "Revoke all its tokens")
    expect(account(page, "saaba-women")).to_contain_text("Active tokens: 0")
    act(page, "saaba-women", "Reset the password",
        fill={"New password (at least 8 characters)": "a fresh password"})
    expect(page.locator("#messages")).to_contain_text("sessions have ended")
    member.goto(f"{live_server.url}/dialogues/saaba")
    assert "/login" in member.url  # the member's session ended at once
    act(page, "saaba-women", "Deactivate", fill={"Reason for deactivating": "left the town"})
    expect(account(page, "saaba-women")).to_contain_text("deactivated")
    screenshot(page, f"admin-account-deactivated-{width}")
    act(page, "saaba-women", "Reactivate")
    expect(account(page, "saaba-women")).not_to_contain_text("deactivated")
    act(page, "saaba-women", "Remove from Dialogue saaba")
    expect(account(page, "saaba-women")).not_to_contain_text("Member of")
    sign_in(member, live_server, "saaba-women", "a fresh password")
    assert "/login" not in member.url
    # a refusal says why, by the account
    act(page, "saaba-vigilante", "Reset the password",
        fill={"New password (at least 8 characters)": "x" * 1001})
    expect(account(page, "saaba-vigilante")).to_contain_text("at most 1000 characters")
    no_violations(page)
    no_violations(member)
    kinds = [type(e).__name__ for e in tracker.aggregate_events(
        tracker.account_by_name("saaba-women").id)]
    assert {"TokenRevoked", "PasswordChanged", "Deactivated", "Reactivated",
            "MembershipRevoked"} <= set(kinds)


def test_pages_work_under_the_content_security_policy(live_server, chromium):
    tracker = live_server.app.state.tracker
    world = make_world(tracker)
    result = propose(tracker, world, by="women", public=True)  # the police are yet to endorse it
    live_server.app.state.read_models.catch_up()
    page = new_page(chromium, 360)
    for path in ("/public/", "/public/dialogues/saaba", f"/public/commitments/{result.id}",
                 "/public/ledger", "/login"):
        page.goto(live_server.url + path)
        no_violations(page)
    sign_in(page, live_server, "saaba-police")
    for path in ("/dialogues/saaba", f"/commitments/{result.id}", "/account/password"):
        page.goto(live_server.url + path)
        no_violations(page)
    # htmx still works: an endorsement swaps the commitment in place
    page.goto(f"{live_server.url}/commitments/{result.id}")
    page.locator("section.actions").get_by_role("button", name="Endorse", exact=True).click()
    expect(page.locator("#messages")).not_to_be_empty()
    no_violations(page)


def test_docs_send_a_bearer_token_given_through_authorize(live_server, chromium):
    tracker = live_server.app.state.tracker
    make_world(tracker)
    token = tracker.create_token(SYSTEM, "saaba-police")
    live_server.app.state.read_models.catch_up()
    page = new_page(chromium, 1280)
    page.goto(f"{live_server.url}/docs")
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    dialog = page.locator(".dialog-ux")
    dialog.locator("input").last.fill(token)
    dialog.get_by_role("button", name="Apply credentials").click()
    dialog.locator("button.btn-done").click()
    operation = page.locator("#operations-dialogues-list_dialogues_api_v1_dialogues_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(re.compile(r"/api/v1/dialogues$")) as answer:
        operation.get_by_role("button", name="Execute").click()
    assert answer.value.status == 200
    assert answer.value.request.headers["authorization"] == f"Bearer {token}"
    expect(operation.locator(".responses-wrapper")).to_contain_text("saaba")
    screenshot(page, "docs-authorized")
    no_violations(page)
