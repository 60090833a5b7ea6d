"""The printable report: a PDF made on the server, read back with pdftotext (poppler-utils) for the
dialogue's figures, in each language, Arabic included."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta

import pytest

from tests.factories import advance, propose

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="pdftotext (poppler-utils, `make system`) is not installed")


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,  # noqa: S603,S607
                          capture_output=True, text=True).stdout


BIDI_AND_VOWEL_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u064b-\u0652]")


def words_of(pdf: bytes, tmp_path) -> str:
    """The report's text with its line breaks as spaces (table cells wrap), without the
    direction marks pdftotext puts around runs and Arabic's short-vowel marks."""
    return " ".join(BIDI_AND_VOWEL_MARKS.sub("", text_of(pdf, tmp_path)).split())


@pytest.fixture
def reported(tracker_of, world):
    done = propose(tracker_of, world, title="Joint night patrols").id
    advance(tracker_of, world, done, "verified")
    late = propose(tracker_of, world, title="Street lights").id
    advance(tracker_of, world, late, "agreed")
    tracker_of.commitment_action(world.members["police"], late, "assign",
                                 {"party_id": world.parties["vigilante"],
                                  "due_date": date.today() - timedelta(days=3)})
    propose(tracker_of, world, title="Private matter", public=False)
    return done, late


WORDS = {  # the report's headings, in each language
    "en": ("Party scorecards", "Commitments by status", "Integrity ledger", "verified", "overdue"),
    "fr": ("Bilan par partie prenante", "Registre d", "vérifié", "en retard"),
    "ar": ("بطاقات", "النزاهة", "متحقق", "متأخر", "السجل العام"),  # (no lam-alef ligature)
}


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_dialogue_report_is_a_pdf_with_its_figures_in_the_reader_s_language(
        client, world, reported, language, tmp_path):
    response = client.get(f"/public/dialogues/{world.slug}/report.pdf",
                          headers={"Accept-Language": language})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = words_of(response.content, tmp_path)
    head = client.get("/api/v1/ledger/head").json()
    assert "Joint night patrols" in text and "Street lights" in text
    assert "Private matter" not in text  # public fields only
    assert "Police nationale" in text and "Koglweogo" in text  # the scorecards' parties
    assert head["head_hash"][:16] in text.replace(" ", "")  # the ledger head it was made from
    assert str(head["position"]) in text
    for word in WORDS[language]:
        assert word in text, (language, word)


def test_the_programme_report_lists_every_dialogue(client, world, reported, tmp_path):
    response = client.get("/public/report.pdf", headers={"Accept-Language": "ar"})
    assert response.status_code == 200
    text = words_of(response.content, tmp_path)
    assert "البرنامج" in text and "بوركينا فاسو" in text  # the programme; Burkina Faso by Babel


def test_an_unknown_dialogue_has_no_report(client):
    assert client.get("/public/dialogues/nowhere/report.pdf").status_code == 404
