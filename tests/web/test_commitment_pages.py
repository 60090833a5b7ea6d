"""The commitment page and its actions: with htmx (fragments) and without JavaScript (303s)."""

from __future__ import annotations

import gzip
import re

from tests.factories import advance, propose
from tests.web.support import Site, position
from tracker import policy
from web.forms import KEY_SLOT

HTMX = {"HX-Request": "true"}


def test_without_javascript_an_action_redirects_to_the_page_which_confirms_it(site: Site):
    result = propose(site.tracker, site.world)  # by the police, who endorse it with it
    response = site.post("vigilante", f"/commitments/{result.id}/endorse",
                         {"expected_version": "2"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/commitments/{result.id}#actions"  # back to the forms
    page = site.get("vigilante", response.headers["location"])
    assert "notice ok" in page.text and "<html" in page.text
    # the confirmation is shown once
    assert "notice ok" not in site.get("vigilante", f"/commitments/{result.id}").text


def test_with_htmx_an_action_answers_the_changed_commitment_counts_and_confirmation(site: Site):
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")
    site.settle()
    response = site.post("member", f"/commitments/{result.id}/progress",
                         {"percent": "40", "public": "on", "expected_version": "5"}, htmx=True)
    assert response.status_code == 200
    assert response.headers["hx-trigger"] == "commitment-changed"
    assert "HX-Request" in response.headers["vary"]
    html = response.text
    assert "<html" not in html
    assert html.lstrip().startswith('<article id="commitment"')
    assert 'id="counts"' in html and 'hx-swap-oob="true"' in html
    assert 'id="messages"' in html and "notice ok" in html
    assert 'value="40"' in html  # the new progress is shown
    assert site.tracker.commitment(result.id).progress == 40


def test_a_page_is_a_fragment_only_for_a_plain_htmx_request(site: Site):
    propose(site.tracker, site.world)
    site.settle()
    fragment = site.get("member", "/dialogues/saaba",
                        headers={**HTMX, "HX-Target": "commitment-list"})
    assert fragment.text.lstrip().startswith('<div id="commitment-list"')
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}, {}):
        headers = {**HTMX, **extra} if extra else {}
        page = site.get("member", "/dialogues/saaba", headers=headers)
        assert "<html" in page.text, extra
        assert "HX-Request" in page.headers["vary"]


def test_an_invalid_value_comes_back_next_to_its_field_with_what_was_typed(site: Site):
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")
    site.settle()
    before = position(site.tracker)
    for htmx in (False, True):
        response = site.post("member", f"/commitments/{result.id}/progress",
                             {"percent": "150", "note": "counted twice", "expected_version": "5"},
                             htmx=htmx)
        assert response.status_code == 422
        html = response.text
        assert ("<html" in html) is not htmx
        error = re.search(r'<p class="error" id="err-progress-percent">([^<]+)</p>', html)
        assert error and "0 to 100" in error.group(1)
        assert re.search(r'name="percent"[^>]*value="150"', html)
        assert 'value="counted twice"' in html
        assert 'aria-invalid="true" aria-describedby="err-progress-percent"' in html
    response = site.post("member", f"/commitments/{result.id}/assign",
                         {"party_id": site.world.parties["police"], "due_date": "31/12/2030",
                          "expected_version": "5"}, htmx=True)
    assert response.status_code == 422
    assert 'id="err-assign-due_date"' in response.text and 'value="31/12/2030"' in response.text
    assert position(site.tracker) == before


def test_a_stale_version_says_the_commitment_changed_and_keeps_what_was_typed(site: Site):
    result = propose(site.tracker, site.world)
    site.settle()
    opened = site.get("member", f"/commitments/{result.id}").text
    version = re.search(r'name="expected_version" value="(\d+)"', opened).group(1)
    # meanwhile the vigilante group endorses it
    site.tracker.commitment_action(site.world.members["vigilante"], result.id, "endorse")
    before = position(site.tracker)
    for htmx in (False, True):
        response = site.post("member", f"/commitments/{result.id}/amend",
                             {"title": "Patrols on market and feast days",
                              "reason": "Feast days are busy too", "expected_version": version},
                             htmx=htmx)
        assert response.status_code == 409
        html = response.text
        assert "changed since you opened it" in html or "a changé depuis" in html
        assert 'value="Patrols on market and feast days"' in html
        assert "Feast days are busy too</textarea>" in html
        assert "2 / 2" in html  # the new state: both endorsements
        assert re.search(r'name="expected_version" value="3"', html)  # ready to send again
    assert position(site.tracker) == before


