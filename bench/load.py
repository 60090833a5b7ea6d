"""Load: sustained mixed traffic against one uvicorn worker on loopback, at a fixed offered rate.

Two data sets, each in a fresh store (SQLite; PostgreSQL too when TRACKER_BENCH_POSTGRES_URL is set):
- demo: the demo dialogues (`tracker demo`) plus a small "load" dialogue of 100 commitments;
- big: a "load" dialogue of 10,000 commitments whose events make a log of 1,000,000 real domain
  events (each commitment proposed, endorsed, agreed, assigned, then progress reports), made by the
  domain model and saved in batches through the application (snapshots included), with the read
  models caught up before the server starts. TRACKER_BENCH_LOAD_EVENTS scales it down (the number of
  commitments follows: one per 100 events, at most 10,000).

The server is `tracker serve` in a subprocess (one process, one worker) on a free port of
127.0.0.1. The client sends requests on a fixed schedule (open loop: request i is due at
start + i / RATE) from a bounded pool of threads, each with its own signed-in session; a
request's latency counts from the moment it was due, so a slow server cannot hide its queue.
The mix: 80 % page reads (the member's workspace, a commitment page, the same commitment through
the JSON API, a public dialogue page), 20 % commitment actions (a progress report posted as htmx
does, which waits for the read models). The run stops after DURATION seconds of schedule (and
every request has a timeout). Figures: requests/s achieved, p50/p99, errors (anything not 2xx or
3xx, and timeouts), and the server's resident memory (now and peak).

Targets: 0 errors; p99 under 100 ms at 100 requests/s.
Run: `python -m bench load`. TRACKER_BENCH_LOAD_SECONDS sets the duration (default 60 s).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench.stores import backends, fresh_store

RATE = 100.0  # offered requests per second
DURATION = float(os.environ.get("TRACKER_BENCH_LOAD_SECONDS", "60"))
EVENTS = int(os.environ.get("TRACKER_BENCH_LOAD_EVENTS", "1000000"))
EVENTS_PER_COMMITMENT = 100
SAVE_BATCH = 20  # commitments per save (2,000 events per transaction)
CLIENTS = 24  # threads, each with its own session: bounds the requests in flight
TIMEOUT = 10.0  # seconds per request
PASSWORD = "benchmark password"
MEMBER = "load-member"
SECRET = "benchmark-secret-key-benchmark-secret-key"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

# (share of requests, kind): reads 80 %, actions 20 %
MIX = (("workspace", 0.25), ("commitment", 0.25), ("api", 0.15), ("public", 0.15),
       ("progress", 0.20))


# --- the data -----------------------------------------------------------------------------------

@dataclass
class Seeded:
    slug: str
    commitments: list[str]
    events: int
    public_slugs: list[str] = field(default_factory=list)


def seed_load_dialogue(tracker, commitments: int, events_each: int) -> Seeded:
    """A dialogue, its parties, a member of the police, and commitments in progress (assigned to
    the police) with `events_each` events apiece, made by the domain's own commands."""
    from domain.base import Meta
    from domain.commitment import Commitment
    from tracker.application import SYSTEM

    dialogue = tracker.create_dialogue(SYSTEM, slug="load", name="Load dialogue", country="BF",
                                       locality="Saaba", description="Sustained traffic")
    parties = [tracker.add_party(SYSTEM, "load", name=name, kind=kind).extra["party_id"]
               for name, kind in (("Police", "police"), ("Vigilantes", "vigilante"))]
    tracker.add_account(SYSTEM, name=MEMBER, role="member", password=PASSWORD)
    tracker.grant_membership(SYSTEM, MEMBER, slug="load", party=parties[0])
    member = tracker.authenticate(MEMBER, PASSWORD)
    police = parties[0]
    meta = Meta(actor=member.account_id, occurred_on=date(2026, 1, 15), party=police)
    ids: list[str] = []
    written = 0
    for start in range(0, commitments, SAVE_BATCH):
        batch = []
        for n in range(start, min(commitments, start + SAVE_BATCH)):
            commitment = Commitment.propose(
                dialogue_id=dialogue.id, title=f"Commitment {n}: patrols and lights in quarter "
                f"{n % 40}", description="Joint work agreed in the dialogue. " * 3,
                required_parties=[police], proposed_by=police, meta=meta)
            commitment.endorse(party_id=police, meta=meta)
            commitment.agree(meta=meta)
            commitment.assign(party_id=police, due_date=date(2030, 1, 1), meta=meta)
            for k in range(events_each - 4):
                commitment.report_progress(percent=k % 101, meta=meta)
            batch.append(commitment)
            ids.append(str(commitment.id))
        recordings = tracker.save(*batch)
        written += len(recordings)
    return Seeded(slug="load", commitments=ids, events=written)


