"""Control characters in a form or an API body: 422 naming the field, nothing recorded; a
textarea's CR LF is stored as LF."""

from __future__ import annotations

import re

from tests.factories import advance, propose
from tests.web.support import Site, position


def test_a_form_refuses_a_control_character_next_to_its_field(site: Site):
    result = propose(site.tracker, site.world)
    site.settle()
    before = position(site.tracker)
    for htmx in (False, True):
        response = site.post("member", f"/commitments/{result.id}/comment",
                             {"note": "Seen at\x0bnight"}, htmx=htmx)
        assert response.status_code == 422
        error = re.search(r'<p class="error" id="err-comment-note">([^<]+)</p>', response.text)
        assert error and "U+000B" in error.group(1), response.text[-2000:]
    assert position(site.tracker) == before


def test_a_form_stores_a_textarea_s_lines_with_line_feeds(site: Site):
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")
    site.settle()
    response = site.post("member", f"/commitments/{result.id}/complete",
                         {"summary": "Patrols run\r\nevery market day\r\n"})
    assert response.status_code == 303
    assert site.tracker.commitment(result.id).completion_summary == "Patrols run\nevery market day"


def test_the_api_refuses_a_control_character_with_a_422_naming_the_field(site: Site):
    result = propose(site.tracker, site.world)
    site.settle()
    api = site.client("member")
    before = position(site.tracker)
    for path, body, field in [
        (f"/api/v1/commitments/{result.id}/comment", {"note": "a\x1b[31mred"}, "note"),
        (f"/api/v1/commitments/{result.id}/amend", {"title": "T\x00", "reason": "r"}, "title"),
        (f"/api/v1/commitments/{result.id}/amend", {"title": "T", "reason": "r\x85"}, "reason"),
        (f"/api/v1/dialogues/{site.world.slug}/commitments",
         {"title": "Lights", "required_parties": [site.world.parties["police"]],
          "private_note": "\x07"}, "private_note"),
    ]:
        response = api.post(path, json=body, headers={"X-CSRF-Token": site.tokens["member"]})
        assert response.status_code == 422, (path, response.text)
        error = response.json()["error"]
        assert error["field"] == field and "control character" in error["message"], error
    assert position(site.tracker) == before