def test_a_transition_the_lifecycle_refuses_says_why(site: Site):
    result = propose(site.tracker, site.world)
    response = site.post("member", f"/commitments/{result.id}/complete", {"summary": "done"})
    assert response.status_code == 409
    assert "only an in-progress commitment can be completed" in response.text


def test_an_unknown_action_or_commitment_is_not_found(site: Site):
    result = propose(site.tracker, site.world)
    assert site.post("member", f"/commitments/{result.id}/explode").status_code == 404
    assert site.get("member", "/commitments/not-an-id").status_code == 404
    assert site.get("member", "/dialogues/nowhere").status_code == 404


def test_the_commitment_page_shows_only_the_actions_this_user_may_take_now(site: Site):
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "completed")
    site.settle()
    police = site.get("member", f"/commitments/{result.id}").text
    vigilante = site.get("vigilante", f"/commitments/{result.id}").text
    actions = lambda html: set(re.findall(rf'action="/commitments/{result.id}/([a-z-]+)"', html))  # noqa: E731
    assert "verify" not in actions(police)  # the police completed it: another party verifies
    assert "verify" in actions(vigilante)
    offers = policy.commitment_offers(site.world.members["vigilante"],
                                      site.tracker.commitment(result.id),
                                      list(site.world.parties.values()))
    assert actions(vigilante) == {offer.action for offer in offers}


def test_the_timeline_tells_what_happened(site: Site):
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "verified")
    site.settle()
    page = site.get("member", f"/commitments/{result.id}", headers={"Accept-Language": "en"}).text
    history = page[page.index('id="h-history"'):]
    for phrase in ("proposed the commitment", "endorsed", "agreed it", "assigned it", "completed it",
                   "verified the completion"):
        assert phrase in history


def test_the_workspace_filters_and_counts(site: Site):
    first = propose(site.tracker, site.world, title="Street lights near the market")
    propose(site.tracker, site.world, title="Patrols at night")
    advance(site.tracker, site.world, first.id, "in_progress")
    site.settle()
    page = site.get("member", "/dialogues/saaba?q=lights").text
    listing = page[page.index('id="commitment-list"'):]
    assert "Street lights" in listing and "Patrols at night" not in listing
    page = site.get("member", "/dialogues/saaba?status=proposed").text
    listing = page[page.index('id="commitment-list"'):]
    assert "Patrols at night" in listing and "Street lights" not in listing
    page = site.get("member", f"/dialogues/saaba?party={site.world.parties['police']}").text
    assert "Street lights" in page[page.index('id="commitment-list"'):]
    assert site.get("member", "/dialogues/saaba?status=nonsense").status_code == 422
    counts = page[page.index('id="counts"'):page.index("</ul>", page.index('id="counts"'))]
    assert re.search(r"s-proposed.*?<strong>1</strong>", counts, re.S)
    assert re.search(r"s-in_progress.*?<strong>1</strong>", counts, re.S)


def test_the_workspace_list_kept_for_every_reader_is_in_each_one_s_language_and_current(
        site: Site):
    """The list's HTML is rendered once per position and language and shared by the members
    (web.deps.shared_block): each still sees it in their own language, with the latest
    commitment, and what is kept holds nothing of a reader."""
    first = propose(site.tracker, site.world, title="Street lights near the market")
    advance(site.tracker, site.world, first.id, "in_progress")
    site.settle()

    def listing(who: str, language: str) -> str:
        page = site.get(who, "/dialogues/saaba", headers={"Accept-Language": language}).text
        start = page.index('id="commitment-list"')
        return page[start:page.index("</div>", start)]

    english = listing("member", "en")
    assert "Street lights near the market" in english and ">in progress<" in english
    french = listing("vigilante", "fr")
    assert "Street lights near the market" in french and ">en cours<" in french
    assert ">in progress<" not in french
    assert listing("women", "en") == english, "the same HTML for another member"

    propose(site.tracker, site.world, title="Patrols at night")
    site.settle()
    assert "Patrols at night" in listing("vigilante", "fr"), "a change is shown at once"

    kept = site.app.state.workspace_lists._entries
    shared = [html for key, html in kept.items() if key[0] == "list"]
    assert shared, "the list is kept"
    for who in ("member", "vigilante", "women"):
        token = site.tokens[who]
        assert not any(token in html for html in shared), "no reader's CSRF token is kept"
    assert not any("saaba-police" in html or "saaba-vigilante" in html for html in shared)


