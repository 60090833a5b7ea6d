"""The authorisation matrix: every page and form, for every kind of visitor.

Rows are routes as the app registers them; columns are who asks: anonymous, a member of this
dialogue, a member of another dialogue, an auditor, an administrator. A refused request says why and
changes nothing; a test at the end checks that no route of the web pages is missing from the table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest

from tests.factories import PASSWORD, advance, propose
from tests.web.support import Site, position
from tracker.application import SYSTEM

WHO = ("anonymous", "member", "other", "auditor", "admin")
READ = {"anonymous": 303, "member": 200, "other": 403, "auditor": 200, "admin": 200}
WRITE = {"anonymous": 303, "member": 303, "other": 403, "auditor": 403, "admin": 303}
ADMIN_READ = {"anonymous": 303, "member": 403, "other": 403, "auditor": 403, "admin": 200}
ADMIN_WRITE = {**ADMIN_READ, "admin": 303}
ANYONE = dict.fromkeys(WHO, 200)
ANYONE_POST = dict.fromkeys(WHO, 303)


def commitment(site: Site, who: str) -> str:
    """Agreed (the police and the Koglweogo are required): the police may cancel it, and so may
    an administrator."""
    result = propose(site.tracker, site.world, title=f"Patrols ({who})")
    advance(site.tracker, site.world, result.id, "agreed")
    return result.id


def case(site: Site, who: str) -> str:
    """Raised by the police (the member below): they may close it, and so may an administrator."""
    return site.tracker.raise_case(site.world.members["police"], "saaba", title=f"Thefts ({who})",
                                   category="theft_burglary").id


def meeting(site: Site, who: str) -> str:
    return site.tracker.record_meeting(SYSTEM, "saaba", held_on="2026-01-15",
                                       title=f"Session ({who})").extra["meeting_id"]


def decisions(site: Site, who: str) -> tuple[str, dict]:
    """A row proposing a commitment, for the member's party (an administrator names one)."""
    return (f"/dialogues/saaba/meetings/{meeting(site, who)}/decisions",
            {"rows": "1", "ref-1": f"R-{who}", "title-1": f"Lights ({who})",
             "required_parties-1": "Police nationale", "step": "record",
             **for_party(site, who, "party_id")})


def for_party(site: Site, who: str, field: str) -> dict[str, str]:
    return {field: site.world.parties["women"]} if who == "admin" else {}


def newcomer(site: Site, who: str) -> str:
    name = f"newcomer-{who}"
    site.tracker.add_account(SYSTEM, name=name, role="member", password=PASSWORD)
    return name


class Row(NamedTuple):
    method: str
    route: str
    request: Callable[[Site, str], tuple[str, dict | None]]
    expected: dict[str, int]


ROWS = [
    Row("GET", "/", lambda s, w: ("/", None),
        {"anonymous": 303, "member": 303, "other": 303, "auditor": 200, "admin": 200}),
    Row("GET", "/login", lambda s, w: ("/login", None), ANYONE),
    Row("POST", "/login", lambda s, w: ("/login", {"username": "saaba-women",
                                                   "password": PASSWORD}), ANYONE_POST),
    Row("GET", "/logout", lambda s, w: ("/logout", None), {**ANYONE, "anonymous": 303}),
    Row("POST", "/logout", lambda s, w: ("/logout", {}), ANYONE_POST),
    Row("POST", "/language", lambda s, w: ("/language", {"lang": "en", "next": "/"}), ANYONE_POST),
    Row("GET", "/dialogues/{slug}", lambda s, w: ("/dialogues/saaba", None), READ),
    # an administrator names the party it acts for
    Row("POST", "/dialogues/{slug}/cases", lambda s, w: (
        "/dialogues/saaba/cases", {"title": f"Clashes ({w})", "category": "violence",
                                   **for_party(s, w, "raised_by")}), WRITE),
    Row("POST", "/dialogues/{slug}/commitments", lambda s, w: (
        "/dialogues/saaba/commitments",
        {"title": f"Street lights ({w})", "required_parties": s.world.parties["police"],
         **for_party(s, w, "proposed_by")}), WRITE),
    Row("POST", "/dialogues/{slug}/meetings", lambda s, w: (
        "/dialogues/saaba/meetings", {"title": f"Session ({w})", "held_on": "2026-01-15",
                                      f"attendance-{s.world.parties['police']}": "3"}), WRITE),
    Row("GET", "/dialogues/{slug}/meetings/{meeting_id}", lambda s, w: (
        f"/dialogues/saaba/meetings/{meeting(s, w)}", None), READ),
    Row("POST", "/dialogues/{slug}/meetings/{meeting_id}/decisions", decisions, WRITE),
    Row("GET", "/dialogues/{slug}/decisions.{kind}", lambda s, w: (
        "/dialogues/saaba/decisions.xlsx", None), READ),
    Row("GET", "/cases/{case_id}", lambda s, w: (f"/cases/{case(s, w)}", None), READ),
    Row("POST", "/cases/{case_id}/{action}", lambda s, w: (
        f"/cases/{case(s, w)}/close", {"reason": "Handled by the court"}), WRITE),
    Row("GET", "/commitments/{commitment_id}", lambda s, w: (
        f"/commitments/{commitment(s, w)}", None), READ),
    Row("POST", "/commitments/{commitment_id}/{action}", lambda s, w: (
        f"/commitments/{commitment(s, w)}/cancel", {"reason": "The market moved"}), WRITE),
    Row("GET", "/admin/accounts", lambda s, w: ("/admin/accounts", None), ADMIN_READ),
    Row("POST", "/admin/accounts", lambda s, w: (
        "/admin/accounts", {"name": f"clerk-{w}", "role": "member", "password": PASSWORD}),
        ADMIN_WRITE),
    Row("POST", "/admin/dialogues", lambda s, w: (
        "/admin/dialogues", {"slug": f"jos-{w}", "name": "Dialogue de Jos", "country": "NG",
                             "locality": "Jos"}), ADMIN_WRITE),
    Row("POST", "/admin/parties", lambda s, w: (
        "/admin/parties", {"dialogue": "saaba", "name": f"Youth ({w})", "kind": "youth"}),
        ADMIN_WRITE),
    Row("POST", "/admin/memberships", lambda s, w: (
        "/admin/memberships", {"account": newcomer(s, w),
                               "where": f"saaba|{s.world.parties['women']}"}), ADMIN_WRITE),
]

