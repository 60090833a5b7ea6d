"""A committee walks a commitment through its whole life in a real browser (headless chromium).

JavaScript on: every action goes through htmx and updates the page in place. JavaScript off: the
same forms post and redirect. Screenshots of the workspace and a commitment page at 360 px and
1280 px wide are saved in test-artifacts/.
"""

from __future__ import annotations

import re

import pytest

from tests.browser_support import screenshot
from tests.factories import PASSWORD, make_world, propose

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None


def signed_in(browser, server, name: str, *, javascript: bool = True, width: int = 360,
              password: str = PASSWORD):
    context = browser.new_context(locale="fr-FR", java_script_enabled=javascript,
                                  viewport={"width": width, "height": 740})
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("Nom du compte").fill(name)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/dialogues/saaba$"))
    return page


class Taps:
    """Counts what a person taps (typing is not counted): a button, a summary that opens a form,
    a checkbox, a link; a drop-down list counts two (open it, choose)."""

    def __init__(self) -> None:
        self.count = 0

    def tap(self, locator) -> None:
        locator.click()
        self.count += 1

    def check(self, locator) -> None:
        locator.check()
        self.count += 1

    def choose(self, locator, label: str) -> None:
        locator.select_option(label=label)
        self.count += 2

    def open_commitment(self, page, server, title: str) -> None:
        """Open the workspace (one tap on its bookmark) and tap the commitment in its list."""
        page.goto(f"{server.url}/dialogues/saaba")
        self.count += 1
        self.tap(page.locator("#commitment-list").get_by_role("link", name=title))
        page.wait_for_url(re.compile(r"/commitments/[0-9a-f-]+$"))


def act(page, taps: Taps, action: str, fill: dict[str, str] | None = None,
        select: dict[str, str] | None = None) -> None:
    """Take an action: its button alone when it asks for nothing, else open its form, fill it in
    (typing), send it."""
    actions = page.locator("section.actions")
    summary = actions.locator("summary", has_text=re.compile(f"^{re.escape(action)}$"))
    if summary.count():
        taps.tap(summary)
        form = actions.locator("details[open] form")
    else:
        form = actions.locator("form", has=page.get_by_role("button", name=action, exact=True))
    for label, value in (fill or {}).items():
        form.get_by_label(label, exact=True).fill(value)
    for label, value in (select or {}).items():
        taps.choose(form.get_by_label(label, exact=True), value)
    taps.tap(form.get_by_role("button", name=action, exact=True))


TITLE = "Patrouilles conjointes les jours de marché"


def test_a_commitment_goes_from_proposal_to_verification_in_at_most_25_taps(live_server,
                                                                           chromium):
    """At 360 px, with what the record already knows filled in: the proposer's endorsement comes
    with the proposal, the responsible party is preselected, dates default to today."""
    tracker = live_server.app.state.tracker
    make_world(tracker)
    live_server.app.state.read_models.catch_up()
    police = signed_in(chromium, live_server, "saaba-police")
    vigilante = signed_in(chromium, live_server, "saaba-vigilante")
    taps = Taps()

    # the police propose; the vigilante group must endorse too
    proposal = police.locator("#propose")
    taps.tap(proposal.locator("summary").first)
    proposal.get_by_label("Titre", exact=True).fill(TITLE)
    taps.check(proposal.get_by_label("Koglweogo"))
    taps.tap(proposal.get_by_role("button", name="Proposer un engagement", exact=True))
    police.wait_for_url(re.compile(r"/commitments/[0-9a-f-]+$"))  # pushed into the history
    commitment_url = police.url
    expect(police.locator("#commitment")).to_contain_text("proposé")
    expect(police.locator("#commitment")).to_contain_text("1 / 2")  # their own endorsement
    expect(police.locator("#messages")).to_contain_text("L’engagement a été proposé.")

    taps.open_commitment(vigilante, live_server, TITLE)
    vigilante.evaluate("window.stillTheSamePage = true")  # survives only updates in place
    act(vigilante, taps, "Approuver")
    expect(vigilante.locator("#commitment")).to_contain_text("2 / 2")
    assert vigilante.evaluate("window.stillTheSamePage === true"), "htmx swapped, no page load"
    expect(vigilante.locator("#messages")).to_contain_text("Votre approbation a été enregistrée.")
    act(vigilante, taps, "Adopter")
    expect(vigilante.locator("#commitment .state")).to_contain_text("adopté")
    # the proposer is preselected as the responsible party: only the due date is typed
    act(vigilante, taps, "Attribuer", fill={"Échéance": "2030-06-30"})
    expect(vigilante.locator("#commitment .state")).to_contain_text("en cours")
    expect(vigilante.locator("#commitment .state")).to_contain_text("Police nationale")

    taps.open_commitment(police, live_server, TITLE)
    act(police, taps, "Signaler l’avancement", fill={"Avancement (de 0 à 100 %)": "60"})
    expect(police.locator("#commitment .state")).to_contain_text("60")
    expect(police.locator("#counts")).to_contain_text("en cours 1")  # counters swapped out of band
    act(police, taps, "Achever", fill={"Ce qui a été fait": "Patrouilles chaque jour de marché"})
    expect(police.locator("#commitment .state")).to_contain_text("achevé")
    # the party that completed it cannot verify it
    expect(police.locator("section.actions")).not_to_contain_text("Vérifier")

    taps.open_commitment(vigilante, live_server, TITLE)
    act(vigilante, taps, "Vérifier")
    expect(vigilante.locator("#commitment .state")).to_contain_text("vérifié")
    history = vigilante.locator(".timeline")
    for phrase in ("a proposé l’engagement", "l’a adopté", "l’a attribué", "l’a achevé",
                   "a vérifié l’achèvement"):
        expect(history).to_contain_text(phrase)
    print(f"\nthe whole journey took {taps.count} taps")
    assert taps.count <= 25, taps.count

    # screenshots for people to look at: narrow phone and desktop
    for width in (360, 1280):
        vigilante.set_viewport_size({"width": width, "height": 740})
        vigilante.goto(commitment_url)
        screenshot(vigilante, f"commitment-{width}")
        vigilante.goto(f"{live_server.url}/dialogues/saaba")
        screenshot(vigilante, f"workspace-{width}")
        # nothing is wider than the screen
        assert vigilante.evaluate("document.documentElement.scrollWidth") <= width


