"""Workers: `tracker serve --workers 1` against `--workers 2`, each beside a `tracker projections
follow` process, on the same store (PostgreSQL when TRACKER_BENCH_POSTGRES_URL is set, and SQLite).

The store: the "load" dialogue of bench.load (100 commitments in progress, 10,000 events). The
client: CLIENTS threads in this process, each with its own signed-in session, sending the load mix
(bench.load.MIX: 80 % page reads, 20 % progress reports that wait for the read models) one after
another as fast as the server answers (closed loop) for SECONDS; the figure is requests answered
per second, commands and reads together, and the errors (anything not 2xx or 3xx, or no answer).

The machine is shared and has 2 cores, the client's threads included: the sides alternate (1, 2,
then 2, 1, ...) for ROUNDS rounds, each side's best round is kept, and the load average and the
CPU time of the servers and the worker are printed beside it.
Target: on PostgreSQL, 2 workers at least 1.3x one, 0 errors.
Run: `python -m bench workers`; TRACKER_BENCH_WORKERS_SECONDS (default 15), _ROUNDS (default 3).
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from bench.load import MIX, SECRET, Seeded, cpu_seconds, seed, send, signed_in
from bench.stores import backends, fresh_store

SECONDS = float(os.environ.get("TRACKER_BENCH_WORKERS_SECONDS", "15"))
ROUNDS = int(os.environ.get("TRACKER_BENCH_WORKERS_ROUNDS", "3"))
EVENTS = 10_000
CLIENTS = 8
TARGET = 1.3


@dataclass
class Round:
    workers: int
    requests: int
    errors: int
    statuses: set[int]
    wall: float
    cpu: float  # the servers' CPU seconds
    follow_cpu: float  # the follow worker's
    client_cpu: float  # this process's (the client threads)
    database_cpu: float  # PostgreSQL's processes serving the store
    load: float  # the load average at the start

    @property
    def rate(self) -> float:
        return self.requests / self.wall


def tree_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with suppress(OSError):  # (it ended)
            total += cpu_seconds(pid)
    return total


def database_cpu(url: str) -> float:
    """CPU seconds of the PostgreSQL server processes serving this database so far (their
    command lines name it; 0 on SQLite, which runs inside the tracker's processes)."""
    from projections.database import is_postgres, postgres_params

    if not is_postgres(url):
        return 0.0
    name = postgres_params(url)["dbname"].encode()
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with suppress(OSError):
            text = cmdline.read_bytes()
            if text.startswith(b"postgres: ") and b" " + name + b" " in text:
                pids.append(int(cmdline.parent.name))
    return tree_cpu(pids)


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


@contextmanager
def processes(url: str, var_dir: Path, workers: int) -> Iterator[tuple[str, list[int]]]:
    """`tracker serve --workers N` on a free loopback port and `tracker projections follow`;
    yields the base URL and every pid whose CPU counts (the servers and the worker)."""
    from tests.browser_support import answers_health, free_port, tracker_command, tracker_env

    env = tracker_env(url, var_dir, TRACKER_SECRET_KEY=SECRET, TRACKER_VAR_DIR=str(var_dir),
                      TRACKER_SIGNING_KEY_FILE=str(var_dir / "signing_key.pem"))
    port = free_port()
    log = (var_dir / f"workers-{workers}.log").open("ab")
    started = [
        subprocess.Popen([*tracker_command(), "projections", "follow", "--pause", "0.05"],
                         env=env, stdout=log, stderr=subprocess.STDOUT),
        subprocess.Popen([*tracker_command(), "serve", "--port", str(port), "--workers",
                          str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        if not answers_health(base, started[1], 120):
            log.flush()
            tail = Path(log.name).read_text(errors="replace").splitlines()[-30:]
            raise RuntimeError("the server did not start; its log ends:\n" + "\n".join(tail))
        pids = [p.pid for p in started] + children_of(started[1].pid)
        yield base, pids  # (the follow worker first)
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def hammer(sessions: list, seeded: Seeded, seconds: float) -> tuple[int, int, set[int], float]:
    """The signed-in sessions sending the mix back to back for `seconds`: (requests answered,
    errors, the error statuses, wall time)."""
    kinds = [kind for kind, _ in MIX]
    weights = [share for _, share in MIX]
    lock = threading.Lock()
    counts = {"requests": 0, "errors": 0}
    statuses: set[int] = set()
    start = time.perf_counter()
    stop_at = start + seconds

    def client(n: int) -> None:
        session, token = sessions[n]
        choose = random.Random(n)  # noqa: S311 (a benchmark's mix)
        while time.perf_counter() < stop_at:
            ok, status = send(session, token, seeded, choose.choices(kinds, weights)[0],
                              choose.choice(seeded.commitments),
                              choose.choice(seeded.public_slugs), choose.randrange(101))
            with lock:
                counts["requests"] += 1
                if not ok:
                    counts["errors"] += 1
                    statuses.add(status)

    threads = [threading.Thread(target=client, args=(n,), daemon=True)
               for n in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return counts["requests"], counts["errors"], statuses, wall


def one_round(url: str, var_dir: Path, seeded: Seeded, workers: int) -> Round:
    with processes(url, var_dir, workers) as (base, pids):
        sessions = [signed_in(base) for _ in range(CLIENTS)]  # (argon2: not in the figures)
        hammer(sessions, seeded, min(3.0, SECONDS))  # warm up: every worker's caches and pools
        load = os.getloadavg()[0]
        before = (tree_cpu(pids[1:]), tree_cpu(pids[:1]), time.process_time(),
                  database_cpu(url))
        requests, errors, statuses, wall = hammer(sessions, seeded, SECONDS)
        after = (tree_cpu(pids[1:]), tree_cpu(pids[:1]), time.process_time(),
                 database_cpu(url))
        for session, _ in sessions:
            session.close()
    return Round(workers, requests, errors, statuses, wall,
                 *(later - earlier for later, earlier in zip(after, before, strict=True)), load)


def _save_loop(url: str, var_dir: Path, commitment_id: str, seconds: float, out, go) -> None:
    """In a process of its own: once `go` is set, report progress on one commitment held in
    memory, saving each event, for `seconds`; put None when ready, then how many saves went
    through."""
    from datetime import date

    from bench.load import MEMBER, settings_for
    from domain.base import Meta
    from tracker.bootstrap import build_application

    saved = 0
    tracker = build_application(settings_for(url, var_dir))
    try:
        commitment = tracker.commitment(commitment_id)
        meta = Meta(actor=str(tracker.account_by_name(MEMBER).id), occurred_on=date(2026, 1, 15),
                    party=commitment.responsible_party)
        out.put(None)
        go.wait()
        stop_at = time.perf_counter() + seconds
        while time.perf_counter() < stop_at:
            commitment.report_progress(percent=saved % 101, meta=meta)
            tracker.save(commitment)
            saved += 1
    finally:
        out.put(saved)  # (what went through, should a save fail)
        tracker.close()


def write_ceiling(url: str, var_dir: Path, seeded: Seeded, writers: int,
                  seconds: float = 5.0) -> float:
    """Saves per second of one event each (a progress report on a commitment held in memory: no
    load, no read models) from `writers` processes at once: how fast the log takes writes in its
    single order (each save holds the events table's lock from its insert to its commit)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    out, go = context.Queue(), context.Event()
    savers = [context.Process(target=_save_loop, args=(url, var_dir, commitment, seconds, out, go))
              for commitment in seeded.commitments[:writers]]
    for saver in savers:  # one after the other: the event store's DDL races at start
        saver.start()
        assert out.get(timeout=120) is None
    go.set()
    total = sum(out.get(timeout=seconds + 120) for _ in savers)
    for saver in savers:
        saver.join(timeout=30)
    return total / seconds


def per_request(result: Round, seconds: float) -> str:
    return f"{1000 * seconds / max(1, result.requests):.1f} ms"


def last_traceback(var_dir: Path) -> str | None:
    """The last traceback the servers logged (their logs go with the temporary directory)."""
    found = None
    for log in sorted(var_dir.glob("workers-*.log")):
        text = log.read_text(errors="replace")
        at = text.rfind("Traceback (most recent call last)")
        if at >= 0:
            found = "\n".join(text[at:].splitlines()[:60])
    return found


def measure(backend: str) -> list[str]:
    with fresh_store(backend) as url, tempfile.TemporaryDirectory(prefix="tracker-workers-") as tmp:
        var_dir = Path(tmp)
        seeded = seed(url, var_dir, demo=False, events=EVENTS)
        rounds: list[Round] = []
        for n in range(ROUNDS):
            for workers in ((1, 2) if n % 2 == 0 else (2, 1)):
                rounds.append(one_round(url, var_dir, seeded, workers))
        ceiling = {n: write_ceiling(url, var_dir, seeded, n) for n in (1, 2, 4)}
        failures = last_traceback(var_dir) if any(r.errors for r in rounds) else None
    lines = []
    best = {}
    for workers in (1, 2):
        mine = [r for r in rounds if r.workers == workers]
        best[workers] = max(mine, key=lambda r: r.rate)
        errors = sum(r.errors for r in mine)
        statuses = sorted(set().union(*(r.statuses for r in mine)))
        lines.append(
            f"{backend}, {workers} worker{'s' if workers > 1 else ''} + follow: best "
            f"{best[workers].rate:.1f} requests/s (rounds: "
            f"{', '.join(f'{r.rate:.0f}' for r in mine)}); errors {errors}"
            f"{f' (statuses {statuses})' if statuses else ''}; CPU per request: servers "
            f"{per_request(best[workers], best[workers].cpu)}, follow "
            f"{per_request(best[workers], best[workers].follow_cpu)}, client "
            f"{per_request(best[workers], best[workers].client_cpu)}"
            + (f", PostgreSQL {per_request(best[workers], best[workers].database_cpu)}"
               if backend == "postgres" else "") + "; "
            f"load average {best[workers].load:.1f}")
    lines.append(f"{backend}: the log's write ceiling, bare saves of one event: "
                 f"{ceiling[1]:,.0f}/s from 1 process, {ceiling[2]:,.0f}/s from 2, "
                 f"{ceiling[4]:,.0f}/s from 4")
    if failures:
        lines.append(f"{backend}: the servers' last traceback (of the errors above):\n{failures}")
    ratio = best[2].rate / best[1].rate
    lines.append(f"{backend}: 2 workers / 1 = {ratio:.2f}x"
                 + (f" (target {TARGET}x)" if backend == "postgres" else ""))
    return lines


def run() -> list[str]:
    lines = [f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared with other jobs, "
             f"the {CLIENTS} client threads included); {ROUNDS} rounds of {SECONDS:.0f} s a side, "
             f"alternating, best kept"]
    for backend in sorted(backends(), key=lambda b: b != "postgres"):
        lines += measure(backend)
    return lines


if __name__ == "__main__":
    print(*run(), sep="\n")
