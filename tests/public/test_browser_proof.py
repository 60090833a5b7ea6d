""""Check it yourself" on a public commitment page, in headless chromium: the browser checks with
WebCrypto (SHA-256, Ed25519) that the events the page shows are in the signed tree head; after a
leaf is tampered with in the database the check fails and says which event. Without JavaScript the
page still shows everything and links to the proof file.
"""

from __future__ import annotations

import pytest

from tests.browser_support import chromium, live_server, screenshot  # noqa: F401 (fixtures)
from tests.factories import advance, make_world, propose
from tests.projection_helpers import Tamper

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover (playwright is a dev dependency)
    expect = None


@pytest.fixture
def seeded(live_server):  # noqa: F811
    tracker = live_server.app.state.tracker
    world = make_world(tracker)
    done = propose(tracker, world, title="Joint night patrols on market days").id
    advance(tracker, world, done, "verified")
    for n in range(3):  # later events: the audit paths reach to their right too
        propose(tracker, world, title=f"Community radio slot {n}")
    live_server.app.state.read_models.catch_up()
    completed = next(n.id for n in tracker.recorder.select_notifications(0, 1000)
                     if n.topic == "commitment.completed")
    return done, completed


def test_check_it_yourself_passes_and_fails_once_a_leaf_is_tampered_with(
        live_server, chromium, seeded, settings):  # noqa: F811
    done, completed = seeded
    context = chromium.new_context(locale="en-GB", viewport={"width": 360, "height": 800})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else outside.append(r.url))
    page.goto(f"{live_server.url}/public/commitments/{done}")
    shown = page.locator("[data-position]").count()
    assert shown == 7
    page.get_by_role("button", name="Check it yourself").click()
    result = page.locator("#proof-result")
    expect(result).to_contain_text(f"Verified: the {shown} events shown on this page", timeout=10_000)
    expect(result).to_contain_text("its Ed25519 signature holds")
    expect(result).to_contain_text("What your browser checked")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "public-proof-verified-360")

    # An intruder edits the completion (shown on the page) in the database.
    Tamper(settings.database_url).edit_payload(completed, b"Patrols run every market day",
                                               b"Patrols ran once, in March")
    page.reload()
    page.get_by_role("button", name="Check it yourself").click()
    expect(result).to_contain_text(f"Check failed: the event at position {completed} does not lead "
                                   "to the signed root", timeout=10_000)
    assert result.get_attribute("role") == "alert"
    screenshot(page, "public-proof-tampered-360")
    assert outside == []  # no CDN, nothing but this server
    context.close()

    context = chromium.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/public/commitments/{done}")
    page.get_by_role("button", name="Vérifiez vous-même").click()
    expect(page.locator("#proof-result")).to_contain_text(
        f"Échec de la vérification : l’événement à la position {completed}", timeout=10_000)
    context.close()


def test_without_javascript_the_page_links_to_the_proof_instead(live_server, chromium, seeded):  # noqa: F811
    done, _ = seeded
    context = chromium.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/public/commitments/{done}")
    assert page.locator("[data-position]").count() == 7
    assert not page.get_by_role("button", name="Check it yourself").is_visible()
    link = page.get_by_role("link", name="Download the proof (JSON)")
    assert link.get_attribute("href") == f"/api/v1/public/commitments/{done}/proof"
    assert page.get_by_text("tracker verify-proof proof.json --key ledger-key.pem").is_visible()
    context.close()