def test_the_town_hall_is_not_offered_what_only_the_police_s_partners_may_do(live_server,
                                                                             chromium):
    """In the demo, the town hall of Saaba has no part in the police's commitment to hand over
    suspects (the police and the self-defence group are required; the group is responsible):
    its page offers no cancel, no assign, no verify; the police, a required party, are offered
    cancel and assign."""
    from tracker.demo import DEMO_PASSWORD, load_demo

    load_demo(live_server.app.state.tracker)
    live_server.app.state.read_models.catch_up()
    title = "Remettre à la police tout suspect interpellé dans les 24 heures"
    seen = {}
    for name in ("demo-saaba-mairie", "demo-saaba-police"):
        page = signed_in(chromium, live_server, name, password=DEMO_PASSWORD)
        page.get_by_role("link", name=title).click()
        page.wait_for_url(re.compile(r"/commitments/[0-9a-f-]+$"))
        seen[name] = page.locator("section.actions").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for action in ("Annuler", "Attribuer", "Vérifier"):
        assert action not in seen["demo-saaba-mairie"], seen["demo-saaba-mairie"]
    for action in ("Annuler", "Attribuer"):
        assert action in seen["demo-saaba-police"], seen["demo-saaba-police"]


def test_an_action_works_with_javascript_off(live_server, chromium):
    tracker = live_server.app.state.tracker
    world = make_world(tracker)
    result = propose(tracker, world)  # by the police, whose endorsement comes with it
    live_server.app.state.read_models.catch_up()

    page = signed_in(chromium, live_server, "saaba-vigilante", javascript=False)
    page.goto(f"{live_server.url}/commitments/{result.id}")
    page.get_by_role("button", name="Approuver", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/commitments/{result.id}#actions")  # back to the form
    expect(page.locator("#messages")).to_contain_text("Votre approbation a été enregistrée.")
    expect(page.locator("#commitment")).to_contain_text("2 / 2")
    # a refused value comes back next to its field, with what was typed (the police proposed it)
    page = signed_in(chromium, live_server, "saaba-police", javascript=False)
    page.goto(f"{live_server.url}/commitments/{result.id}")
    page.locator("summary", has_text="Modifier").click()
    form = page.locator("details[open] form")
    form.get_by_label("Motif").fill("")
    form.get_by_label("Titre").fill("Patrouilles de nuit")
    form.evaluate("f => f.noValidate = true")
    form.get_by_role("button", name="Modifier").click()
    expect(page.locator("#err-amend-reason")).to_contain_text("le motif est obligatoire")
    expect(page.locator("details[open] form").get_by_label("Titre")).to_have_value(
        "Patrouilles de nuit")


@pytest.mark.parametrize("javascript", [False, True])
def test_a_secretary_enters_a_meeting_s_decisions_on_one_page_at_360_px(live_server, chromium,
                                                                        javascript):
    """Record the meeting, type two rows (a third after "Ajouter des lignes"), check, record."""
    tracker = live_server.app.state.tracker
    make_world(tracker)
    live_server.app.state.read_models.catch_up()
    page = signed_in(chromium, live_server, "saaba-police", javascript=javascript)
    meetings = page.locator("#meetings")
    meetings.locator("summary", has_text="Enregistrer une réunion").click()
    meetings.get_by_label("Tenue le").fill("2017-03-12")
    meetings.get_by_label("Titre").fill("Troisième session")
    meetings.get_by_role("button", name="Enregistrer une réunion").click()
    page.wait_for_url(re.compile(r"/meetings/[0-9a-f-]+$"))
    for number, (ref, title) in enumerate((("S-1", "Patrouilles de nuit"),
                                           ("S-2", "Éclairage du marché")), start=1):
        row = page.locator("fieldset.decision").nth(number - 1)
        row.get_by_label("Référence").fill(ref)
        row.get_by_label("Titre").fill(title)
        row.get_by_label("Parties prenantes qui doivent approuver").fill("Police nationale")
    page.get_by_role("button", name="Ajouter des lignes").click()
    expect(page.locator("fieldset.decision")).to_have_count(10)
    expect(page.locator("fieldset.decision").nth(1).get_by_label("Référence")).to_have_value("S-2")
    page.get_by_role("button", name="Vérifier le tableau").click()
    expect(page.get_by_text("Vérifié : 2 nouveaux")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, f"meeting-360-{'js' if javascript else 'nojs'}")
    page.get_by_role("button", name="Enregistrer les décisions").click()
    expect(page.get_by_text("Les décisions ont été enregistrées.")).to_be_visible()
    expect(page.locator("#decisions").get_by_role("link", name="S-2: Éclairage du marché")
           ).to_be_visible()
