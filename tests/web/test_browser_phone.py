"""The demo on a cheap phone: every page of the crawl at 360 px, in a real browser (chromium).

Signed out, as a member, as an auditor and as an administrator, the crawl follows every link of
the demo's pages (the public pages, the workspace and its commitments and cases, the auditor's
records, states and diffs) and checks in the browser that
- no page scrolls sideways (`document.documentElement.scrollWidth <= 360`);
- a cold load (empty cache) of each kind of page transfers at most 25 KB, its assets, headers and
  favicon included (counted by the browser: CDP `Network.loadingFinished`), and the answer to an
  action at most 4 KB;
- axe-core (the copy packaged by axe-playwright-python, run in the page) finds no serious or
  critical violation, in French and in English;
- the public pages load no htmx (their pager is plain links).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tracker.demo import DEMO_PASSWORD, load_demo

pytestmark = pytest.mark.browser

WIDTH = 360
COLD_LOAD_LIMIT = 25_000
ACTION_ANSWER_LIMIT = 4_000
LINK = re.compile(r'href="(/[^"#]*)"')
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Where each visitor's crawl starts and which links it follows (downloads and exports are not pages).
VISITORS = {
    None: (["/", "/login", "/public/", "/public/ledger"], ("/public", "/login")),
    "demo-saaba-police": (["/", "/dialogues/saaba", "/account/password"],
                          ("/dialogues", "/commitments", "/cases", "/account", "/public")),
    "demo-auditor": (["/audit/", "/audit/activity", "/audit/ledger?run=1"], ("/audit",)),
    "demo-admin": (["/admin/accounts"], ("/admin",)),
}


def kind_of(url: str) -> str:
    """A page's kind: its path with ids and numbers taken out (one per template and visitor)."""
    return re.sub(r"\d+", "N", UUID.sub("ID", url.split("?")[0]))


