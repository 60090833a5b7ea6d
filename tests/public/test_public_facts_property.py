"""Property: whatever mix of public and hidden facts is recorded, no hidden value reaches a public
answer, and a hidden fact alone moves no public validator.

Each example is a new dialogue and a random sequence of commands on its commitments: proposals
public or private, the steps of the lifecycle, progress reports public or not, notes, evidence
public or not, milestones, visibility toggles. Every value kept from the public is a unique
sentinel (text), or for a progress report given as not public a percentage no public report uses;
while a commitment is private, its title, description, milestones and evidence are kept from the
public too. After each hidden-only command, every public page and download answers 304 to the
ETag it had before; at the end, every public page, download, feed and public API answer is
searched for every sentinel.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from uuid import UUID, uuid4

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from tests.factories import make_world

HIDDEN_PERCENTS = (71, 73, 77, 79, 83, 89, 97)  # no public report uses them
PUBLIC_PERCENTS = (0, 10, 20, 30, 40, 50, 60, 80, 90, 100)
SLOTS = 4  # commitments an example refers to (by index, modulo those proposed)

PROGRESS = st.tuples(st.just("progress"), st.integers(0, SLOTS), st.booleans(), st.integers(0, 6))
STEPS = st.lists(st.one_of(
    PROGRESS, PROGRESS,  # twice as likely as the others: the before-values are the point
    st.tuples(st.just("propose"), st.booleans()),
    st.tuples(st.just("advance"), st.integers(0, SLOTS)),
    st.tuples(st.just("note"), st.integers(0, SLOTS), st.booleans()),
    st.tuples(st.just("evidence"), st.integers(0, SLOTS), st.booleans()),
    st.tuples(st.just("milestone"), st.integers(0, SLOTS)),
    st.tuples(st.just("toggle"), st.integers(0, SLOTS)),
), min_size=1, max_size=10)

COUNTER = itertools.count()
PROGRESS_VALUE = re.compile(r'<progress max="100" value="(\d+)"')
PROGRESS_CHANGE = re.compile(r"(?:Progress|progress):?\s*(\d+)\s*→\s*(\d+)|progress → (\d+)")


class Example:
    """One example's dialogue, its commitments and what is kept from the public."""

    def __init__(self, client, tracker):
        self.client, self.tracker = client, tracker
        self.tag = f"x{next(COUNTER)}{uuid4().hex[:6]}"
        self.world = make_world(tracker, slug=self.tag)
        self.ids: list[str] = []
        self.secrets: set[str] = set()  # kept from the public for ever

    def secret(self, what: str) -> str:
        value = f"SENTINEL-{what}-{uuid4().hex[:10]}"
        self.secrets.add(value)
        return value

    def member(self, kind: str):
        return self.world.members[kind]

    def pick(self, index: int) -> str | None:
        return self.ids[index % len(self.ids)] if self.ids else None

    # --- commands ------------------------------------------------------------------------------

    def propose(self, public: bool) -> None:
        world = self.world
        result = self.tracker.propose_commitment(
            self.member("police"), world.slug,
            title=f"T-{uuid4().hex[:10]}", description=f"D-{uuid4().hex[:10]}",
            required_parties=[world.parties["police"], world.parties["vigilante"]],
            public=public, private_note=self.secret("private-note"), note=self.secret("note"))
        self.ids.append(result.id)

    def act(self, who: str, cid: str, action: str, fields: dict, **extra) -> None:
        self.tracker.commitment_action(self.member(who), cid, action, fields, **extra)

    def advance(self, cid: str) -> None:
        status = self.tracker.commitment(cid).status
        steps = {"proposed": [("vigilante", "endorse", {}), ("police", "agree", {})],
                 "agreed": [("police", "assign", {"party_id": self.world.parties["police"],
                                                  "due_date": "2030-06-30"})],
                 "in_progress": [("police", "complete", {"summary": f"Done {self.tag}"})],
                 "completed": [("vigilante", "verify", {})]}
        for who, action, fields in steps.get(status, []):
            self.act(who, cid, action, fields, note=self.secret("note"))

    def run(self, step: tuple) -> bool:
        """Apply one step; True when it is hidden only (nothing public may change)."""
        kind, *args = step
        if kind == "propose":
            self.propose(args[0])
            return not args[0]
        cid = self.pick(args[0])
        if cid is None:
            return True
        private = not self.tracker.commitment(cid).public
        hidden = private
        try:
            if kind == "advance":
                self.advance(cid)
            elif kind == "progress":
                public = args[1]
                percent = (PUBLIC_PERCENTS if public else HIDDEN_PERCENTS)[args[2]]
                self.act("police", cid, "progress", {"percent": percent, "public": public},
                         note=self.secret("progress-note"))
                hidden = private or not public
            elif kind == "note":
                public = args[1]
                text = f"Public note {self.tag}" if public else self.secret("comment")
                self.act("women", cid, "comment", {"note": text, "public": public})
                hidden = private or not public
            elif kind == "evidence":
                public = args[1]
                description = f"E-{uuid4().hex[:10]}" if public else self.secret("evidence")
                url = f"https://example.org/{description}"
                self.act("police", cid, "attach-evidence",
                         {"description": description, "url": url, "public": public})
                hidden = private or not public
            elif kind == "milestone":
                self.act("police", cid, "add-milestone", {"title": f"M-{uuid4().hex[:10]}"})
            elif kind == "toggle":
                if private:
                    self.tracker.set_commitment_visibility(
                        self.member("police"), cid, public=True, reason=f"Reviewed {self.tag}")
                else:
                    self.tracker.set_commitment_visibility(
                        self.member("police"), cid, public=False, reason=self.secret("reason"))
                hidden = False  # it appears, or disappears: both are public changes
        except DomainError:
            return True  # refused: nothing was recorded
        return hidden

    # --- what the public sees ------------------------------------------------------------------

    def kept_now(self) -> set[str]:
        """The sentinels, and every text of the commitments private now."""
        kept = set(self.secrets)
        for cid in self.ids:
            commitment = self.tracker.repository.get(UUID(cid))
            if not commitment.public:
                kept.update({cid, commitment.title, commitment.description})
                kept.update(m["title"] for m in commitment.milestones)
                kept.update(e["description"] for e in commitment.evidence)
        return kept

    def urls(self) -> list[str]:
        slug = self.world.slug
        return ["/public/", f"/public/dialogues/{slug}", f"/public/dialogues/{slug}/feed.atom",
                f"/public/dialogues/{slug}/commitments.csv",
                f"/public/dialogues/{slug}/commitments.json",
                *(f"/public/commitments/{cid}" for cid in self.public_ids())]

    def public_ids(self) -> list[str]:
        return [cid for cid in self.ids if self.tracker.commitment(cid).public]

    def etags(self) -> dict[str, str]:
        answers = {url: self.client.get(url) for url in self.urls()}
        assert all(a.status_code == 200 for a in answers.values())
        return {url: a.headers["etag"] for url, a in answers.items()}

    def answers(self) -> dict[str, str]:
        slug = self.world.slug
        urls = [*self.urls(), "/api/v1/public/dialogues", f"/api/v1/public/dialogues/{slug}",
                *(f"/api/v1/public/commitments/{cid}/proof" for cid in self.public_ids())]
        found = {}
        for url in urls:
            response = self.client.get(url, headers={"Accept-Language": "en"})
            assert response.status_code == 200, (url, response.status_code)
            found[url] = response.text
        for cid in self.ids:
            if cid not in self.public_ids():
                assert self.client.get(f"/public/commitments/{cid}").status_code == 404
                assert self.client.get(
                    f"/api/v1/public/commitments/{cid}/proof").status_code == 404
        return found


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=STEPS)
# the case: a hidden 77 between public 40 and 80 (then a completion)
@example(steps=[("progress", 0, True, 4), ("progress", 0, False, 2), ("progress", 0, True, 7),
                ("progress", 0, False, 6), ("advance", 0)])
