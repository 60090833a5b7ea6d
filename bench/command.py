"""The command path against its floor, over real HTTP, single client (issue 18, point 1).

On a fresh store of each backend: a dialogue with a member of the police and a commitment in
progress, read models caught up; then `tracker serve` in a subprocess on a free loopback port, and
beside it the floor server: an empty FastAPI app (an async POST and GET route that do nothing)
under the same uvicorn settings and socket (`tracker.cli.server_config`, `listening_socket`).
One httpx client with keep-alive and the member's bearer token sends, in alternating rounds
(best round kept, so the other jobs on the machine weigh least):

- command: `POST /api/v1/commitments/{id}/progress` (JSON body; answered once the event is
  stored, the read models taking it right after the answer, in the server, as every API command);
- empty POST: the same body and headers to the floor server;
- bare save: one event of a one-field aggregate saved by a plain eventsourcing `Application` on a
  store of the same backend (in this process; no HTTP);
- read: `GET /api/v1/commitments/{id}` (the commitment's present state);
- empty GET: the floor server's GET route.

Figures: requests (or saves) per second, the server's CPU per request, and the ratios
command / floor (floor time = empty POST time + bare save time; target >= 0.4, goal 0.6) and
read / empty GET (target >= 0.5).
Run: `python -m bench command`. TRACKER_BENCH_COMMAND_N sets the requests per round (default 200).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from eventsourcing.domain import Aggregate, event
from fastapi import FastAPI, Request

from bench.load import MEMBER, cpu_seconds, seed_load_dialogue, server, settings_for
from bench.stores import fresh_store

N = int(os.environ.get("TRACKER_BENCH_COMMAND_N", "200"))
ROUNDS = 5
BODY = {"percent": 0}


# --- the floor ---------------------------------------------------------------------------------------

def floor_app():
    """An app that does nothing per request beyond what FastAPI and uvicorn do."""
    app = FastAPI()

    @app.post("/empty")
    async def empty_post(request: Request) -> dict[str, bool]:
        await request.body()
        return {"ok": True}

    @app.get("/empty")
    async def empty_get() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve_floor(port: int) -> None:
    import uvicorn

    from tracker.cli import listening_socket, server_config

    sock = listening_socket("127.0.0.1", port)  # as `tracker serve` listens
    uvicorn.Server(server_config(floor_app(), "127.0.0.1", port)).run(sockets=[sock])


@contextmanager
def floor_server(log: Path) -> Iterator[tuple[str, int]]:
    from tests.browser_support import answers_health, free_port

    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bench.command", "--floor", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        if not answers_health(base, process, 60):
            raise RuntimeError(f"the floor server did not start: {log.read_text()}")
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


class Tally(Aggregate):
    """The bare save's aggregate: one field, one kind of event."""

    def __init__(self) -> None:
        self.count = 0

    @event("Counted")
    def counted(self, count: int) -> None:
        self.count = count


def bare_saver(url: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """(save one event, close) on a plain Application on this store."""
    from eventsourcing.application import Application

    from projections.database import event_store_env

    app: Application = Application(env=event_store_env(url))
    tally = Tally()
    app.save(tally)

    def save() -> None:
        tally.counted(count=tally.count + 1)
        app.save(tally)

    return save, app.close


# --- the data ----------------------------------------------------------------------------------------

def seed(url: str, var_dir: Path) -> tuple[str, str]:
    """A commitment in progress and the bearer token of a member who may report on it."""
    from tracker.application import SYSTEM
    from tracker.bootstrap import build_application, build_read_models

    settings = settings_for(url, var_dir)
    tracker = build_application(settings)
    try:
        seeded = seed_load_dialogue(tracker, 1, 10)
        token = tracker.create_token(SYSTEM, MEMBER)
        read_models = build_read_models(settings, tracker)
        try:
            read_models.catch_up()
        finally:
            read_models.close()
        return seeded.commitments[0], token
    finally:
        tracker.close()


# --- measuring ---------------------------------------------------------------------------------------

def best_round(rounds: list[tuple[float, float]]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the fastest round."""
    return min(rounds)


def per_request_ms(round_: tuple[float, float]) -> tuple[float, float]:
    return 1000 * round_[0] / N, 1000 * round_[1] / N


def measure(url: str, var_dir: Path) -> list[str]:
    import httpx

    backend = "sqlite" if url.startswith("sqlite") else "postgres"
    commitment_id, token = seed(url, var_dir)
    headers = {"Authorization": f"Bearer {token}"}
    with server(url, var_dir) as (base, pid), floor_server(var_dir / "floor.log") as (
            floor, floor_pid), fresh_store(backend) as bare_url, httpx.Client(
            timeout=30, headers=headers) as client:
        save, close = bare_saver(bare_url)
        percent = iter(range(10**9))
        command_url = f"{base}/api/v1/commitments/{commitment_id}/progress"
        read_url = f"{base}/api/v1/commitments/{commitment_id}"

        def command() -> None:
            answer = client.post(command_url, json={"percent": next(percent) % 101})
            assert answer.status_code == 200, answer.text

        def empty_post() -> None:
            answer = client.post(f"{floor}/empty", json=BODY)
            assert answer.status_code == 200, answer.text

        def read() -> None:
            answer = client.get(read_url)
            assert answer.status_code == 200, answer.text

        def empty_get() -> None:
            answer = client.get(f"{floor}/empty")
            assert answer.status_code == 200, answer.text

        sides: dict[str, tuple[Callable[[], None], int | None]] = {
            "command": (command, pid), "empty POST": (empty_post, floor_pid),
            "bare save": (save, None), "read": (read, pid), "empty GET": (empty_get, floor_pid)}
        rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        try:
            for call, _ in sides.values():  # warm up
                for _ in range(20):
                    call()
            for _ in range(ROUNDS):
                for name, (call, cpu_pid) in sides.items():
                    cpu_before = cpu_seconds(cpu_pid) if cpu_pid else time.process_time()
                    started = time.perf_counter()
                    for _ in range(N):
                        call()
                    wall = time.perf_counter() - started
                    cpu = (cpu_seconds(cpu_pid) if cpu_pid else time.process_time()) - cpu_before
                    rounds[name].append((wall, cpu))
        finally:
            close()
    best = {name: per_request_ms(best_round(r)) for name, r in rounds.items()}

    def rate(name: str) -> str:
        wall, cpu = best[name]
        where = "this process" if name == "bare save" else "server"
        return f"{name} {1000 / wall:.0f}/s ({wall:.2f} ms, {where} CPU {cpu:.2f} ms)"

    floor_ms = best["empty POST"][0] + best["bare save"][0]
    command_ratio = floor_ms / best["command"][0]
    read_ratio = best["empty GET"][0] / best["read"][0]
    return [
        f"{rate('command')}; floor {1000 / floor_ms:.0f}/s = {rate('empty POST')} + "
        f"{rate('bare save')}",
        f"command / floor: {command_ratio:.2f} (target >= 0.4, goal 0.6)",
        f"{rate('read')} against {rate('empty GET')}: read / empty GET {read_ratio:.2f} "
        f"(target >= 0.5)",
        f"(best of {ROUNDS} alternating rounds of {N}; load average after: "
        f"{os.getloadavg()[0]:.1f})",
    ]


def run() -> list[str]:
    from bench.stores import on_each_backend

    return on_each_backend(measure)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--floor"]:
        serve_floor(int(sys.argv[2]))
    else:
        print(*run(), sep="\n")
