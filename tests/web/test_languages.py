"""French, English and Arabic: from the account's preference, the switch, or the browser's languages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import advance, propose
from tests.web.support import Site, csrf_token, sign_in
from web.i18n import negotiate


def test_the_browser_language_chooses_french_or_english_and_french_is_the_default(site: Site):
    client = TestClient(site.app)
    assert "Se connecter" in client.get("/login", headers={"Accept-Language": "fr-BF,fr;q=0.9"}).text
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert "Se connecter" in client.get("/login", headers={"Accept-Language": "ha-NG"}).text
    assert '<html lang="fr" dir="ltr">' in client.get("/login").text


def test_arabic_pages_are_written_right_to_left_in_arabic(site: Site):
    client = TestClient(site.app)
    page = client.get("/login", headers={"Accept-Language": "ar-TN,ar;q=0.9,fr;q=0.5"}).text
    assert '<html lang="ar" dir="rtl">' in page
    assert "تسجيل الدخول" in page  # Sign in
    assert 'value="ar" lang="ar" aria-pressed="true">العربية<' in page


def test_statuses_dates_and_numbers_read_in_arabic_and_in_the_browsers_english(site: Site):
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")  # due 30 June 2030
    site.settle()
    page = site.get("member", f"/commitments/{result.id}", headers={"Accept-Language": "ar"}).text
    assert "قيد التنفيذ" in page  # in progress
    assert "30\u200f/06\u200f/2030" in page  # Babel's Arabic date, with its right-to-left marks
    assert "أسنده" in page  # assigned it
    british = site.get("member", f"/commitments/{result.id}",
                       headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert "30 Jun 2030" in british and "Jun 30, 2030" not in british


def test_the_switch_offers_arabic_and_keeps_it_in_the_account(site: Site):
    client = TestClient(site.app)
    token = sign_in(client, "saaba-vigilante")
    client.post("/language", data={"lang": "ar", "next": "/dialogues/saaba", "csrf_token": token},
                headers={"Accept-Language": "fr"})
    assert site.tracker.account_by_name("saaba-vigilante").language == "ar"
    page = client.get("/dialogues/saaba", headers={"Accept-Language": "fr"}).text
    assert 'dir="rtl"' in page and "الالتزامات" in page  # Commitments


def test_accept_language_weights_are_respected():
    assert negotiate("de;q=1.0, en;q=0.5, fr;q=0.9") == "fr"
    assert negotiate("en-US") == "en"
    assert negotiate("de, nl") is None
    assert negotiate("fr;q=nonsense, en") == "en"


def test_statuses_dates_and_numbers_read_in_french(site: Site):
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")  # due 30 June 2030
    site.settle()
    page = site.get("member", f"/commitments/{result.id}", headers={"Accept-Language": "fr"}).text
    assert "en cours" in page
    assert "30 juin 2030" in page
    assert "Historique" in page and "l’a attribué" in page
    workspace = site.get("member", "/dialogues/saaba", headers={"Accept-Language": "fr"}).text
    for word in ("proposé", "adopté", "en cours", "achevé", "vérifié", "rejeté", "retiré", "annulé"):
        assert word in workspace
    english = site.get("member", f"/commitments/{result.id}",
                       headers={"Accept-Language": "en"}).text
    assert "in progress" in english and "Jun 30, 2030" in english


def test_the_switch_keeps_the_choice_in_the_account_for_the_next_sign_in(site: Site):
    client = TestClient(site.app)
    token = sign_in(client, "saaba-vigilante")
    response = client.post("/language", data={"lang": "en", "next": "/dialogues/saaba",
                                              "csrf_token": token},
                           headers={"Accept-Language": "fr"}, follow_redirects=False)
    assert response.headers["location"] == "/dialogues/saaba"
    assert "Commitments" in client.get("/dialogues/saaba", headers={"Accept-Language": "fr"}).text
    assert site.tracker.account_by_name("saaba-vigilante").language == "en"
    # a new browser, French by default: signing in brings the account's English back
    fresh = TestClient(site.app)
    assert "Se connecter" in fresh.get("/login", headers={"Accept-Language": "fr"}).text
    sign_in(fresh, "saaba-vigilante")
    assert "Commitments" in fresh.get("/dialogues/saaba", headers={"Accept-Language": "fr"}).text


def test_an_unknown_language_is_refused(site: Site):
    client = TestClient(site.app)
    response = client.post("/language", data={"lang": "xx", "csrf_token": csrf_token(client)})
    assert response.status_code == 422


def test_every_page_has_the_language_switch(site: Site):
    result = propose(site.tracker, site.world)
    site.settle()
    for path in ["/login", "/dialogues/saaba", f"/commitments/{result.id}"]:
        html = site.get("member", path).text
        assert 'action="/language"' in html
        assert 'value="fr"' in html and 'value="en"' in html and 'value="ar"' in html


def test_plurals_read_in_french(site: Site):
    for n in range(3):
        propose(site.tracker, site.world, title=f"Patrols {n}")
    site.settle()
    page = site.get("member", "/dialogues/saaba", headers={"Accept-Language": "fr"}).text
    assert "3 engagements" in page
    page = site.get("member", "/dialogues/saaba?q=Patrols+1", headers={"Accept-Language": "fr"}).text
    assert "1 engagement<" in page
