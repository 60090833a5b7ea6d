"""The installable web app's files over HTTP: the service worker at the root scope with the page
headers, the manifest, and which pages carry the outbox script (member pages) and which do not
(public pages: plain HTML). The behaviour offline is in test_browser_offline.py."""

from __future__ import annotations

import json
import re

from web.security import PAGE_POLICY


def test_the_service_worker_is_served_from_the_root_never_cached_under_the_page_policy(site):
    answer = site.get("anonymous", "/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["service-worker-allowed"] == "/"
    assert answer.headers["content-security-policy"] == PAGE_POLICY
    assert "set-cookie" not in answer.headers  # no session for a static file
    assert "x-copied-at" in answer.text


def test_the_manifest_names_the_app_its_scope_and_an_icon_that_exists(site):
    answer = site.get("anonymous", "/manifest.webmanifest")
    assert answer.headers["content-type"].startswith("application/manifest+json")
    manifest = answer.json()
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/", "/", "standalone")
    for icon in manifest["icons"]:
        assert site.get("anonymous", icon["src"]).status_code == 200


def test_member_pages_carry_the_outbox_and_its_texts_public_pages_neither_it_nor_htmx(site):
    page = site.get("member", f"/dialogues/{site.world.slug}").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<script src="/static/offline-1.js" defer></script>' in page
    texts = json.loads(re.search(r'<script type="application/json" id="offline-texts">(.*?)</script>',
                                 page).group(1))
    assert texts["waiting"] == "Waiting to send ({n})"
    for path in ("/public/", f"/public/dialogues/{site.world.slug}"):
        html = site.get("anonymous", path).text
        assert "offline-1.js" not in html and "htmx" not in html, path
    # the sign-in page runs neither, but fetches both for the workspace while the member types
    login = site.get("anonymous", "/login").text
    assert "<script" not in login and "hx-" not in login.replace("hx-headers", "")
    assert '<link rel="prefetch" href="/static/htmx-2.0.4.min.js">' in login
    assert '<link rel="prefetch" href="/static/offline-1.js">' in login
