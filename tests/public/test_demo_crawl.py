"""Every public and auditor's page reachable from the demo data renders (no 4xx/5xx on a link)."""

from __future__ import annotations

import re

import pytest

from tracker.application import SYSTEM
from tracker.demo import load_demo

LINK = re.compile(r'href="(/(?:public|audit)[^"#]*)"')


def test_every_linked_public_and_audit_page_of_the_demo_renders(client, tracker_of, store_url):
    if not store_url.startswith("sqlite"):
        pytest.skip("the crawl is backend-independent; it runs on SQLite only")
    load_demo(tracker_of)
    tracker_of.add_account(SYSTEM, name="crawl-auditor", role="auditor", password="an auditor's pw")
    auditor = {"Authorization": f"Bearer {tracker_of.create_token(SYSTEM, 'crawl-auditor')}"}
    seen, queue = set(), ["/public/", "/audit/", "/audit/activity", "/audit/ledger?run=1"]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, headers=auditor)
        assert response.status_code == 200, url
        queue += [link.replace("&amp;", "&") for link in LINK.findall(response.text)]
    assert len(seen) > 100