def test_a_reader_s_kept_forms_come_with_fresh_keys_and_show_each_change_at_once(site: Site):
    """The workspace's forms are drawn once per reader, session and position
    (web.workspace.reader_forms) and shown with new idempotency keys each time: two showings
    share no key, another reader is never shown this one's (its CSRF token), a new case is in
    them at once, and a refused form is not kept."""
    def keys(page: str) -> list[str]:
        return re.findall(r'name="idempotency_key" value="([0-9a-f]{32})"', page)

    first = site.get("member", "/dialogues/saaba").text
    second = site.get("member", "/dialogues/saaba").text
    assert len(keys(first)) == 3, "propose, raise a case, record a meeting"
    assert len(set(keys(first) + keys(second))) == 6, "every showing has keys of its own"
    assert KEY_SLOT not in first + second
    assert first.count(site.tokens["member"]) == second.count(site.tokens["member"]) > 3
    other = site.get("vigilante", "/dialogues/saaba").text
    assert site.tokens["member"] not in other and site.tokens["vigilante"] in other

    site.tracker.raise_case(site.world.members["police"], "saaba", title="Cattle thefts",
                            category="theft_burglary")
    site.settle()
    page = site.get("member", "/dialogues/saaba").text
    cases = page[page.index('id="cases"'):]
    assert "Cattle thefts" in cases[:cases.index("<form")], "the new case is listed"

    refused = site.post("member", "/dialogues/saaba/commitments", {"title": ""}, htmx=True)
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    assert 'aria-invalid="true"' not in site.get("member", "/dialogues/saaba").text


def test_proposing_with_htmx_shows_the_new_commitment_and_pushes_its_address(site: Site):
    response = site.post("member", "/dialogues/saaba/commitments",
                         {"title": "Lights at the bus station",
                          "required_parties": [site.world.parties["police"]]}, htmx=True)
    assert response.status_code == 200
    assert response.headers["hx-push-url"].startswith("/commitments/")
    assert response.headers["hx-retarget"] == "#main"
    assert "Lights at the bus station" in response.text


def test_proposing_without_a_title_keeps_the_rest_of_the_form(site: Site):
    response = site.post("member", "/dialogues/saaba/commitments",
                         {"title": " ", "description": "Near the bus station",
                          "required_parties": [site.world.parties["vigilante"]]}, htmx=True)
    assert response.status_code == 422
    assert 'id="err-p-title"' in response.text
    assert "Near the bus station</textarea>" in response.text
    assert re.search(rf'value="{site.world.parties["vigilante"]}" checked', response.text)


def test_a_workspace_page_of_fifty_commitments_stays_under_sixty_kilobytes(site: Site):
    for n in range(60):
        propose(site.tracker, site.world, title=f"Commitment number {n} about patrols and lights",
                description="A longer description " * 5)
    site.settle()
    response = site.get("member", "/dialogues/saaba", headers={"Accept-Encoding": "gzip"})
    raw = response.content
    transferred = len(gzip.compress(raw))
    assert response.headers.get("content-encoding") == "gzip"
    assert transferred < 60_000, transferred


def test_cases_and_meetings_without_javascript(site: Site):
    response = site.post("member", "/dialogues/saaba/cases",
                         {"title": "Break-ins at the market", "category": "theft_burglary"})
    assert response.status_code == 303
    case_page = site.get("member", response.headers["location"]).text
    assert "Break-ins at the market" in case_page
    case_id = response.headers["location"].rsplit("/", 1)[1]
    response = site.post("member", f"/cases/{case_id}/resolve", {"summary": ""})
    assert response.status_code == 422 and 'id="err-case-resolve-summary"' in response.text
    response = site.post("member", "/dialogues/saaba/meetings",
                         {"title": "Second session", "held_on": "2026-02-01",
                          f"attendance-{site.world.parties['women']}": "12"})
    assert response.status_code == 303
    page = site.get("member", "/dialogues/saaba").text
    assert "Second session" in page