def seed(url: str, var_dir: Path, demo: bool, events: int) -> Seeded:
    """Fill the store, catch the read models up, and say what is there."""
    from tracker.bootstrap import build_application, build_read_models
    from tracker.demo import load_demo

    settings = settings_for(url, var_dir)
    tracker = build_application(settings)
    try:
        slugs = []
        if demo:
            load_demo(tracker)
            slugs = ["saaba", "dakar-quartier", "jos"]
            seeded = seed_load_dialogue(tracker, 100, 10)
        else:
            count = max(10, min(10_000, events // EVENTS_PER_COMMITMENT))
            seeded = seed_load_dialogue(tracker, count, max(5, events // count))
        seeded.events = tracker.recorder.max_notification_id() or 0
        seeded.public_slugs = [*slugs, "load"]
        read_models = build_read_models(settings, tracker)
        try:
            read_models.catch_up()
        finally:
            read_models.close()
        return seeded
    finally:
        tracker.close()


def settings_for(url: str, var_dir: Path):
    from tracker.settings import Settings

    return Settings(database_url=url, var_dir=var_dir, secret_key=SECRET,
                    signing_key_file=var_dir / "signing_key.pem")


# --- the server -----------------------------------------------------------------------------------

@contextmanager
def server(url: str, var_dir: Path) -> Iterator[tuple[str, int]]:
    """`tracker serve` on a free loopback port, in its own process (the test suite's helper);
    yields (base URL, pid)."""
    from tests.browser_support import ServerProcess

    process = ServerProcess(url, var_dir, TRACKER_SECRET_KEY=SECRET, TRACKER_VAR_DIR=str(var_dir),
                            TRACKER_SIGNING_KEY_FILE=str(var_dir / "signing_key.pem"))
    process.start(timeout=120)
    try:
        assert process.process is not None
        yield process.url, process.process.pid
    finally:
        process.stop(timeout=20)


def memory_kib(pid: int) -> tuple[int, int]:
    """The process's resident memory now and at its peak (KiB), from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


@contextmanager
def profiled(pid: int, name: str) -> Iterator[None]:
    """With TRACKER_BENCH_LOAD_PROFILE=DIR, record the server with py-spy (pip install py-spy)
    into DIR/load-NAME.txt (collapsed stacks of the thread holding the GIL, for any flame graph
    tool) while the block runs."""
    folder = os.environ.get("TRACKER_BENCH_LOAD_PROFILE")
    if not folder:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
                            "--output", str(Path(folder) / f"load-{name}.txt"), "--format",
                            "raw", "--rate", "200", "--gil", "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the client -----------------------------------------------------------------------------------

@dataclass
class Result:
    kind: str
    latency_ms: float
    ok: bool
    status: int


def signed_in(base: str):
    """An httpx client with a member's session, and its CSRF token."""
    import httpx

    client = httpx.Client(base_url=base, timeout=TIMEOUT, headers={"Accept-Language": "en"})
    token = TOKEN.search(client.get("/login").text)[1]
    answer = client.post("/login", data={"username": MEMBER, "password": PASSWORD,
                                         "csrf_token": token})
    if answer.status_code >= 400:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    return client, TOKEN.search(client.get("/login").text)[1]


def send(client, token: str, seeded: Seeded, kind: str, commitment: str, public_slug: str,
         percent: int) -> tuple[bool, int]:
    """One request of the mix; (success, status), status 0 when no answer came."""
    import httpx

    try:
        if kind == "workspace":
            answer = client.get(f"/dialogues/{seeded.slug}")
        elif kind == "commitment":
            answer = client.get(f"/commitments/{commitment}")
        elif kind == "api":
            answer = client.get(f"/api/v1/commitments/{commitment}")
        elif kind == "public":
            answer = client.get(f"/public/dialogues/{public_slug}")
        else:
            answer = client.post(f"/commitments/{commitment}/progress",
                                 data={"percent": str(percent), "public": "on"},
                                 headers={"HX-Request": "true", "X-CSRF-Token": token})
    except httpx.HTTPError:
        return False, 0
    return answer.status_code < 400, answer.status_code


def drive(base: str, seeded: Seeded, sessions: list, duration: float,
          rate: float = RATE) -> tuple[list[Result], float]:
    """Offer `rate` requests/s for `duration` seconds from these signed-in sessions; returns every
    result and the wall time."""
    import httpx

    total = int(duration * rate)
    kinds = [kind for kind, _ in MIX]
    weights = [share for _, share in MIX]
    plan_random = random.Random(6)  # noqa: S311 (a benchmark's mix, not a secret)
    plan = [(i / rate, plan_random.choices(kinds, weights)[0],
             plan_random.choice(seeded.commitments), plan_random.choice(seeded.public_slugs))
            for i in range(total)]
    results: list[Result] = []
    lock = threading.Lock()
    next_index = iter(range(total))
    percent = iter(range(10**9))
    start = time.perf_counter() + 0.5

    def worker(client: httpx.Client, token: str) -> None:
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            due, kind, commitment, public_slug = plan[i]
            pause = start + due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            with lock:
                value = next(percent) % 101
            ok, status = send(client, token, seeded, kind, commitment, public_slug, value)
            latency = (time.perf_counter() - (start + due)) * 1000
            with lock:
                results.append(Result(kind, latency, ok, status))

    threads = [threading.Thread(target=worker, args=session, daemon=True) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + TIMEOUT * total / CLIENTS + 60)
    return results, time.perf_counter() - start


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else 0.0


def summary(label: str, results: list[Result], wall: float, rss: tuple[int, int],
            cpu: float) -> list[str]:
    latencies = [r.latency_ms for r in results]
    errors = [r for r in results if not r.ok]
    statuses = sorted({r.status for r in errors})
    lines = [
        f"{label}: {len(results) / wall:.1f} requests/s achieved of {RATE:.0f} offered "
        f"({len(results)} in {wall:.1f} s); p50 {percentile(latencies, 0.5):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies, default=0):.0f} ms; "
        f"errors {len(errors)}{f' (statuses {statuses})' if statuses else ''}; "
        f"server RSS {rss[0] / 1024:.0f} MiB (peak {rss[1] / 1024:.0f} MiB); "
        f"server CPU {1000 * cpu / max(1, len(results)):.1f} ms per request "
        f"({100 * cpu / wall:.0f} % of one core)",
    ]
    for kind, _ in MIX:
        mine = [r.latency_ms for r in results if r.kind == kind]
        if mine:
            lines.append(f"    {kind}: n={len(mine)}, p50 {percentile(mine, 0.5):.1f} ms, "
                         f"p99 {percentile(mine, 0.99):.1f} ms")
    return lines


def measure(backend: str, demo: bool) -> list[str]:
    with fresh_store(backend) as url, tempfile.TemporaryDirectory(prefix="tracker-load-") as tmp:
        var_dir = Path(tmp)
        started = time.perf_counter()
        seeded = seed(url, var_dir, demo=demo, events=EVENTS)
        seeding = time.perf_counter() - started
        with server(url, var_dir) as (base, pid):
            sessions = [signed_in(base) for _ in range(CLIENTS)]
            drive(base, seeded, sessions, duration=min(5.0, DURATION))  # warm up
            cpu_before = cpu_seconds(pid)
            with profiled(pid, f"{backend}-{'demo' if demo else 'big'}"):
                results, wall = drive(base, seeded, sessions, duration=DURATION)
            cpu = cpu_seconds(pid) - cpu_before
            rss = memory_kib(pid)
            for client, _ in sessions:
                client.close()
        scale = "demo scale" if demo else f"{len(seeded.commitments):,} commitments"
        label = (f"{backend}, {scale}, {seeded.events:,} events "
                 f"(seeded and caught up in {seeding:.0f} s)")
        return summary(label, results, wall, rss, cpu)


def run() -> list[str]:
    lines = [f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared with other jobs); "
             f"{CLIENTS} client threads in the benchmark's own process, {DURATION:.0f} s per run"]
    for backend in backends():
        for demo in (True, False):
            lines += measure(backend, demo)
    return lines


if __name__ == "__main__":
    print(*run(), sep="\n")
