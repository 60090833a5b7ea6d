"""The public dialogue page of a dialogue with 10,000 commitments: latency (p50/p99) and bytes.

The commitments are written by the domain commands and saved in chunks of 500 (the service would take
a transaction each; they are the same events). A quarter stay proposed, the rest are agreed and
assigned to one of three parties with due dates over the past and next year; some of those are
completed (on time or late) and some verified. The read models catch up, then the app answers through
Starlette's test client (in process, gzip on): the first page, a later page, the CSV download, the
Atom feed, the first view after a change (which reads every public commitment again) and a 304
revalidation; and, alternating with the first page, a static template of the same size through the
same stack (the ratio says what the page's own work costs over the framework's, as in bench/web.py).
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta
from tempfile import TemporaryDirectory

from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from bench.stores import backends, fresh_store
from domain.base import Meta
from domain.commitment import Commitment
from tracker.application import SYSTEM
from tracker.bootstrap import build_application
from tracker.settings import Settings

COMMITMENTS = int(os.environ.get("BENCH_PUBLIC_COMMITMENTS", "10000"))  # smaller: a quick look
CHUNK = 500
REQUESTS = 200


def seed(tracker, count: int) -> str:
    """A dialogue with three parties and `count` public commitments at every stage; its slug."""
    slug = "bench-public"
    tracker.create_dialogue(SYSTEM, slug=slug, name="Bench dialogue", country="BF",
                            locality="Saaba")
    parties = [tracker.add_party(SYSTEM, slug, name=name, kind=kind).extra["party_id"]
               for name, kind in (("Police", "police"), ("Koglweogo", "vigilante"),
                                  ("Women", "women"))]
    dialogue_id = str(tracker.dialogue_by_slug(slug).id)
    today = tracker.today()
    batch: list[Commitment] = []
    for n in range(count):
        meta = Meta(actor=None, occurred_on=today - timedelta(days=400 - n % 365))
        commitment = Commitment.propose(dialogue_id=dialogue_id, title=f"Commitment {n}: lights",
                                        description="Install and maintain street lights",
                                        required_parties=parties[:2], proposed_by=parties[0],
                                        meta=meta)
        if n % 4:
            for party in parties[:2]:
                commitment.endorse(party_id=party, meta=meta)
            commitment.agree(meta=meta)
            responsible = parties[n % 3]
            due = today + timedelta(days=(n % 730) - 365)
            commitment.assign(party_id=responsible, due_date=due, meta=meta)
            commitment.report_progress(percent=n % 100, meta=meta)
            if n % 4 == 3:
                done_on = min(today, due + timedelta(days=(n % 30) - 20))
                commitment.complete(summary="Done", party_id=responsible,
                                    meta=Meta(actor=None, occurred_on=done_on))
                if n % 8 == 7:
                    commitment.verify(party_id=parties[(n + 1) % 3], meta=meta)
        batch.append(commitment)
        if len(batch) == CHUNK:
            tracker.save(*batch)
            batch = []
    if batch:
        tracker.save(*batch)
    return slug


def timed(client: TestClient, url: str, headers: dict[str, str] | None = None,
          count: int = REQUESTS) -> tuple[list[float], int, int]:
    """Latencies in ms, the status and the bytes on the wire of the last answer."""
    times = []
    response = None
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
    assert response is not None
    return times, response.status_code, response.num_bytes_downloaded


def quantiles(times: list[float]) -> str:
    cuts = statistics.quantiles(times, n=100)
    return f"p50 {statistics.median(times):6.1f} ms  p99 {cuts[98]:6.1f} ms"


def run() -> list[str]:
    from tracker.bootstrap import build_read_models
    from web.app import create_app

    lines = []
    for backend in backends():
        with fresh_store(backend) as url, TemporaryDirectory(prefix="tracker-bench-") as var:
            settings = Settings(database_url=url, var_dir=var, secret_key="bench-secret-key-x",
                                signing_key_file=f"{var}/signing.pem")
            tracker = build_application(settings)
            started = time.perf_counter()
            slug = seed(tracker, COMMITMENTS)
            seeded = time.perf_counter() - started
            read_models = build_read_models(settings, tracker)
            started = time.perf_counter()
            events = read_models.catch_up()
            caught_up = time.perf_counter() - started
            read_models.close()
            tracker.close()
            lines.append(f"[{backend}] {COMMITMENTS} commitments ({events} events) written in "
                         f"{seeded:.1f} s; read models caught up in {caught_up:.1f} s")

            app = create_app(settings)
            with TestClient(app) as client:
                gzip = {"Accept-Encoding": "gzip"}
                page = f"/public/dialogues/{slug}"
                html = client.get(page, headers=gzip).text  # (also the warm-up)
                # The yardstick: a static template of the same size through the same stack.
                static = app.state.templates.env.from_string(html.replace("{", "&#123;"))
                app.add_api_route("/bench-static", lambda: HTMLResponse(static.render()),  # noqa: B023 (used in this iteration only)
                                  methods=["GET"])
                for label, target, extra, count in (
                        ("dialogue page 1", page, {}, REQUESTS),
                        ("dialogue page 150", f"{page}?page=150", {}, REQUESTS),
                        ("commitments.csv", f"{page}/commitments.csv", {}, 20),
                        ("feed.atom", f"{page}/feed.atom", {}, 50)):
                    times, status, size = timed(client, target, {**gzip, **extra}, count)
                    lines.append(f"[{backend}] {label:<20} {quantiles(times)}  "
                                 f"{size / 1024:6.1f} KB on the wire (status {status}, n={count})")
                    if target == page:
                        # Alternating with the page, so both see the same machine.
                        ours, yardstick = [], []
                        for _ in range(REQUESTS // 2):
                            ours += timed(client, page, gzip, 1)[0]
                            yardstick += timed(client, "/bench-static", gzip, 1)[0]
                        lines.append(
                            f"[{backend}] {'static template':<20} {quantiles(yardstick)}  "
                            f"({len(html) / 1024:.0f} KB, the dialogue page's size); page 1 / "
                            f"static: p50 x{statistics.median(ours) / statistics.median(yardstick):.1f}"
                            f" (target <= 2)")
                # After every change the page reads the 10,000 rows again (one new event each time).
                tracker_in_app = client.app.state.tracker
                cold = []
                for n in range(20):
                    tracker_in_app.add_party(SYSTEM, slug, name=f"Party {n}", kind="other")
                    started = time.perf_counter()
                    client.get(page, headers=gzip)
                    cold.append((time.perf_counter() - started) * 1000)
                lines.append(f"[{backend}] {'page after a change':<20} {quantiles(cold)}  "
                             f"(the first view after each of 20 new events)")
                etag = client.get(page, headers=gzip).headers["etag"]
                times, status, size = timed(client, page, {**gzip, "If-None-Match": etag})
                lines.append(f"[{backend}] {'304 revalidation':<20} {quantiles(times)}  "
                             f"{size / 1024:6.1f} KB on the wire (status {status}, n={REQUESTS})")
    return lines


def main() -> None:
    for line in run():
        print(line)


if __name__ == "__main__":
    main()