def test_a_long_history_shows_its_latest_events_and_the_whole_on_request(site: Site):
    from web.workspace import HISTORY_SHOWN

    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")
    police = site.world.members["police"]
    for percent in range(HISTORY_SHOWN + 5):
        site.tracker.commitment_action(police, result.id, "progress", {"percent": percent})
    site.settle()
    page = site.get("member", f"/commitments/{result.id}").text
    history = page[page.index('id="h-history"'):]
    assert history.count("<li>") == HISTORY_SHOWN
    assert "?history=all" in history
    whole = site.get("member", f"/commitments/{result.id}?history=all").text
    assert whole[whole.index('id="h-history"'):].count("<li>") == HISTORY_SHOWN + 5 + 5


def test_every_action_form_has_a_date_it_happened_which_defaults_to_today(site: Site):
    from datetime import date, timedelta

    today = date.today().isoformat()
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")
    site.settle()
    for who in ("member", "vigilante", "admin"):
        page = site.get(who, f"/commitments/{result.id}").text
        forms = re.findall(r'<form method="post" action="/commitments/[^"]+/([a-z-]+)".*?</form>',
                           page, re.S)
        assert forms, who
        for action, form in zip(forms, re.findall(
                r'<form method="post" action="/commitments/.*?</form>', page, re.S), strict=True):
            assert f'id="{action}-occurred_on" name="occurred_on" type="date"' in form, action
            assert f'value="{today}"' in form, action
    for page in (site.get("member", "/dialogues/saaba").text,):
        assert page.count('name="occurred_on" type="date"') == 2  # propose, raise a case
    # a date before the commitment's previous event is refused next to the field, naming it
    last_week = (date.today() - timedelta(days=7)).isoformat()
    before = position(site.tracker)
    response = site.post("member", f"/commitments/{result.id}/progress",
                         {"percent": "30", "occurred_on": last_week}, htmx=True)
    assert response.status_code == 422
    error = re.search(r'<p class="error" id="err-progress-occurred_on">([^<]+)</p>', response.text)
    assert error and today in error.group(1)
    assert '<details class="more" open>' in response.text
    assert position(site.tracker) == before


def test_a_required_party_makes_a_commitment_private_from_its_page(site: Site):
    result = propose(site.tracker, site.world)
    site.settle()
    women = site.get("women", f"/commitments/{result.id}").text
    assert f'action="/commitments/{result.id}/set-visibility"' not in women
    page = site.get("vigilante", f"/commitments/{result.id}").text
    form = page[page.index(f'action="/commitments/{result.id}/set-visibility"'):]
    form = form[:form.index("</form>")]
    assert 'name="public" checked' not in form  # offered the other way round: make it private
    response = site.post("vigilante", f"/commitments/{result.id}/set-visibility",
                         {"reason": "Names a witness"})
    assert response.status_code == 303
    assert site.tracker.commitment(result.id).public is False
    assert "privé" in site.get("vigilante", f"/commitments/{result.id}",
                               headers={"Accept-Language": "fr"}).text


def test_evidence_is_attached_private_unless_the_box_is_ticked(site: Site):
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")
    site.settle()
    page = site.get("member", f"/commitments/{result.id}").text
    form = page[page.index(f'action="/commitments/{result.id}/attach-evidence"'):]
    assert '<input type="checkbox" name="public">' in form[:form.index("</form>")]
    site.post("member", f"/commitments/{result.id}/attach-evidence", {"description": "Photos"})
    site.post("member", f"/commitments/{result.id}/attach-evidence",
              {"description": "Patrol log", "public": "on"})
    assert [e["public"] for e in site.tracker.commitment(result.id).evidence] == [False, True]
    page = site.get("member", f"/commitments/{result.id}").text
    assert re.search(r"Photos.*?private", page, re.S) and re.search(r"Patrol log.*?public", page,
                                                                     re.S)


def test_a_case_links_a_commitment_chosen_from_a_list_and_both_pages_show_it(site: Site):
    case = site.tracker.raise_case(site.world.members["police"], "saaba", title="Thefts",
                                   category="theft_burglary").id
    mine = propose(site.tracker, site.world, title="Patrols")
    theirs = propose(site.tracker, site.world, by="women", title="Street lights")
    site.settle()
    page = site.get("member", f"/cases/{case}").text  # the police raised the case
    select = page[page.index('name="commitment_id"'):]
    select = select[:select.index("</select>")]
    assert mine.id in select and theirs.id in select
    response = site.post("member", f"/cases/{case}/link", {"commitment_id": mine.id})
    assert response.status_code == 303
    assert site.tracker.commitment(mine.id).case_id == case
    commitment_page = site.get("member", f"/commitments/{mine.id}").text
    assert f'href="/cases/{case}"' in commitment_page
    assert site.read_models.commitment(mine.id, today=site.tracker.today())["case_id"] == case
    # the women's association may link only what it proposed to a case it did not raise
    page = site.get("women", f"/cases/{case}").text
    select = page[page.index('name="commitment_id"'):]
    assert theirs.id in select[:select.index("</select>")]
    assert mine.id not in select[:select.index("</select>")]


