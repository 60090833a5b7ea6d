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


def signed_in(browser, server, name: str, *, javascript: bool = True, width: int = 360):
    context = browser.new_context(locale="fr-FR", java_script_enabled=javascript,
                                  viewport={"width": width, "height": 740})
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("Nom du compte").fill(name)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/dialogues/saaba$"))
    return page


def act(page, action: str, fill: dict[str, str] | None = None, select: dict[str, str] | None = None):
    """Open an action's form (if it has fields), fill it, send it."""
    actions = page.locator("section.actions")
    summary = actions.locator("summary", has_text=re.compile(f"^{re.escape(action)}$"))
    if summary.count():
        summary.click()
        form = actions.locator("details[open] form")
    else:
        form = actions.locator("form", has=page.get_by_role("button", name=action, exact=True))
    for label, value in (fill or {}).items():
        form.get_by_label(label).fill(value)
    for label, value in (select or {}).items():
        form.get_by_label(label).select_option(label=value)
    form.get_by_role("button", name=action, exact=True).click()


def test_a_committee_takes_a_commitment_from_proposal_to_verification(live_server, chromium):
    tracker = live_server.app.state.tracker
    make_world(tracker)
    live_server.app.state.read_models.catch_up()

    police = signed_in(chromium, live_server, "saaba-police")
    vigilante = signed_in(chromium, live_server, "saaba-vigilante")

    # the police propose; the vigilante group must endorse too
    proposal = police.locator("#propose")
    proposal.get_by_text("Proposer un engagement").click()
    proposal.get_by_label("Titre", exact=True).fill("Patrouilles conjointes les jours de marché")
    proposal.get_by_label("Koglweogo").check()
    proposal.get_by_role("button", name="Proposer", exact=True).click()
    police.wait_for_url(re.compile(r"/commitments/[0-9a-f-]+$"))  # pushed into the history
    commitment_url = police.url
    expect(police.locator("#commitment")).to_contain_text("proposé")
    expect(police.locator("#messages")).to_contain_text("L’engagement a été proposé.")

    police.evaluate("window.stillTheSamePage = true")  # survives only updates in place
    act(police, "Approuver")
    expect(police.locator("#commitment")).to_contain_text("1 / 2")
    assert police.evaluate("window.stillTheSamePage === true"), "htmx swapped, no page load"
    expect(police.locator("#messages")).to_contain_text("Votre approbation a été enregistrée.")

    vigilante.goto(commitment_url)
    act(vigilante, "Approuver")
    expect(vigilante.locator("#commitment")).to_contain_text("2 / 2")
    act(vigilante, "Adopter")
    expect(vigilante.locator("#commitment .state")).to_contain_text("adopté")
    act(vigilante, "Attribuer", fill={"Échéance": "2030-06-30"},
        select={"Partie prenante": "Police nationale"})
    expect(vigilante.locator("#commitment .state")).to_contain_text("en cours")

    police.reload()
    act(police, "Signaler l’avancement", fill={"Avancement (de 0 à 100 %)": "60"})
    expect(police.locator("#commitment .state")).to_contain_text("60")
    expect(police.locator("#counts")).to_contain_text("en cours 1")  # counters swapped out of band
    act(police, "Achever", fill={"Ce qui a été fait": "Patrouilles chaque jour de marché"})
    expect(police.locator("#commitment .state")).to_contain_text("achevé")
    # the party that completed it cannot verify it
    expect(police.locator("section.actions")).not_to_contain_text("Vérifier")

    vigilante.reload()
    act(vigilante, "Vérifier")
    expect(vigilante.locator("#commitment .state")).to_contain_text("vérifié")
    history = vigilante.locator(".timeline")
    for phrase in ("a proposé l’engagement", "l’a adopté", "l’a attribué", "l’a achevé",
                   "a vérifié l’achèvement"):
        expect(history).to_contain_text(phrase)

    # screenshots for people to look at: narrow phone and desktop
    for width in (360, 1280):
        vigilante.set_viewport_size({"width": width, "height": 740})
        vigilante.goto(commitment_url)
        screenshot(vigilante, f"commitment-{width}")
        vigilante.goto(f"{live_server.url}/dialogues/saaba")
        screenshot(vigilante, f"workspace-{width}")
        # nothing is wider than the screen
        assert vigilante.evaluate("document.documentElement.scrollWidth") <= width


def test_an_action_works_with_javascript_off(live_server, chromium):
    tracker = live_server.app.state.tracker
    world = make_world(tracker)
    result = propose(tracker, world)
    live_server.app.state.read_models.catch_up()

    page = signed_in(chromium, live_server, "saaba-vigilante", javascript=False)
    page.goto(f"{live_server.url}/commitments/{result.id}")
    page.get_by_role("button", name="Approuver", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/commitments/{result.id}")
    expect(page.locator("#messages")).to_contain_text("Votre approbation a été enregistrée.")
    expect(page.locator("#commitment")).to_contain_text("1 / 2")
    # a refused value comes back next to its field, with what was typed
    page.locator("summary", has_text="Modifier").click()
    page.locator("details[open] form").get_by_label("Motif").fill("")
    page.locator("details[open] form").get_by_label("Titre").fill("Patrouilles de nuit")
    page.locator("details[open] form").evaluate("f => f.noValidate = true")
    page.locator("details[open] form").get_by_role("button", name="Modifier").click()
    expect(page.locator("#err-amend-reason")).to_contain_text("le motif est obligatoire")
    expect(page.locator("details[open] form").get_by_label("Titre")).to_have_value(
        "Patrouilles de nuit")
