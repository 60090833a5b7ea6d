"""Who may do what: every command × every role relative to the record, over the JSON API and over
the web forms, against a table written out by hand below (not read from tracker/policy.py).

A commitment of the Saaba dialogue is proposed by the police, who are not asked to endorse it; the
Koglweogo and the women's association must endorse it; the youth group is made responsible (and
so completes it); the town hall is another party of the dialogue. Each command is tried on a
commitment in a status where the lifecycle allows it and the record holds what it needs, so only
who asks decides. A refusal is a 403 `forbidden` whose message is the rule, and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD
from tests.web.support import Site, csrf_token, position, sign_in
from tracker.application import SYSTEM

YES, NO, NAME, SIGN_IN = "yes", "no", "name a party", "sign in"
ROLES = ("proposer", "required", "responsible", "other", "admin", "auditor", "outsider",
         "signed out")
AUDITORS = "auditors read everything and change nothing"
NOT_A_MEMBER = "you are not a member of this dialogue"

# command: (its rule as a refusal says it, and who may give it, role by role in ROLES' order).
# The auditor, an outsider and someone signed out may never act (their own refusals).
COMMITMENT_TABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "amend": ("only the party that proposed the commitment can amend it",
              (YES, NO, NO, NO, NO)),
    "endorse": ("only a party asked to endorse the commitment can endorse it, for itself",
                (NO, YES, NO, NO, NAME)),
    "agree": ("only a party asked to endorse the commitment can agree it",
              (NO, YES, NO, NO, NO)),
    "reject": ("only a required party other than the proposer can reject a proposal; the "
               "proposer withdraws it instead", (NO, YES, NO, NO, NO)),
    "withdraw": ("only the party that proposed the commitment can withdraw it",
                 (YES, NO, NO, NO, NO)),
    "assign": ("only a required party or an administrator can assign the commitment",
               (NO, YES, NO, NO, YES)),
    "progress": ("only the responsible party can report progress", (NO, NO, YES, NO, NO)),
    "add-milestone": ("only the responsible party can add a milestone", (NO, NO, YES, NO, NO)),
    "complete-milestone": ("only the responsible party can complete a milestone",
                           (NO, NO, YES, NO, NO)),
    "attach-evidence": ("only the responsible party or a required party can attach evidence",
                        (NO, YES, YES, NO, NO)),
    "complete": ("only the responsible party can complete the commitment",
                 (NO, NO, YES, NO, NAME)),
    "verify": ("only a required party other than the completing party can verify",
               (NO, YES, NO, NO, NAME)),
    "dispute": ("only a required party other than the completing party can dispute a completion",
                (NO, YES, NO, NO, NO)),
    "cancel": ("only a required party or an administrator can cancel the commitment",
               (NO, YES, NO, NO, YES)),
    "reopen": ("only a required party or an administrator can reopen the commitment",
               (NO, YES, NO, NO, YES)),
    "set-visibility": ("only a required party or an administrator can change who can see the "
                       "commitment", (NO, YES, NO, NO, YES)),
    "comment": ("only a party of the dialogue or an administrator can add a note",
                (YES, YES, YES, YES, YES)),
}
# The status each command is tried from, and its body.
DUE = "2030-06-30"
SETUP: dict[str, tuple[str, dict[str, object]]] = {
    "amend": ("proposed", {"title": "Night patrols, also on feast days", "reason": "Feasts"}),
    "endorse": ("proposed", {}),
    "agree": ("endorsed", {}),
    "reject": ("proposed", {"reason": "Not for this dialogue"}),
    "withdraw": ("proposed", {"reason": "Replaced"}),
    "assign": ("agreed", {"party_id": "youth", "due_date": DUE}),
    "progress": ("in_progress", {"percent": 40}),
    "add-milestone": ("in_progress", {"title": "Second rota"}),
    "complete-milestone": ("in_progress", {"milestone_id": "open milestone"}),
    "attach-evidence": ("in_progress", {"description": "Patrol log"}),
    "complete": ("in_progress", {"summary": "Patrols run"}),
    "verify": ("completed", {}),
    "dispute": ("completed", {"reason": "Nobody saw a patrol"}),
    "cancel": ("agreed", {"reason": "No fuel"}),
    "reopen": ("completed", {"reason": "Break-ins again"}),
    "set-visibility": ("proposed", {"public": False, "reason": "Names a witness"}),
    "comment": ("completed", {"note": "Nobody patrols the market road on Sundays"}),
}
PARTY_FIELD = {"endorse": "party_id", "complete": "party_id", "verify": "party_id",
               "propose": "proposed_by", "raise": "raised_by"}

# Commands on the dialogue and on cases; roles relative to the case: the party that raised it,
# the proposer of the commitment to link, another party.
CASE_ROLES = ("raiser", "proposer", "other", "admin", "auditor", "outsider", "signed out")
CASE_TABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "resolve": ("only the party that raised the case or an administrator can resolve it",
                (YES, NO, NO, YES)),
    "close": ("only the party that raised the case or an administrator can close it",
              (YES, NO, NO, YES)),
    "reopen": ("only the party that raised the case or an administrator can reopen it",
               (YES, NO, NO, YES)),
    "link": ("only the party that raised the case, the party that proposed the commitment or an "
             "administrator can link them", (YES, YES, NO, YES)),
}
DIALOGUE_ROLES = ("party", "admin", "auditor", "outsider", "signed out")
DIALOGUE_TABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "propose": ("only a party of the dialogue can propose a commitment, for itself", (YES, NAME)),
    "raise": ("only a party of the dialogue can raise a case, for itself", (YES, NAME)),
    "record-meeting": ("only a party of the dialogue or an administrator can record a meeting",
                       (YES, YES)),
}


def expected(table: dict, roles: tuple[str, ...], command: str, role: str) -> tuple[str, str]:
    rule, answers = table[command]
    if role == "auditor":
        return NO, AUDITORS
    if role == "outsider":
        return NO, NOT_A_MEMBER
    if role == "signed out":
        return SIGN_IN, ""
    return answers[roles.index(role)], rule


# --- the people, the records, and the two ways of asking ------------------------------------------

ACCOUNT = {"proposer": "saaba-police", "required": "saaba-vigilante", "responsible": "saaba-youth",
           "other": "saaba-mairie", "admin": "admin", "auditor": "auditor",
           "outsider": "dakar-police", "raiser": "saaba-women", "party": "saaba-mairie"}


@dataclass
class World:
    site: Site
    parties: dict[str, str]
    tokens: dict[str, str]
    clients: dict[str, tuple[TestClient, str]]

    @property
    def tracker(self):
        return self.site.tracker

    def member(self, name: str):
        return self.tracker.authenticate(name, PASSWORD)

    def form_client(self, role: str) -> tuple[TestClient, str]:
        if role not in self.clients:
            client = TestClient(self.site.app, headers={"Accept-Language": "en"})
            token = csrf_token(client) if role == "signed out" else sign_in(client, ACCOUNT[role])
            self.clients[role] = (client, token)
        return self.clients[role]


@pytest.fixture
def world(site: Site):
    tracker = site.tracker
    parties = dict(site.world.parties)
    for kind, name in (("youth", "Jeunes de Saaba"), ("mairie", "Mairie de Saaba")):
        parties[kind] = tracker.add_party(SYSTEM, "saaba", name=name,
                                          kind="youth" if kind == "youth" else "local_government"
                                          ).extra["party_id"]
        tracker.add_account(SYSTEM, name=f"saaba-{kind}", role="member", password=PASSWORD)
        tracker.grant_membership(SYSTEM, f"saaba-{kind}", slug="saaba", party=parties[kind])
    tokens = {role: tracker.create_token(SYSTEM, name) for role, name in ACCOUNT.items()}
    built = World(site, parties, tokens, {})
    for role in (*ROLES, *CASE_ROLES, *DIALOGUE_ROLES):  # signed in before anything is counted
        built.form_client(role)
    yield built
    for client, _ in built.clients.values():
        client.close()


def commitment_in(world: World, status: str) -> str:
    """A commitment proposed by the police (not required), to be endorsed by the Koglweogo and the
    women's association, assigned to the youth group, in `status`."""
    t, m = world.tracker, world.member
    police, vigilante, women = m("saaba-police"), m("saaba-vigilante"), m("saaba-women")
    cid = t.propose_commitment(police, "saaba", title="Joint night patrols",
                               required_parties=[world.parties["vigilante"],
                                                 world.parties["women"]]).id
    steps = {
        "endorsed": [(vigilante, "endorse", {}), (women, "endorse", {})],
        "agreed": [(vigilante, "agree", {})],
        "in_progress": [(vigilante, "assign", {"party_id": world.parties["youth"],
                                               "due_date": date(2030, 6, 30)}),
                        (m("saaba-youth"), "add-milestone", {"title": "Rota"})],
        "completed": [(m("saaba-youth"), "complete", {"summary": "Done"})],
    }
    for stage in ("endorsed", "agreed", "in_progress", "completed"):
        if status == "proposed":
            break
        for who, action, fields in steps[stage]:
            t.commitment_action(who, cid, action, fields)
        if stage == status:
            break
    return cid