REFUSALS = ("you are not a member of this dialogue", "auditors read everything and change nothing",
            "only an administrator can do this")


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.route}")
def test_each_route_answers_each_kind_of_visitor_as_the_matrix_says(site: Site, row: Row):
    for who in WHO:
        site.client(who)  # sign in first, so that only the request itself can change anything
        path, data = row.request(site, who)
        site.settle()
        before = position(site.tracker)
        response = site.get(who, path) if row.method == "GET" else site.post(who, path, data)
        expected = row.expected[who]
        assert response.status_code == expected, f"{who}: {response.status_code} {response.text[:300]}"
        if expected == 403:
            assert any(reason in response.text for reason in REFUSALS), response.text
        session_route = row.route in ("/login", "/logout", "/language")
        if who == "anonymous" and expected == 303 and not session_route:
            assert response.headers["location"].startswith("/login")
        if expected == 403 or (row.method == "POST" and who == "anonymous" and not session_route):
            assert position(site.tracker) == before, f"{who}: a refused request changed something"


def test_the_matrix_covers_every_route_of_the_web_pages(site: Site):
    covered = {(row.method, row.route) for row in ROWS}
    own = {(method, route.path) for route in site.app.routes
           if hasattr(route, "methods") and route.path.startswith(("/login", "/logout", "/language",
                                                                   "/dialogues", "/cases",
                                                                   "/commitments", "/admin"))
           or getattr(route, "path", None) == "/"
           for method in getattr(route, "methods", ()) if method != "HEAD"}
    assert own <= covered, f"routes missing from the matrix: {sorted(own - covered)}"


def test_a_member_acts_only_for_their_own_party(site: Site):
    result = propose(site.tracker, site.world, by="women")  # police and vigilante must endorse
    page = site.get("vigilante", f"/commitments/{result.id}")
    assert f'action="/commitments/{result.id}/endorse"' in page.text
    # the women's association is not asked to endorse: no endorse form for them
    page = site.get("women", f"/commitments/{result.id}")
    assert f'action="/commitments/{result.id}/endorse"' not in page.text
    # and posting it anyway names the party they may not act for
    before = position(site.tracker)
    response = site.post("vigilante", f"/commitments/{result.id}/endorse",
                         {"party_id": site.world.parties["police"]})
    assert response.status_code == 403
    assert "you can act only for your own party" in response.text
    assert position(site.tracker) == before


def test_only_the_responsible_party_sees_and_may_report_progress(site: Site):
    from tests.factories import advance

    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")  # assigned to the police
    site.settle()
    police = site.get("member", f"/commitments/{result.id}").text
    vigilante = site.get("vigilante", f"/commitments/{result.id}").text
    assert f"/commitments/{result.id}/progress" in police
    assert f"/commitments/{result.id}/progress" not in vigilante
    response = site.post("vigilante", f"/commitments/{result.id}/progress", {"percent": "50"})
    assert response.status_code == 403
    assert "only the responsible party can report progress" in response.text


def test_an_auditor_sees_every_commitment_but_no_action(site: Site):
    result = propose(site.tracker, site.world)
    site.settle()
    page = site.get("auditor", f"/commitments/{result.id}").text
    assert "Joint night patrols" in page
    assert f'action="/commitments/{result.id}/' not in page
    workspace = site.get("auditor", "/dialogues/saaba").text
    assert 'action="/dialogues/saaba/commitments"' not in workspace


def test_a_refusal_to_an_htmx_request_is_a_message_for_the_page(site: Site):
    result = propose(site.tracker, site.world)
    before = position(site.tracker)
    response = site.post("other", f"/commitments/{result.id}/endorse", htmx=True)
    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#messages"
    assert "<html" not in response.text and "you are not a member of this dialogue" in response.text
    assert position(site.tracker) == before
    # an htmx request without a session is sent to the sign-in page
    anonymous = site.client("anonymous")
    response = anonymous.post(f"/commitments/{result.id}/endorse", headers={
        "HX-Request": "true", "X-CSRF-Token": site.tokens["anonymous"]}, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["hx-redirect"].startswith("/login")
