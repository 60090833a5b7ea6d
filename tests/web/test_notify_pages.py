"""The member's side of notifications over HTTP: what needs my party on the workspace (the list the
reminders use), watching a commitment or a dialogue, choosing how one is told."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import propose
from tracker.application import SYSTEM


def test_the_workspace_shows_what_needs_my_party(site):
    tracker, world = site.tracker, site.world
    # The vigilante group proposes; the police must endorse. Another one is the police's, overdue.
    propose(tracker, world, by="vigilante", title="Lights at the market")
    late = propose(tracker, world, title="Night patrols").id
    tracker.commitment_action(world.members["vigilante"], late, "endorse", {})
    tracker.commitment_action(world.members["police"], late, "agree", {})
    tracker.commitment_action(world.members["police"], late, "assign", {
        "party_id": world.parties["police"], "due_date": tracker.today() + timedelta(days=3)})
    page = site.get("member", "/dialogues/saaba").text
    waiting = page.split("What needs my party", 1)[1].split("</section>", 1)[0]
    assert "Lights at the market" in waiting and "endorsement is needed" in waiting
    assert "Night patrols" in waiting and "Due within seven days" in waiting
    # The women's association has nothing waiting: no such section.
    assert "What needs my party" not in site.get("women", "/dialogues/saaba").text



def test_a_long_list_of_what_needs_my_party_shows_its_first_ten_and_a_way_to_all(site):
    """Twelve proposals wait for the police's endorsement, one waits for nobody of theirs (the
    women's own, the police not required): the workspace shows the first ten, says there are
    twelve and links to all of them."""
    tracker, world = site.tracker, site.world
    lamps = [propose(tracker, world, by="vigilante", title=f"Lamp {number:02}").id
             for number in range(12)]
    tracker.propose_commitment(world.members["women"], world.slug, title="Women's own walk",
                               required_parties=[world.parties["women"]])

    def waiting_titles(path: str) -> list[str]:
        page = site.get("member", path).text
        section = page.split("What needs my party", 1)[1].split("</section>", 1)[0]
        return [part.split("<", 1)[0] for part in section.split('">')[1:]
                if part.startswith("Lamp") or part.startswith("Women")]

    assert waiting_titles("/dialogues/saaba") == [f"Lamp {n:02}" for n in range(10)]
    page = site.get("member", "/dialogues/saaba").text
    assert f'href="/dialogues/saaba?waiting=all#h-waiting-{world.dialogue_id}">Show all (12)' in page
    assert waiting_titles("/dialogues/saaba?waiting=all") == [f"Lamp {n:02}" for n in range(12)]
    assert "Show all" not in site.get("member", "/dialogues/saaba?waiting=all").text
    # The list is kept between changes; the police's endorsement is one: Lamp 00 leaves it.
    tracker.commitment_action(world.members["police"], lamps[0], "endorse", {})
    assert waiting_titles("/dialogues/saaba") == [f"Lamp {n:02}" for n in range(1, 11)]
    assert "Show all (11)" in site.get("member", "/dialogues/saaba").text


def test_a_member_watches_and_stops_watching_a_commitment(site):
    tracker, world = site.tracker, site.world
    cid = propose(tracker, world).id
    women = world.members["women"].account_id
    answer = site.post("women", f"/watching/{cid}", {"watch": "1"},
                       headers={"Referer": f"http://testserver/commitments/{cid}"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/commitments/{cid}"
    assert site.read_models.watching(women) == {cid}
    assert "Stop watching" in site.get("women", f"/commitments/{cid}").text
    assert site.post("women", f"/watching/{cid}", {"watch": "0"}).status_code == 303
    assert site.read_models.watching(women) == set()
    # Watching the whole dialogue, from its workspace.
    assert site.post("women", f"/watching/{world.dialogue_id}", {"watch": "1"}).status_code == 303
    assert site.read_models.watching(women) == {world.dialogue_id}


def test_no_one_watches_what_they_may_not_read(site):
    cid = propose(site.tracker, site.world).id
    before = site.tracker.recorder.max_notification_id()
    assert site.post("other", f"/watching/{cid}", {"watch": "1"}).status_code == 403
    assert site.post("other", "/watching/not-an-id", {"watch": "1"}).status_code in (404, 422)
    assert site.post("anonymous", f"/watching/{cid}", {"watch": "1"}).status_code in (303, 401)
    assert site.tracker.recorder.max_notification_id() == before


def test_a_member_chooses_a_daily_digest(site):
    site.tracker.add_account(SYSTEM, name="with-mail", role="member", password="correct horse battery",
                             email="with.mail@example.org",
                             memberships=[("saaba", site.world.parties["women"])])
    from tests.web.support import sign_in

    client = site.client("women").__class__(site.app, headers={"Accept-Language": "en"})
    token = sign_in(client, "with-mail")
    assert 'value="immediate" selected' in client.get("/dialogues/saaba").text
    answer = client.post("/account/mail", data={"mail": "digest", "csrf_token": token},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert site.tracker.account_by_name("with-mail").mail == "digest"
    assert client.post("/account/mail", data={"mail": "hourly", "csrf_token": token},
                       follow_redirects=False).status_code == 422