def body_for(world: World, command: str, cid: str) -> dict[str, object]:
    body = dict(SETUP[command][1])
    if body.get("party_id") == "youth":
        body["party_id"] = world.parties["youth"]
    if body.get("milestone_id"):
        body["milestone_id"] = world.tracker.commitment(cid).milestones[0]["id"]
    return body


def by_api(world: World, role: str, path: str, body: dict[str, object]):
    headers = {"Accept-Language": "en"}
    if role != "signed out":
        headers["Authorization"] = f"Bearer {world.tokens[role]}"
    return world.site.client("anonymous").post(f"/api/v1{path}", json=body, headers=headers)


def by_form(world: World, role: str, path: str, body: dict[str, object]):
    client, token = world.form_client(role)
    form: dict[str, object] = {"csrf_token": token}
    for key, value in body.items():
        if value is True:
            form[key] = "on"
        elif value is not False:  # an unchecked box is not sent
            form[key] = value if isinstance(value, list) else str(value)
    return client.post(path, data=form, follow_redirects=False)


def check(world: World, way: str, role: str, verdict: str, rule: str, send, field: str | None):
    """Send the request; the answer and the log must be what the table says."""
    before = position(world.tracker)
    response = send()
    where = f"{way} as {role}: {response.status_code} {response.text[:200]}"
    if verdict == YES:
        assert response.status_code == (200 if way == "api" else 303) or (
            way == "api" and response.status_code == 201), where
        assert position(world.tracker) > before, where
        return True
    if verdict == SIGN_IN:
        if way == "api":
            assert response.status_code == 401, where
            assert response.json()["error"]["code"] == "not_signed_in", where
        else:
            assert response.status_code == 303, where
            assert response.headers["location"].startswith("/login"), where
    elif verdict == NAME:
        assert response.status_code == 422, where
        if way == "api":
            assert response.json()["error"]["field"] == field, where
        assert "an administrator must say for which party they act" in response.text, where
    else:
        assert response.status_code == 403, where
        if way == "api":
            assert response.json()["error"] == {"code": "forbidden", "message": rule}, where
        else:
            assert rule.replace("'", "&#39;") in response.text, where
    assert position(world.tracker) == before, f"{where}: a refused request changed something"
    return False


