"""Workspace benchmark: the workspace page and a commitment action through the ASGI app.

A dialogue with 10,000 commitments (proposed in batches through the application's own save), the
read models caught up, a member signed in through the login form. Then, through the real app (Starlette
TestClient: ASGI in process, no network): the workspace page (first page of 50, counts, cases,
meetings), the same page filtered by text, and a progress report posted as htmx does (the route waits
for the read models before answering). For comparison, a static template of the same size served
through the same stack, in turn with the page (one request of each per round): the ratio says
what the page's own work costs over the framework's.

Run: `python -m bench web` (SQLite; PostgreSQL too when TRACKER_BENCH_POSTGRES_URL is set).
BENCH_COMMITMENTS=1000 makes a quick run.
"""

from __future__ import annotations

import gzip
import os
import re
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

COMMITMENTS = int(os.environ.get("BENCH_COMMITMENTS", "10000"))  # smaller for a quick look
BATCH = 500
SAMPLES = 200
PASSWORD = "benchmark password"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed(call: Callable[[], object], samples: int = SAMPLES) -> list[float]:
    return timed_side_by_side([call], samples)[0]


def timed_side_by_side(calls: list[Callable[[], object]],
                       samples: int = SAMPLES) -> list[list[float]]:
    """Milliseconds of each call, `samples` times after 5 warm-ups, the calls taken in turn (one
    sample of each per round): the ratios between them then compare the same moments of a shared
    machine."""
    for call in calls:
        for _ in range(5):  # warm up
            call()
    durations: list[list[float]] = [[] for _ in calls]
    for _ in range(samples):
        for call, found in zip(calls, durations, strict=True):
            start = time.perf_counter()
            call()
            found.append((time.perf_counter() - start) * 1000)
    return durations


def seed(tracker, count: int = COMMITMENTS) -> dict[str, str]:
    """A dialogue, its parties, a member, and `count` commitments saved in batches."""
    from domain.base import Meta
    from domain.commitment import Commitment
    from tracker.application import SYSTEM

    dialogue = tracker.create_dialogue(SYSTEM, slug="bench", name="Benchmark dialogue", country="BF",
                                       locality="Saaba")
    parties = [tracker.add_party(SYSTEM, "bench", name=name, kind=kind).extra["party_id"]
               for name, kind in (("Police", "police"), ("Vigilantes", "vigilante"),
                                  ("Women", "women"))]
    tracker.add_account(SYSTEM, name="bench-member", role="member", password=PASSWORD)
    tracker.grant_membership(SYSTEM, "bench-member", slug="bench", party=parties[0])
    meta = Meta(actor=None, occurred_on=date(2026, 1, 15), party=parties[0])
    for start in range(0, count, BATCH):
        batch = [Commitment.propose(dialogue_id=dialogue.id, title=f"Commitment {n}: patrols, lights "
                                    f"and meetings in quarter {n % 40}",
                                    description="Joint work agreed in the dialogue " * 3,
                                    required_parties=parties[:2], proposed_by=parties[0], meta=meta)
                 for n in range(start, min(count, start + BATCH))]
        tracker.save(*batch)
    member = tracker.authenticate("bench-member", PASSWORD)
    target = tracker.propose_commitment(member, "bench", title="The commitment we report on",
                                        required_parties=[parties[0]])
    # (the member's endorsement came with its proposal)
    for action, fields in (("agree", {}),
                           ("assign", {"party_id": parties[0], "due_date": date(2030, 1, 1)})):
        tracker.commitment_action(member, target.id, action, fields)
    return {"dialogue_id": dialogue.id, "commitment_id": target.id}


def measure(database_url: str, var_dir: Path) -> list[str]:
    from fastapi.testclient import TestClient
    from starlette.responses import Response

    from tracker.settings import Settings
    from web.app import create_app

    settings = Settings(database_url=database_url, var_dir=var_dir,
                        secret_key="benchmark-secret-key" * 2)
    app = create_app(settings)
    with TestClient(app) as client:
        started = time.perf_counter()
        ids = seed(app.state.tracker)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        app.state.read_models.catch_up()
        caught_up = time.perf_counter() - started

        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        client.post("/login", data={"username": "bench-member", "password": PASSWORD,
                                    "csrf_token": token})
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]

        page = client.get("/dialogues/bench")
        assert page.status_code == 200, page.text[:500]
        html = page.text
        static = app.state.templates.env.from_string(html.replace("{", "&#123;"))

        def static_page() -> Response:
            return Response(static.render(), media_type="text/html")

        app.add_api_route("/bench-static", static_page, methods=["GET"])

        # The page and its static copy in turn, so that their ratio compares the same moments.
        workspace, baseline = timed_side_by_side([lambda: client.get("/dialogues/bench"),
                                                  lambda: client.get("/bench-static")])
        filtered = timed(lambda: client.get("/dialogues/bench?q=quarter+7&status=proposed"))
        percent = iter(range(10**6))
        action = timed(lambda: client.post(
            f"/commitments/{ids['commitment_id']}/progress",
            data={"percent": str(next(percent) % 101), "public": "on"},
            headers={"HX-Request": "true", "X-CSRF-Token": token}))
        # httpx decodes the body: compress it again to know what travels over the network
        transferred = len(gzip.compress(client.get("/dialogues/bench").content))

    def line(name: str, samples: list[float]) -> str:
        return (f"{name}: p50 {statistics.median(samples):.1f} ms, "
                f"p99 {percentile(samples, 0.99):.1f} ms (n={len(samples)})")

    ratio50 = statistics.median(workspace) / statistics.median(baseline)
    ratio99 = percentile(workspace, 0.99) / percentile(baseline, 0.99)
    return [
        f"seeded {COMMITMENTS:,} commitments in {seeded:.1f} s (batches of {BATCH}); "
        f"read models caught up in {caught_up:.1f} s",
        line(f"workspace page ({COMMITMENTS:,} commitments, first 50 shown)", workspace),
        line("workspace page filtered by status and text", filtered),
        line("commitment action (progress report, htmx, waits for the read models)", action),
        line(f"static template of the same size ({len(html) / 1024:.0f} KB)", baseline),
        f"workspace / static template: p50 x{ratio50:.1f}, p99 x{ratio99:.1f}; "
        f"workspace page transferred gzipped: {transferred / 1024:.1f} KB",
    ]


def run() -> list[str]:
    from bench.stores import on_each_backend

    return on_each_backend(measure)


if __name__ == "__main__":
    print(*run(), sep="\n")
