"""Test data in one place: a dialogue with parties and members, and commitments at any stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tracker.application import SYSTEM, CommandResult, Principal, Tracker

PASSWORD = "correct horse battery"


@dataclass
class World:
    """A dialogue in Saaba with three parties and one member account for each."""

    slug: str
    dialogue_id: str
    parties: dict[str, str]  # kind -> party id
    members: dict[str, Principal] = field(default_factory=dict)  # kind -> principal


def make_world(tracker: Tracker, slug: str = "saaba", with_members: bool = True) -> World:
    result = tracker.create_dialogue(SYSTEM, slug=slug, name=f"Dialogue {slug}", country="BF",
                                     locality="Saaba", description="Robberies and break-ins")
    parties = {}
    for name, kind in (("Police nationale", "police"), ("Koglweogo", "vigilante"),
                       ("Association des femmes", "women")):
        parties[kind] = tracker.add_party(SYSTEM, slug, name=name, kind=kind).extra["party_id"]
    world = World(slug=slug, dialogue_id=result.id, parties=parties)
    if with_members:
        for kind, party_id in parties.items():
            name = f"{slug}-{kind}"
            tracker.add_account(SYSTEM, name=name, role="member", password=PASSWORD)
            tracker.grant_membership(SYSTEM, name, slug=slug, party=party_id)
            world.members[kind] = tracker.authenticate(name, PASSWORD)
    return world


def account(tracker: Tracker, name: str, role: str, world: World | None = None,
            party: str | None = None) -> Principal:
    """A new account of this role, signed in; a member also joins the world's dialogue for `party`."""
    tracker.add_account(SYSTEM, name=name, role=role, password=PASSWORD)
    if world is not None:
        tracker.grant_membership(SYSTEM, name, slug=world.slug, party=party)
    principal = tracker.authenticate(name, PASSWORD)
    assert principal is not None
    return principal


def propose(tracker: Tracker, world: World, by: str = "police",
            required: tuple[str, ...] = ("police", "vigilante"), **kwargs) -> CommandResult:
    kwargs.setdefault("title", "Joint night patrols on market days")
    return tracker.propose_commitment(world.members[by], world.slug,
                                      required_parties=[world.parties[k] for k in required],
                                      **kwargs)


def advance(tracker: Tracker, world: World, commitment_id: str, to: str) -> None:
    """Take a commitment proposed by `propose` (police + vigilante required) to status `to`:
    the required parties that have not endorsed yet endorse, the police agree, assign it to
    themselves and complete it, the vigilante group verifies."""
    police, vigilante = world.members["police"], world.members["vigilante"]
    missing = tracker.commitment(commitment_id).missing_endorsements()
    endorsements = [(world.members[kind], "endorse", {}) for kind in ("police", "vigilante")
                    if world.parties[kind] in missing]
    steps = {
        "agreed": [*endorsements, (police, "agree", {})],
        "in_progress": [(police, "assign", {"party_id": world.parties["police"],
                                            "due_date": date(2030, 6, 30)})],
        "completed": [(police, "complete", {"summary": "Patrols run every market day"})],
        "verified": [(vigilante, "verify", {})],
    }
    for stage in ("agreed", "in_progress", "completed", "verified"):
        for principal, action, fields in steps[stage]:
            tracker.commitment_action(principal, commitment_id, action, fields)
        if stage == to:
            return
    raise ValueError(to)
