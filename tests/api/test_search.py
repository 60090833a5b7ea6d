"""The text filter ignores case and accents in French, English and Arabic (`projections.views.fold`)."""

from __future__ import annotations

import pytest

from projections.views import fold


@pytest.mark.parametrize(("text", "folded"), [
    ("Éclairage du marché", "eclairage du marche"),
    ("ÇA, Noël, Garçon", "ca, noel, garcon"),
    ("Cœur de la CITÉ", "coeur de la cite"),
    ("STREET Lights", "street lights"),
    ("الشُّرْطَة", "الشرطه"),  # harakat and shadda go; teh marbuta reads as heh
    ("إنارة", "اناره"),  # alef with hamza below
    ("أمن", "امن"),  # alef with hamza above
    ("آمن", "امن"),  # alef with madda
    ("مسـؤول", "مسوول"),  # tatweel, waw with hamza
    ("مستشفى", "مستشفي"),  # alef maksura
])
def test_fold_by_hand(text, folded):
    assert fold(text) == folded


def propose(client, world, as_, title, description=None):
    body = {"title": title, "description": description,
            "required_parties": [world.parties["police"]]}
    response = client.post(f"/api/v1/dialogues/{world.slug}/commitments", json=body,
                           headers=as_("police"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def search(client, world, as_, q):
    response = client.get(f"/api/v1/dialogues/{world.slug}/commitments", params={"q": q},
                          headers=as_("police"))
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


def test_the_filter_finds_words_whatever_their_accents_case_and_arabic_marks(client, world, as_):
    lights = propose(client, world, as_, "Éclairage du marché central")
    arabic = propose(client, world, as_, "إنارة الشارع", "دوريات الشُّرْطَة في الليل")
    other = propose(client, world, as_, "Night patrols")
    assert search(client, world, as_, "eclairage") == {lights}
    assert search(client, world, as_, "ÉCLAIRAGE DU MARCHE") == {lights}
    assert search(client, world, as_, "Marché") == {lights}
    assert search(client, world, as_, "انارة") == {arabic}  # without the hamza
    assert search(client, world, as_, "إنارة") == {arabic}
    assert search(client, world, as_, "الشرطة") == {arabic}  # without the diacritics
    assert search(client, world, as_, "الشُّرطة") == {arabic}
    assert search(client, world, as_, "night") == {other}
    assert search(client, world, as_, "%") == set()  # LIKE's wildcards are plain characters