def test_a_party_with_no_part_in_a_commitment_adds_a_note_from_its_page(site: Site):
    result = propose(site.tracker, site.world)
    site.settle()
    page = site.get("women", f"/commitments/{result.id}").text
    assert set(re.findall(rf'action="/commitments/{result.id}/([a-z-]+)"', page)) == {"comment"}
    response = site.post("women", f"/commitments/{result.id}/comment",
                         {"note": "The market road needs lights too"}, htmx=True)
    assert response.status_code == 200
    assert "added a note" in response.text and "The market road needs lights too" in response.text
    refused = site.post("women", f"/commitments/{result.id}/comment", {"note": " "}, htmx=True)
    assert refused.status_code == 422 and 'id="err-comment-note"' in refused.text


def test_the_workspace_lists_kept_between_changes_are_always_current(site: Site):
    """The page's rows, count and cases are read once per position of the read models and shared
    by the dialogue's members; whatever moves the log (behind the app, a form, another member)
    shows on the very next page."""
    def listing(who: str = "member") -> str:
        page = site.get(who, "/dialogues/saaba").text
        return page[page.index('id="commitment-list"'):]

    propose(site.tracker, site.world, title="Street lights near the market")
    first = listing()
    assert "Street lights" in first and listing("vigilante").count("Street lights") == 1
    assert "Street lights" in listing()  # nothing moved: the same rows, kept
    propose(site.tracker, site.world, title="Patrols at night")  # behind the app's back
    assert "Patrols at night" in listing("vigilante") and "Patrols at night" in listing()
    answer = site.post("vigilante", "/dialogues/saaba/commitments",
                       {"title": "Lights at the bus station",
                        "required_parties": [site.world.parties["police"]]}, htmx=True)
    assert answer.status_code == 200 and "Lights at the bus station" in answer.text
    assert "Lights at the bus station" in listing()
    assert "Water at the market" not in site.get("member", "/dialogues/saaba").text
    answer = site.post("member", "/dialogues/saaba/cases",
                       {"title": "Water at the market", "category": "other"}, htmx=True)
    assert answer.status_code == 200, answer.text
    assert "Water at the market" in site.get("vigilante", "/dialogues/saaba").text
    assert "Patrols at night" not in site.get("other", "/dialogues/dakar").text


def test_the_workspace_counts_kept_between_changes_are_always_current(site: Site):
    """The dialogue behind the workspace page (its counts per status, its parties, its meetings)
    is read once per position of the read models and shared by its members; a change behind the
    app or through a form shows in the counts on the very next page, and a visitor who may not
    read the dialogue is still refused."""
    def counts(who: str = "member") -> dict[str, int]:
        page = site.get(who, "/dialogues/saaba").text
        block = page[page.index('id="counts"'):page.index("</ul>", page.index('id="counts"'))]
        return {status: int(n) for status, n in
                re.findall(r'\?status=(\w+)">.*?<strong>(\d+)</strong>', block, re.S)}

    before = counts()
    assert counts("vigilante") == before  # the kept one, for another member
    first = propose(site.tracker, site.world)  # behind the app's back
    assert counts("vigilante")["proposed"] == before["proposed"] + 1
    assert counts()["proposed"] == before["proposed"] + 1
    advance(site.tracker, site.world, first.id, "in_progress")
    assert counts()["in_progress"] == before["in_progress"] + 1
    answer = site.post("vigilante", "/dialogues/saaba/commitments",
                       {"title": "Lights at the bus station",
                        "required_parties": [site.world.parties["police"]]}, htmx=True)
    assert answer.status_code == 200
    assert counts()["proposed"] == before["proposed"] + 1  # the first one is in progress now
    assert counts("vigilante")["proposed"] == before["proposed"] + 1
    assert site.get("other", "/dialogues/saaba").status_code == 403