# hidden while private, public again; hidden evidence and notes on a public one
@example(steps=[("progress", 0, False, 1), ("toggle", 0), ("progress", 0, True, 5),
                ("milestone", 0), ("toggle", 0), ("progress", 0, True, 8), ("toggle", 1),
                ("evidence", 0, False), ("evidence", 0, True), ("note", 0, False), ("note", 0, True)])
def test_no_hidden_value_reaches_a_public_answer_and_no_hidden_fact_moves_an_etag(
        client, tracker_of, steps):
    example = Example(client, tracker_of)
    example.propose(True)
    example.propose(False)
    for cid in example.ids:  # both in progress, where most commands apply
        example.advance(cid)
        example.advance(cid)
    etags = example.etags()
    for step in steps:
        hidden = example.run(step)
        if hidden:
            for url, etag in etags.items():
                response = client.get(url, headers={"If-None-Match": etag})
                assert response.status_code == 304, (step, url)
        else:
            etags = example.etags()

    kept = example.kept_now()
    for url, body in example.answers().items():
        leaked = sorted(s for s in kept if s in body)
        assert not leaked, f"{url} shows {leaked} after {steps}"
        shown = [int(n) for n in PROGRESS_VALUE.findall(body)]
        shown += [int(n) for groups in PROGRESS_CHANGE.findall(body) for n in groups if n]
        shown += [int(n) for n in re.findall(r'"progress":\s*(\d+)', body)]
        assert not set(shown) & set(HIDDEN_PERCENTS), f"{url} shows a hidden progress value"
        if url.endswith(".csv"):
            shown = [int(row["progress"]) for row in csv.DictReader(io.StringIO(body))]
            assert not set(shown) & set(HIDDEN_PERCENTS), f"{url} shows a hidden progress value"
