"""The public dialogue page and the auditor's diff page in a real browser (headless chromium).

Screenshots go to test-artifacts/. The public page is also read with JavaScript turned off: it shows
everything, and its pager is plain links.
"""

from __future__ import annotations

import pytest

from tests.browser_support import chromium, live_server, screenshot  # noqa: F401 (fixtures)
from tests.factories import advance, make_world, propose
from tracker.application import SYSTEM

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded(live_server):  # noqa: F811
    tracker = live_server.app.state.tracker
    world = make_world(tracker)
    done = propose(tracker, world, title="Joint night patrols on market days").id
    advance(tracker, world, done, "verified")
    late = propose(tracker, world, title="Street lights near the school").id
    advance(tracker, world, late, "in_progress")
    for n in range(55):  # more than one page of commitments
        propose(tracker, world, title=f"Community radio slot {n}")
    tracker.add_account(SYSTEM, name="the-auditor", role="auditor", password="an auditor's password")
    token = tracker.create_token(SYSTEM, "the-auditor")
    live_server.app.state.read_models.catch_up()
    return world, done, token


def test_the_public_dialogue_page_in_a_browser_at_phone_and_desktop_width(live_server, chromium, seeded):  # noqa: F811
    world, done, _ = seeded
    for width in (360, 1280):
        context = chromium.new_context(locale="fr-FR", viewport={"width": width, "height": 800})
        page = context.new_page()
        page.goto(f"{live_server.url}/public/dialogues/{world.slug}")
        assert page.locator("h1").inner_text() == f"Dialogue {world.slug}"
        assert page.locator("svg.chart").count() == 2
        assert page.get_by_text("Bilan par partie prenante").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
        screenshot(page, f"public-dialogue-{width}")
        context.close()


def test_the_public_page_works_with_javascript_turned_off(live_server, chromium, seeded):  # noqa: F811
    world, done, _ = seeded
    context = chromium.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/public/dialogues/{world.slug}")
    assert page.locator("svg.chart rect").count() > 8
    assert page.get_by_role("link", name="Community radio slot 54").is_visible()
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    assert "Page 2 / 2" in page.content()
    assert page.get_by_role("link", name="Joint night patrols on market days").is_visible()
    page.goto(f"{live_server.url}/public/commitments/{done}")
    assert page.get_by_text("Verified").first.is_visible()
    screenshot(page, "public-commitment-no-js")
    context.close()


def test_the_auditors_diff_page_in_a_browser(live_server, chromium, seeded):  # noqa: F811
    world, done, token = seeded
    context = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 900},
                                   extra_http_headers={"Authorization": f"Bearer {token}"})
    page = context.new_page()
    page.goto(f"{live_server.url}/audit/records/{done}/diff")
    page.get_by_label("Version").first.fill("1")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**a_version=1**")
    assert page.locator("table.diff th", has_text="Status").count() >= 1
    assert page.locator("table.diff th", has_text="Verified by").count() == 1
    screenshot(page, "audit-diff")
    context.close()


def test_the_api_documentation_renders_from_this_server_alone(live_server, chromium):  # noqa: F811
    """/docs is Swagger UI served by the app itself: on a slow or filtered link nothing is fetched
    from a CDN (nor does a CDN learn who reads the documentation)."""
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url) or r.url.startswith(
        "data:") else outside.append(r.url))
    page.goto(f"{live_server.url}/docs")
    page.get_by_text("/api/v1/public/dialogues", exact=True).first.wait_for(timeout=15_000)
    assert outside == []
    screenshot(page, "api-docs")
    context.close()
