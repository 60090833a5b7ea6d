"""Feedback where the eye is, at 360 px: after an action far down the commitment page, its
confirmation or refusal is inside the screen, announced (a live region or an alert) and holds
the focus (or the field at fault does), with JavaScript (htmx swaps) and without (the redirect
comes back to the forms' anchor)."""

from __future__ import annotations

import pytest

from tests.browser_support import police_on, screenshot
from tests.factories import PASSWORD, advance, make_world, propose

pytestmark = pytest.mark.browser

IN_VIEW = """el => { const r = el.getBoundingClientRect();
                     return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"""
FOCUSED = "el => el === document.activeElement || el.contains(document.activeElement)"


def holds(locator, predicate: str, timeout: float = 5000) -> bool:
    """Whether `predicate` comes to hold for the element within `timeout` ms: the page moves the
    focus once the swapped content has settled, a moment after it appears."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.page.wait_for_function(predicate, arg=locator.element_handle(), timeout=timeout)
    except PlaywrightTimeout:
        return False
    return True


def long_commitment(server) -> str:
    """A commitment in progress whose actions sit well below the first screen (milestones)."""
    tracker = server.app.state.tracker
    world = make_world(tracker)
    cid = propose(tracker, world).id
    advance(tracker, world, cid, "in_progress")
    for number in range(12):
        tracker.commitment_action(world.members["police"], cid, "add-milestone",
                                  {"title": f"Lampadaire n° {number + 1} posé et branché"})
    server.app.state.read_models.catch_up()
    return cid


def progress_form(page):
    summary = page.locator("details:has(form[action$='/progress']) > summary")
    top = summary.evaluate("el => el.getBoundingClientRect().top + window.scrollY")
    assert top > 740, "the form is below the first screen, as on a phone"
    summary.click()
    return page.locator("form[action$='/progress']")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_the_saved_message_is_on_screen_and_focused_after_a_progress_report(
        live_server, chromium, javascript):
    cid = long_commitment(live_server)
    page = police_on(chromium, live_server, cid, javascript=javascript)
    form = progress_form(page)
    form.get_by_label("Avancement (de 0 à 100 %)").fill("40")
    form.get_by_role("button", name="Signaler l’avancement").click()
    notice = page.locator("#messages .notice.ok")
    notice.wait_for()
    assert "avancement" in notice.inner_text().lower()
    assert notice.evaluate(IN_VIEW), "the confirmation is inside the screen"
    if javascript:
        assert holds(notice, FOCUSED), "the confirmation has the focus"
    else:  # browsers skip autofocus when the address names a fragment: the fragment is the place
        assert page.url.endswith(f"/commitments/{cid}#actions")
        assert page.locator("#actions").evaluate("el => el.matches(':target')")
    assert page.locator("#messages").get_attribute("aria-live") == "polite"
    screenshot(page, f"feedback-saved-360-{'htmx' if javascript else 'nojs'}")
    assert live_server.app.state.tracker.commitment(cid).progress == 40


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_refusal_is_shown_beside_its_form_with_the_focus_on_the_field_at_fault(
        live_server, chromium, javascript):
    cid = long_commitment(live_server)
    page = police_on(chromium, live_server, cid, javascript=javascript)
    form = progress_form(page)
    form.get_by_label("Avancement (de 0 à 100 %)").fill("40")
    form.locator("details.more > summary").click()
    form.locator("input[name=occurred_on]").fill("2001-01-01")  # before the commitment began
    form.get_by_role("button", name="Signaler l’avancement").click()
    field = page.locator("form[action$='/progress'] input[name=occurred_on][aria-invalid=true]")
    field.wait_for()
    error = page.locator("#err-progress-occurred_on")
    assert error.evaluate(IN_VIEW) and field.evaluate(IN_VIEW), "the refusal is on screen"
    assert holds(field, FOCUSED), "the field at fault has the focus"
    assert field.get_attribute("aria-describedby") == "err-progress-occurred_on"
    # beside its form: the message is inside the form that was sent
    assert error.evaluate("el => !!el.closest(\"form[action$='/progress']\")")
    screenshot(page, f"feedback-refused-360-{'htmx' if javascript else 'nojs'}")
    assert live_server.app.state.tracker.commitment(cid).progress == 0


def test_a_refusal_of_the_lifecycle_is_announced_beside_the_forms(live_server, chromium):
    """A form sent after the commitment moved on (another member completed it meanwhile, and
    nobody reloaded): the refusal lands in the forms' message area, as an alert, focused."""
    cid = long_commitment(live_server)
    page = police_on(chromium, live_server, cid, javascript=True)
    form = progress_form(page)
    form.get_by_label("Avancement (de 0 à 100 %)").fill("40")
    tracker = live_server.app.state.tracker
    police = tracker.authenticate("saaba-police", PASSWORD)
    tracker.commitment_action(police, cid, "complete", {"summary": "Done"})
    form.locator("input[name=expected_version]").evaluate("el => el.remove()")  # not stale, refused
    form.get_by_role("button", name="Signaler l’avancement").click()
    alert = page.locator("#actions [role=alert]")
    alert.wait_for()
    assert alert.evaluate(IN_VIEW) and holds(alert, FOCUSED)