@pytest.mark.parametrize("way", ["api", "form"])
@pytest.mark.parametrize("command", list(COMMITMENT_TABLE))
def test_each_command_on_a_commitment_answers_each_role_as_the_table_says(world, way, command):
    status = SETUP[command][0]
    cid = None
    for role in ROLES:
        cid = cid or commitment_in(world, status)  # a new one after each success
        verdict, rule = expected(COMMITMENT_TABLE, ROLES, command, role)
        path = f"/commitments/{cid}/{command}"
        body = body_for(world, command, cid)
        send = (lambda r=role, p=path, b=body: by_api(world, r, p, b)) if way == "api" else \
            (lambda r=role, p=path, b=body: by_form(world, r, p, b))
        if check(world, way, role, verdict, rule, send, PARTY_FIELD.get(command)):
            cid = None


def case_raised_by_the_women(world: World, status: str = "open") -> str:
    women = world.member("saaba-women")
    case = world.tracker.raise_case(women, "saaba", title="Break-ins at the market",
                                    category="theft_burglary").id
    if status == "resolved":
        world.tracker.case_action(women, case, "resolve", {"summary": "Calmer"})
    return case


@pytest.mark.parametrize("way", ["api", "form"])
@pytest.mark.parametrize("command", list(CASE_TABLE))
def test_each_command_on_a_case_answers_each_role_as_the_table_says(world, way, command):
    case = None
    for role in CASE_ROLES:
        case = case or case_raised_by_the_women(world, "resolved" if command == "reopen" else "open")
        verdict, rule = expected(CASE_TABLE, CASE_ROLES, command, role)
        body: dict[str, object] = {
            "resolve": {"summary": "Patrols stopped them"}, "close": {"reason": "Handled"},
            "reopen": {"reason": "Again"},
            "link": {"commitment_id": commitment_in(world, "proposed")} if command == "link" else {},
        }[command]
        send = (lambda r=role, b=body, c=case: by_api(world, r, f"/cases/{c}/{command}", b)) \
            if way == "api" else (lambda r=role, b=body, c=case: by_form(
                world, r, f"/cases/{c}/{command}", b))
        if check(world, way, role, verdict, rule, send, None):
            case = None


