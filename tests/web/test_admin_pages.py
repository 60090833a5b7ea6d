"""The administrator starts dialogues, adds parties and accounts, and grants memberships."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import PASSWORD
from tests.web.support import Site, position, sign_in


def test_an_administrator_sets_up_a_dialogue_and_a_member_who_can_then_sign_in(site: Site):
    steps = [("/admin/dialogues", {"slug": "jos", "name": "Dialogue de Jos", "country": "NG",
                                   "locality": "Jos"}),
             ("/admin/parties", {"dialogue": "jos", "name": "Nigeria Police Force",
                                 "kind": "police"}),
             ("/admin/accounts", {"name": "jos-police", "role": "member", "password": PASSWORD})]
    for path, data in steps:
        response = site.post("admin", path, data)
        assert response.status_code == 303, response.text
    party = site.read_models.dialogue("jos")["parties"][0]["id"]
    assert site.post("admin", "/admin/memberships", {"account": "jos-police",
                                                      "where": f"jos|{party}"}).status_code == 303
    member = TestClient(site.app)
    sign_in(member, "jos-police")
    assert member.get("/", follow_redirects=False).headers["location"] == "/dialogues/jos"


def test_a_refused_admin_form_says_why_next_to_the_field_and_keeps_what_was_typed(site: Site):
    before = position(site.tracker)
    response = site.post("admin", "/admin/dialogues", {"slug": "kano", "name": "Dialogue de Kano",
                                                       "country": "Nigeria", "locality": "Kano"})
    assert response.status_code == 422
    assert 'id="err-d-country"' in response.text and 'value="Dialogue de Kano"' in response.text
    response = site.post("admin", "/admin/accounts", {"name": "clerk", "role": "member",
                                                      "password": "short"})
    assert response.status_code == 422
    assert 'id="err-a-password"' in response.text and 'value="clerk"' in response.text
    assert "short" not in response.text.split('id="a-password"')[1][:200]  # never echoed
    response = site.post("admin", "/admin/dialogues", {"slug": "saaba", "name": "Again",
                                                       "country": "BF", "locality": "Saaba"})
    assert response.status_code == 409 and 'id="err-d-slug"' in response.text
    assert position(site.tracker) == before


def test_an_error_message_quoting_what_was_typed_is_shown_escaped_and_never_breaks(site: Site):
    """A refusal may quote the input ("already has a party named ..."): markup in it stays text,
    and a % in it is not taken for a format."""
    name = '<script>alert(1)</script> 100% %(x)s'
    data = {"dialogue": "saaba", "name": name, "kind": "other"}
    assert site.post("admin", "/admin/parties", data).status_code == 303
    before = position(site.tracker)
    response = site.post("admin", "/admin/parties", data)
    assert response.status_code in (409, 422), response.text
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 100% %(x)s" in response.text
    assert position(site.tracker) == before
