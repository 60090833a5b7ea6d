from tests.factories import advance, make_world, propose


def test_a_commitment_goes_from_proposal_to_verification(tracker):
    world = make_world(tracker)
    result = propose(tracker, world)
    advance(tracker, world, result.id, "verified")
    commitment = tracker.commitment(result.id)
    assert commitment.status == "verified"
    assert commitment.version == 7