DIALOGUE_WAYS = [(way, command) for command in DIALOGUE_TABLE for way in ("api", "form")]


@pytest.mark.parametrize(("way", "command"), DIALOGUE_WAYS)
def test_each_command_on_the_dialogue_answers_each_role_as_the_table_says(world, way, command):
    paths = {"propose": "/dialogues/saaba/commitments", "raise": "/dialogues/saaba/cases",
             "record-meeting": "/dialogues/saaba/meetings"}
    bodies = {"propose": {"title": "Street lights", "required_parties": [world.parties["police"]]},
              "raise": {"title": "Clashes", "category": "violence"},
              "record-meeting": {"held_on": "2026-11-30", "title": "Session"}}
    for role in DIALOGUE_ROLES:
        verdict, rule = expected(DIALOGUE_TABLE, DIALOGUE_ROLES, command, role)
        send = (lambda r=role: by_api(world, r, paths[command], bodies[command])) \
            if way == "api" else (lambda r=role: by_form(world, r, paths[command], bodies[command]))
        check(world, way, role, verdict, rule, send, PARTY_FIELD.get(command))


def test_an_administrator_who_names_a_party_acts_with_that_party_s_rights(world):
    """The admin column above names no party; naming one gives that party's roles (and the
    record says who acted for whom)."""
    cid = commitment_in(world, "proposed")
    for party, answer in (("police", 403), ("vigilante", 200)):
        response = by_api(world, "admin", f"/commitments/{cid}/endorse",
                          {"party_id": world.parties[party]})
        assert response.status_code == answer, response.text
    last = list(world.tracker.aggregate_events(cid))[-1]
    assert last.meta.party == world.parties["vigilante"]
    assert last.meta.actor == world.member("admin").account_id


def test_a_party_that_is_both_proposer_and_required_withdraws_but_does_not_reject(world):
    police = world.member("saaba-police")
    cid = world.tracker.propose_commitment(police, "saaba", title="Lights",
                                           required_parties=[world.parties["police"],
                                                             world.parties["vigilante"]]).id
    assert world.tracker.commitment(cid).endorsements == [world.parties["police"]]
    refused = by_api(world, "proposer", f"/commitments/{cid}/reject", {"reason": "No"})
    assert refused.status_code == 403
    assert "the proposer withdraws it instead" in refused.json()["error"]["message"]
    assert by_api(world, "proposer", f"/commitments/{cid}/withdraw",
                  {"reason": "Replaced"}).status_code == 200


def test_a_refusal_is_in_the_reader_s_language(world):
    cid = commitment_in(world, "proposed")
    response = world.site.client("anonymous").post(
        f"/api/v1/commitments/{cid}/withdraw", json={"reason": "No"},
        headers={"Authorization": f"Bearer {world.tokens['other']}", "Accept-Language": "fr"})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == \
        "seule la partie prenante qui a proposé l’engagement peut le retirer"
