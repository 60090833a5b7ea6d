"""Offline capture in a real browser (chromium at 360 px, its offline emulation).

A progress report made with no link is kept on the phone (IndexedDB), survives closing the tab,
is sent when the link returns and recorded once; a conflict made meanwhile in a second tab is
shown with what changed, and one tap sends the report again against the new version.
"""

from __future__ import annotations

import re
from uuid import UUID

import pytest

from tests.browser_support import screenshot
from tests.factories import PASSWORD, advance, make_world, propose
from tests.web.test_browser_phone import serious_violations

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None


def member_context(browser, base: str, name: str):
    context = browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Nom du compte").fill(name)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/dialogues/saaba$"))
    return context, page


def open_controlled(page, url: str) -> None:
    """Open `url` once the service worker controls the page (so that it keeps a copy)."""
    page.goto(url)
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def report_progress(page, percent: str) -> None:
    page.locator("section.actions summary", has_text=re.compile("^Signaler l’avancement$")).click()
    form = page.locator("section.actions details[open] form")
    form.get_by_label("Avancement (de 0 à 100 %)", exact=True).fill(percent)
    form.get_by_role("button", name="Signaler l’avancement", exact=True).click()


def progress_reports(tracker, commitment_id: str) -> list[int]:
    return [e.percent for e in tracker.events.get(UUID(commitment_id))
            if type(e).__name__ == "ProgressReported"]


@pytest.fixture
def in_progress(live_server):
    # Reconnecting sends, reloads and renders again: on a loaded shared machine that takes more than
    # the default 5 s of an expectation.
    expect.set_options(timeout=20_000)
    tracker = live_server.app.state.tracker
    world = make_world(tracker)
    commitment_id = propose(tracker, world).id
    advance(tracker, world, commitment_id, "in_progress")  # the police are responsible
    live_server.app.state.read_models.catch_up()
    return tracker, f"{live_server.url}/commitments/{commitment_id}", commitment_id


def test_an_offline_progress_report_survives_closing_the_tab_and_is_recorded_once(
        live_server, chromium, in_progress):
    tracker, url, commitment_id = in_progress
    context, page = member_context(chromium, live_server.url, "saaba-police")
    open_controlled(page, url)
    assert progress_reports(tracker, commitment_id) == []

    context.set_offline(True)
    report_progress(page, "70")
    expect(page.locator("#outbox")).to_contain_text("En attente d’envoi (1)")
    assert progress_reports(tracker, commitment_id) == []  # nothing reached the server
    page.close()  # the tab is closed with the report unsent

    page = context.new_page()  # still offline: the page is the copy the phone kept
    page.goto(url)
    expect(page.locator("#outbox")).to_contain_text("Hors ligne : copie de cette page du")
    expect(page.locator("#outbox")).to_contain_text("En attente d’envoi (1)")
    expect(page.locator("#outbox")).to_contain_text("70")
    screenshot(page, "offline-waiting-360")

    context.set_offline(False)  # the link returns: the report goes, the page shows it
    expect(page.locator("#outbox")).to_contain_text("Envoyé maintenant : 1.")
    expect(page.locator("#commitment .state")).to_contain_text("70")
    page.reload()
    expect(page.locator("#outbox")).to_be_hidden()
    assert progress_reports(tracker, commitment_id) == [70]
    context.close()


def test_a_conflict_made_in_a_second_tab_is_shown_and_retried_in_one_tap(
        live_server, chromium, in_progress):
    tracker, url, commitment_id = in_progress
    phone, page = member_context(chromium, live_server.url, "saaba-police")
    open_controlled(page, url)
    phone.set_offline(True)
    report_progress(page, "70")  # made against the version the page shows
    expect(page.locator("#outbox")).to_contain_text("En attente d’envoi (1)")

    other, second = member_context(chromium, live_server.url, "saaba-police")
    second.goto(url)
    report_progress(second, "40")  # meanwhile, in a second tab with a link
    expect(second.locator("#commitment .state")).to_contain_text("40")
    assert progress_reports(tracker, commitment_id) == [40]

    phone.set_offline(False)
    outbox = page.locator("#outbox")
    expect(outbox).to_contain_text("Non envoyé : la fiche a changé entre-temps.")
    expect(outbox).to_contain_text("40")  # what changed: the latest entry of the history
    expect(outbox).to_contain_text("70")  # and what the member typed is kept
    screenshot(page, "offline-conflict-360")
    assert serious_violations(page) == []  # axe-core, on the outbox as it shows a conflict
    assert progress_reports(tracker, commitment_id) == [40]
    outbox.get_by_role("button", name="Renvoyer").click()  # one tap
    expect(outbox).to_contain_text("Envoyé maintenant : 1.")
    expect(page.locator("#commitment .state")).to_contain_text("70")
    assert progress_reports(tracker, commitment_id) == [40, 70]
    other.close()
    phone.close()


def test_a_refused_report_keeps_the_members_text_with_the_reason(live_server, chromium, in_progress):
    """Completed meanwhile, the commitment takes no more progress reports: the report is refused,
    with what changed, and what the member typed stays on the phone until discarded."""
    tracker, url, commitment_id = in_progress
    phone, page = member_context(chromium, live_server.url, "saaba-police")
    open_controlled(page, url)
    phone.set_offline(True)
    report_progress(page, "70")
    police = tracker.authenticate("saaba-police", PASSWORD)
    tracker.commitment_action(police, commitment_id, "complete", {"summary": "All done"})
    live_server.app.state.read_models.catch_up()

    phone.set_offline(False)
    refusal = page.locator("#outbox .notice.refused")
    expect(refusal).to_contain_text("Non envoyé :")
    expect(refusal).to_contain_text("l’a achevé")  # what changed meanwhile
    expect(page.locator("#outbox")).to_contain_text("70")
    page.reload()  # kept on the phone, not only on screen
    expect(page.locator("#outbox")).to_contain_text("70")
    assert progress_reports(tracker, commitment_id) == []
    page.locator("#outbox").get_by_role("button", name="Abandonner").click()
    expect(page.locator("#outbox")).to_be_hidden()
    phone.close()
