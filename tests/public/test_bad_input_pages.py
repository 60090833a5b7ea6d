"""Bad input in the address of a public or auditor's page gets a clear 4xx page, never a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import propose

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)

PAGES = [
    "/public/dialogues/{text}", "/public/dialogues/saaba?page={text}",
    "/public/dialogues/saaba?status={text}", "/public/commitments/{text}",
    "/public/commitments/{commitment}?page={text}", "/public/dialogues/{text}/feed.atom",
    "/public/dialogues/{text}/commitments.csv", "/audit/records/{text}",
    "/audit/records/{commitment}/state?as_of={text}", "/audit/records/{commitment}/state?version={text}",
    "/audit/records/{commitment}/diff?a_date={text}&b_version=2",
    "/audit/activity?account={text}", "/audit/activity?since={text}", "/audit/find?id={text}",
]


def test_odd_addresses_get_a_4xx_not_a_500(client, tracker_of, world_people, store_url):
    if not store_url.startswith("sqlite"):
        pytest.skip("backend-independent; runs on SQLite only")
    world, people = world_people
    commitment = propose(tracker_of, world).id
    auditor = people("auditor")

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(page=st.sampled_from(PAGES), text=TEXT)
    def check(page, text):
        url = page.format(text=quote(text, safe=""), commitment=commitment)
        response = client.get(url, headers=auditor, follow_redirects=False)
        assert response.status_code < 500, (url, response.status_code)

    check()


def test_an_error_page_shows_what_was_asked_for_as_text_never_as_markup(client):
    response = client.get("/public/dialogues/%3Cb%3Ex%25s%3Ci%3E")
    assert response.status_code == 404
    assert "&lt;b&gt;x%s&lt;i&gt;" in response.text and "<b>x" not in response.text
