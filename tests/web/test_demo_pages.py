"""Every page of the demo data renders, for a demo member and for the administrator."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.support import sign_in
from tracker.demo import DEMO_PASSWORD, demo_accounts, load_demo
from web.app import create_app


def test_every_workspace_case_and_commitment_page_of_the_demo_renders(settings):
    app = create_app(settings)
    with TestClient(app) as client:
        load_demo(app.state.tracker)
        admin = next(name for name, role, _ in demo_accounts() if role == "admin")
        sign_in(client, admin, DEMO_PASSWORD)
        home = client.get("/")
        slugs = re.findall(r'href="/dialogues/([a-z0-9-]+)"', home.text)
        assert len(slugs) >= 4
        seen = 0
        for slug in slugs:
            for language in ("fr", "en"):
                page = client.get(f"/dialogues/{slug}", headers={"Accept-Language": language})
                assert page.status_code == 200, page.text[:300]
            links = set(re.findall(r'href="/(commitments|cases)/([0-9a-f-]{36})"', page.text))
            for kind, ident in links:
                response = client.get(f"/{kind}/{ident}")
                assert response.status_code == 200, response.text[:300]
                seen += 1
        assert seen > 10
        member = next(name for name, role, _ in demo_accounts() if role == "member")
        other = TestClient(app)
        sign_in(other, member, DEMO_PASSWORD)
        assert other.get("/", follow_redirects=True).status_code == 200