@dataclass
class Phone:
    """A browser context at 360 px with a CDP session counting the bytes each load transfers."""

    context: object
    page: object
    cdp: object
    transferred: dict[str, int] = field(default_factory=dict)

    def cold_load(self, url: str) -> int:
        """Empty the cache, load `url`, answer the bytes transferred (headers included)."""
        self.cdp.send("Network.clearBrowserCache")
        self.transferred.clear()
        self.page.goto(url, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        return sum(self.transferred.values())


def phone(browser, locale: str = "fr-FR") -> Phone:
    # No service worker: it would answer the static files from its own cache (not a cold load).
    context = browser.new_context(locale=locale, viewport={"width": WIDTH, "height": 740},
                                  service_workers="block")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    seen = Phone(context, page, cdp)
    cdp.on("Network.loadingFinished",
           lambda e: seen.transferred.__setitem__(e["requestId"], e["encodedDataLength"]))
    return seen


def sign_in(device: Phone, base: str, name: str) -> None:
    page = device.page
    page.goto(f"{base}/login")
    page.locator("input[name=username]").fill(name)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main form button").last.click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{name} is signed in"


def crawl(device: Phone, base: str, starts: list[str], follow: tuple[str, ...]) -> list[str]:
    """Every HTML page reachable from `starts` by links under `follow`, fetched once (with the
    context's cookies)."""
    seen, queue, pages = set(), list(starts), []
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        answer = device.page.request.get(base + url, max_redirects=0)
        if answer.status != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        pages.append(url)
        for link in LINK.findall(answer.text()):
            link = link.replace("&amp;", "&")
            if link.startswith(follow) and link not in seen and not link.startswith("/static"):
                queue.append(link)
    return pages


@pytest.fixture
def demo(live_server, store_url):
    if not store_url.startswith("sqlite"):
        pytest.skip("pages weigh and read alike on either store; the crawl runs on SQLite only")
    load_demo(live_server.app.state.tracker)
    live_server.app.state.read_models.catch_up()
    return live_server


def visitors(browser, base: str, locale: str = "fr-FR") -> Iterator[tuple[str | None, Phone, list[str]]]:
    for name, (starts, follow) in VISITORS.items():
        device = phone(browser, locale)
        if name:
            sign_in(device, base, name)
        try:
            yield name, device, crawl(device, base, starts, follow)
        finally:
            device.context.close()


# With every <details> open: the page's width, its header's height, the checkboxes not on the
# line of their label's text, and the cells of row tables shown without their column's name (a
# row is a block of "name: value" lines at 360 px; its first cell, the title, needs none).
LAYOUT = """() => (document.querySelectorAll("details").forEach((d) => { d.open = true; }), {
  width: document.documentElement.scrollWidth,
  header: document.querySelector("header.site").getBoundingClientRect().height,
  apart: [...document.querySelectorAll("label > input[type=checkbox]")].filter((box) => {
    const b = box.getBoundingClientRect(), text = document.createRange();
    text.selectNodeContents(box.parentElement);
    text.setStartAfter(box);
    const t = [...text.getClientRects()].find((r) => r.width > 4);
    const beside = t && Math.abs(t.top + t.bottom - b.top - b.bottom) <= 2 * b.height && t.left >= b.right;
    return b.width && !beside;
  }).map((box) => box.parentElement.textContent.trim()),
  unnamed: [...document.querySelectorAll("table.rows td:not([data-label]):not(:first-child)")]
    .filter((td) => td.getClientRects().length && td.textContent.trim())
    .map((td) => td.textContent.trim()),
})"""


def test_no_page_of_the_crawl_scrolls_sideways_at_360_px(demo, chromium):
    """Nor has a header taller than 96 px (an eighth of the screen), nor a checkbox on a line of
    its own above its label, nor a row's value without its column's name (the public dialogue's
    milestones showed as a bare "0/0")."""
    bad, count = [], 0
    for name, device, pages in visitors(chromium, demo.url):
        for url in pages:
            device.page.goto(demo.url + url, wait_until="domcontentloaded")
            layout = device.page.evaluate(LAYOUT)
            count += 1
            if layout["width"] > WIDTH or layout["header"] > 96 or layout["apart"] or \
                    layout["unnamed"]:
                bad.append((name, url, layout))
    assert count > 150, count
    assert bad == []


def test_every_kind_of_page_loads_cold_in_at_most_25_kb(demo, chromium):
    heavy, kinds, weighed = [], set(), []
    for name, device, pages in visitors(chromium, demo.url):
        for url in pages:
            kind = (name, kind_of(url))
            if kind in kinds:
                continue
            kinds.add(kind)
            size = device.cold_load(demo.url + url)
            weighed.append((size, name, url))
            if size > COLD_LOAD_LIMIT:
                heavy.append((name, url, size))
    print(f"\n{len(kinds)} kinds of page; the heaviest cold loads:",
          *sorted(weighed, key=lambda found: found[0], reverse=True)[:5],
          sep="\n  ")
    assert len(kinds) > 20, kinds
    assert heavy == [], heavy


def test_the_public_pages_load_no_htmx(demo, chromium):
    device = phone(chromium, "en-GB")
    scripts: list[str] = []
    device.page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    for url in ("/public/", "/public/dialogues/nepal-2007", "/public/ledger"):
        device.page.goto(demo.url + url)
    assert not [s for s in scripts if "htmx" in s], scripts
    assert not re.search(r"hx-(get|post|target)", device.page.content())
    device.context.close()


def test_an_action_s_answer_weighs_at_most_4_kb(demo, chromium):
    """The town hall of Saaba reports progress on its street lighting in place (htmx)."""
    device = phone(chromium)
    sign_in(device, demo.url, "demo-saaba-mairie")
    page = device.page
    page.goto(f"{demo.url}/dialogues/saaba?status=in_progress")
    page.locator("#commitment-list a", has_text="Éclairage").first.click()
    page.wait_for_url(re.compile(r"/commitments/[0-9a-f-]+$"))
    page.locator("section.actions summary", has_text=re.compile("^Signaler l’avancement$")).click()
    form = page.locator("section.actions details[open] form")
    form.get_by_label("Avancement (de 0 à 100 %)", exact=True).fill("95")
    with page.expect_response(lambda r: r.url.endswith("/progress")) as answer:
        form.get_by_role("button", name="Signaler l’avancement", exact=True).click()
    assert answer.value.status == 200
    assert answer.value.headers.get("content-encoding") == "br"  # chromium takes brotli
    sizes = answer.value.request.sizes()
    size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
    print(f"\nthe answer to a progress report: {size} bytes")
    assert size <= ACTION_ANSWER_LIMIT, size
    page.locator("#messages .notice").wait_for()
    device.context.close()


def serious_violations(page) -> list[tuple[str, str, list]]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_axe_finds_no_serious_violation_on_any_kind_of_page(demo, chromium, language):
    found, kinds = [], set()
    locale = {"fr": "fr-FR", "en": "en-GB"}[language]
    for name, device, pages in visitors(chromium, demo.url, locale):
        device.page.goto(demo.url + "/public/")
        device.page.locator(f".lang button[value={language}]").click()
        device.page.wait_for_load_state()
        for url in pages:
            kind = (name, kind_of(url))
            if kind in kinds:
                continue
            kinds.add(kind)
            device.page.goto(demo.url + url)
            assert device.page.locator("html").get_attribute("lang") == language
            found += [(name, url, *v) for v in serious_violations(device.page)]
    assert len(kinds) > 20, kinds
    assert found == []
