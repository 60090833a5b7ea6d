"""Every page in Arabic in a real browser, at 360 px and 1280 px: written right to left, the
layout mirrored (the site's name on the right), nothing wider than the screen. Screenshots go to
test-artifacts/arabic-*.png."""

from __future__ import annotations

import re

import pytest

from tests.browser_support import chromium, live_server, screenshot  # noqa: F401 (fixtures)
from tests.web.crawl import SKIP, pattern
from tracker.application import SYSTEM
from tracker.demo import load_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIMIT = 30  # pages per width (one per pattern of address)


def test_every_page_in_arabic_is_mirrored_and_fits_at_phone_and_desktop_width(live_server, chromium):  # noqa: F811
    tracker = live_server.app.state.tracker
    load_demo(tracker)
    tracker.add_account(SYSTEM, name="the-auditor", role="auditor", password="an auditor's password")
    token = tracker.create_token(SYSTEM, "the-auditor")
    live_server.app.state.read_models.catch_up()
    for width in (360, 1280):
        context = chromium.new_context(locale="ar", viewport={"width": width, "height": 800},
                                       extra_http_headers={"Authorization": f"Bearer {token}",
                                                           "Accept-Language": "ar"})
        page = context.new_page()
        queue, seen, patterns, read = ["/public/", "/audit/", "/public/ledger"], set(), set(), 0
        while queue and read < LIMIT:
            path = queue.pop(0)
            key = pattern(path.split("?")[0]) + ("?" if "?" in path else "")
            if path in seen or key in patterns or SKIP.search(path.split("?")[0]):
                continue
            seen.add(path)
            patterns.add(key)
            response = page.goto(live_server.url + path)
            if response is None or "text/html" not in response.headers.get("content-type", ""):
                continue
            read += 1
            assert page.locator("html").get_attribute("dir") == "rtl", path
            assert page.locator("html").get_attribute("lang") == "ar", path
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, width, overflow)
            brand = page.locator("a.brand").bounding_box()
            assert brand["x"] + brand["width"] > width / 2, (path, "the header is not mirrored")
            name = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-") or "home"
            screenshot(page, f"arabic-{width}-{name}")
            queue += [h for h in page.eval_on_selector_all(
                "a[href^='/']", "links => links.map(a => a.getAttribute('href'))") if h not in seen]
        assert read >= 10, read
        context.close()
